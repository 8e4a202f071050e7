package usage

import (
	"testing"
	"time"
)

// TestPacer walks a stream through time: each step asks the pacer at a
// moment with the latest version, and the pacer must answer the action
// and the wait.
func TestPacer(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)
	type step struct {
		at      time.Duration
		version uint64
		act     Action
		wait    time.Duration
	}
	for _, c := range []struct {
		name  string
		steps []step
	}{
		{"a heartbeat at once, then the first total", []step{
			{0, 0, SendHeartbeat, 15 * time.Second},
			{0, 0, Wait, 15 * time.Second},
			{200 * time.Millisecond, 1, SendUpdate, 15 * time.Second},
			{200 * time.Millisecond, 1, Wait, 15 * time.Second},
		}},
		{"a total known at the start goes out at once", []step{
			{0, 3, SendUpdate, 15 * time.Second},
		}},
		{"changes within the interval wait for it, and only the latest goes", []step{
			{0, 1, SendUpdate, 15 * time.Second},
			{300 * time.Millisecond, 2, Wait, 700 * time.Millisecond},
			{600 * time.Millisecond, 3, Wait, 400 * time.Millisecond},
			{time.Second, 3, SendUpdate, 15 * time.Second},
			{time.Second, 3, Wait, 15 * time.Second},
		}},
		{"updates a second apart all go", []step{
			{0, 1, SendUpdate, 15 * time.Second},
			{time.Second, 2, SendUpdate, 15 * time.Second},
			{2 * time.Second, 3, SendUpdate, 15 * time.Second},
		}},
		{"silence is broken by heartbeats", []step{
			{0, 1, SendUpdate, 15 * time.Second},
			{10 * time.Second, 1, Wait, 5 * time.Second},
			{15 * time.Second, 1, SendHeartbeat, 15 * time.Second},
			{29 * time.Second, 1, Wait, time.Second},
			{30 * time.Second, 1, SendHeartbeat, 15 * time.Second},
		}},
		{"an update resets the heartbeat", []step{
			{0, 1, SendUpdate, 15 * time.Second},
			{14 * time.Second, 2, SendUpdate, 15 * time.Second},
			{28 * time.Second, 2, Wait, time.Second},
		}},
		{"a heartbeat does not hold back a due update", []step{
			{0, 1, SendUpdate, 15 * time.Second},
			{15 * time.Second, 2, SendUpdate, 15 * time.Second},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := Pacer{Interval: time.Second, Heartbeat: 15 * time.Second}
			for i, s := range c.steps {
				act, wait := p.Next(t0.Add(s.at), s.version)
				if act != s.act || wait != s.wait {
					t.Fatalf("step %d (at %v, version %d): %v, %v; want %v, %v", i, s.at, s.version, act, wait, s.act, s.wait)
				}
			}
		})
	}
}
