package password

import "runtime"

// Option adjusts a Hasher.
type Option func(*Hasher)

// ThreadNice runs every hash computation on its own OS thread at the given
// scheduling niceness (1–19; 0 leaves priority alone). A login costs tens of
// milliseconds of CPU, so a burst of them would otherwise take the cores from
// every cheap request; at a higher niceness the kernel gives hashing the CPU
// that other work leaves idle, and most of it when it competes. The process
// needs spare GOMAXPROCS slots for these threads (see cmd/tollgate), or they
// would hold the scheduler's slots while the kernel holds them back.
func ThreadNice(n int) Option {
	return func(h *Hasher) { h.nice = max(0, min(n, 19)) }
}

// compute runs fn under the Hasher's thread priority.
func (h *Hasher) compute(fn func()) {
	if h.nice == 0 {
		fn()
		return
	}
	done := make(chan struct{})
	go func() {
		// Never unlocked: when a goroutine exits while locked, the runtime
		// discards its thread, so the lowered priority dies with it instead
		// of passing to whatever goroutine runs there next.
		runtime.LockOSThread()
		setThreadNice(h.nice)
		fn()
		close(done)
	}()
	<-done
}
