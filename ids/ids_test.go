package ids

import (
	"testing"
	"time"
)

func TestNewSortsByTime(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	prev := NewAt(base)
	for i := 1; i < 100; i++ {
		next := NewAt(base.Add(time.Duration(i) * time.Millisecond))
		if next <= prev {
			t.Fatalf("%s not after %s", next, prev)
		}
		if !Valid(next) {
			t.Fatalf("%s not valid", next)
		}
		prev = next
	}
}

func TestValid(t *testing.T) {
	cases := map[string]bool{
		New(): true, "": false, "short": false, "01jz000000000000000000000i": false,
		"01JZ0000000000000000000000": false, "81jz0000000000000000000000": false,
		"01jz0000000000000000000000": true, "01jz00000000000000000000000": false,
	}
	for s, want := range cases {
		if Valid(s) != want {
			t.Errorf("Valid(%q) = %v", s, !want)
		}
	}
}
