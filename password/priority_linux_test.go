package password

import (
	"context"
	"runtime"
	"syscall"
	"testing"
)

// threadNice reads the calling thread's niceness. The raw getpriority system
// call answers 20 - nice so that the value is never negative.
func threadNice(t *testing.T) int {
	t.Helper()
	raw, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	if err != nil {
		t.Fatal(err)
	}
	return 20 - raw
}

func TestThreadNice(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := threadNice(t)
	for _, c := range []struct{ set, want int }{{0, before}, {7, 7}, {19, 19}, {40, 19}} {
		h, err := NewHasher(testParams, 1, ThreadNice(c.set))
		if err != nil {
			t.Fatal(err)
		}
		var got int
		h.compute(func() { got = threadNice(t) })
		if c.set != 0 && got != c.want {
			t.Errorf("ThreadNice(%d): hashing thread nice = %d, want %d", c.set, got, c.want)
		}
		if after := threadNice(t); after != before {
			t.Fatalf("caller's thread changed priority: %d -> %d", before, after)
		}
		enc, err := h.Hash(context.Background(), "a password under priority")
		if err != nil {
			t.Fatal(err)
		}
		if ok, _, err := h.Verify(context.Background(), "a password under priority", enc); !ok || err != nil {
			t.Fatalf("verify under ThreadNice(%d): %v %v", c.set, ok, err)
		}
	}
}
