package usage

import (
	"fmt"
	"testing"
)

// TestGroupKeyPadsWindows: keys begin with the window zero-padded to 20
// digits, as fmt's %020d writes it, so that they sort by window.
func TestGroupKeyPadsWindows(t *testing.T) {
	for _, w := range []int64{0, 7, 29013120, 1<<63 - 1, -60} {
		want := fmt.Sprintf("%020d", w) + "\x00agent:1\x00m1"
		if got := groupKey(w, true, "agent:1", []string{"model"}, map[string]string{"model": "m1"}); got != want {
			t.Errorf("groupKey(%d) = %q, want %q", w, got, want)
		}
	}
	if a, b := groupKey(60, false, "", nil, nil), groupKey(1440, false, "", nil, nil); a >= b {
		t.Errorf("window 60 sorts after 1440: %q, %q", a, b)
	}
}
