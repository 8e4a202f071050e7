package usage

import "time"

// Pacing of live streams.
const (
	// DefaultStreamInterval is the least time between two updates of a
	// stream, and how often its totals are read.
	DefaultStreamInterval = time.Second
	// DefaultHeartbeat is the longest a stream stays silent: proxies and
	// load balancers close connections idle for longer (often 30–60 s),
	// and a write is how a server notices a client that has gone.
	DefaultHeartbeat = 15 * time.Second
)

// Action is what a stream writes next.
type Action uint8

const (
	// Wait: nothing now.
	Wait Action = iota
	// SendUpdate: the latest total.
	SendUpdate
	// SendHeartbeat: a comment that keeps the connection open.
	SendHeartbeat
)

// Pacer decides when a stream writes: the latest total when it changed,
// at most once per Interval, and a heartbeat after Heartbeat of silence
// (at once when the stream starts, so that the client knows it is open).
// Totals are versioned: version 0 is "none yet", and a version greater
// than the last one sent is a change.
type Pacer struct {
	Interval, Heartbeat time.Duration

	sent       uint64
	lastUpdate time.Time
	lastWrite  time.Time
}

// Next returns what to write at now, when version is the latest total's,
// and how long to wait before asking again if nothing changes. It counts
// what it returns as written; the caller asks again until it returns
// Wait.
func (p *Pacer) Next(now time.Time, version uint64) (Action, time.Duration) {
	pending := version > p.sent
	if pending && (p.lastUpdate.IsZero() || now.Sub(p.lastUpdate) >= p.Interval) {
		p.sent, p.lastUpdate, p.lastWrite = version, now, now
		return SendUpdate, p.Heartbeat
	}
	wait := p.silence(now)
	if wait <= 0 {
		p.lastWrite = now
		return SendHeartbeat, p.Heartbeat
	}
	if pending {
		wait = min(wait, p.Interval-now.Sub(p.lastUpdate))
	}
	return Wait, wait
}

// silence is how long until a heartbeat is due.
func (p *Pacer) silence(now time.Time) time.Duration {
	if p.lastWrite.IsZero() {
		return 0
	}
	return p.Heartbeat - now.Sub(p.lastWrite)
}
