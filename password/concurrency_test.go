package password

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/tollgate/tollgate/fault"
)

// holdSlot occupies one computation slot the way a running Hash does, so the
// tests below control exactly when the hasher is saturated, without sleeps.
func holdSlot(t *testing.T, h *Hasher) (release func()) {
	t.Helper()
	if err := h.acquire(context.Background()); err != nil {
		t.Fatalf("acquire: %v", err)
	}
	var once sync.Once
	release = func() { once.Do(h.release) }
	t.Cleanup(release)
	return release
}

func TestBusyWithCancelledContext(t *testing.T) {
	h := newTestHasher(t, testParams, 1)
	enc := mustHash(t, h, "pw")
	release := holdSlot(t, h)
	if h.InFlight() != 1 {
		t.Fatalf("InFlight = %d, want 1", h.InFlight())
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := h.Hash(ctx, "pw")
	assertBusy(t, err)
	ok, rehash, err := h.Verify(ctx, "pw", enc)
	if ok || rehash {
		t.Fatalf("Verify while busy = %v, %v; want false, false", ok, rehash)
	}
	assertBusy(t, err)

	release()
	if _, err := h.Hash(context.Background(), "pw"); err != nil {
		t.Fatalf("Hash after release: %v", err)
	}
	if h.InFlight() != 0 || h.Waiting() != 0 {
		t.Fatalf("in flight %d, waiting %d; want 0, 0", h.InFlight(), h.Waiting())
	}
}

// TestBusyWhileWaiting cancels a caller that is queued behind a held slot,
// the case the bound exists for.
func TestBusyWhileWaiting(t *testing.T) {
	h := newTestHasher(t, testParams, 1)
	holdSlot(t, h)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := h.Hash(ctx, "pw")
		errc <- err
	}()
	for h.Waiting() != 1 {
		runtime.Gosched()
	}
	cancel()
	assertBusy(t, <-errc)
	if h.Waiting() != 0 || h.InFlight() != 1 {
		t.Fatalf("in flight %d, waiting %d; want 1, 0", h.InFlight(), h.Waiting())
	}
}

// TestQueuedCallerProceeds checks that a waiting caller gets the slot once it
// is released rather than failing.
func TestQueuedCallerProceeds(t *testing.T) {
	h := newTestHasher(t, testParams, 1)
	release := holdSlot(t, h)

	errc := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), "pw")
		errc <- err
	}()
	for h.Waiting() != 1 {
		runtime.Gosched()
	}
	release()
	if err := <-errc; err != nil {
		t.Fatalf("queued Hash: %v", err)
	}
}

// TestConcurrencyBound hammers the hasher and checks InFlight never exceeds
// the configured bound.
func TestConcurrencyBound(t *testing.T) {
	const bound = 2
	h := newTestHasher(t, testParams, bound)
	enc := mustHash(t, h, "pw")
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				_, err = h.Hash(context.Background(), "pw")
			} else {
				_, _, err = h.Verify(context.Background(), "pw", enc)
			}
			if n := h.InFlight(); n > bound {
				errs <- errors.New("in flight above bound")
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if h.InFlight() != 0 || h.Waiting() != 0 {
		t.Fatalf("in flight %d, waiting %d; want 0, 0", h.InFlight(), h.Waiting())
	}
}

func assertBusy(t *testing.T, err error) {
	t.Helper()
	if codeOf(err) != "hasher_busy" || fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("error = %v; want Unavailable hasher_busy", err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v does not wrap the context error", err)
	}
}
