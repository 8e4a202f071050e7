package credential_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/fault"
)

// lastUsed reads a key's LastUsedAt from the store.
func (e *env) lastUsed(t *testing.T, id string) *time.Time {
	t.Helper()
	k, err := e.st.GetAPIKey(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return k.LastUsedAt
}

func TestFlushTouchesRecordsLastUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	ctx := context.Background()
	ann := sessionOf(w.ann, w.alpha.ID)
	used, raw := e.key(t, ann, apikey.NewKey{})
	idle, _ := e.key(t, ann, apikey.NewKey{})
	revoked, revokedRaw := e.key(t, ann, apikey.NewKey{})
	if err := e.apikeys.Revoke(ctx, ann, revoked.ID); err != nil {
		t.Fatal(err)
	}
	e.deliver()

	// Nothing used, nothing written.
	if err := e.r.FlushTouches(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.keyStore.touches.Load(); n != 0 {
		t.Fatalf("%d writes with nothing to record", n)
	}

	first := e.clock.Now()
	e.mustResolve(t, raw)
	e.wantRefused(t, revokedRaw, fault.Unauthenticated, "api_key_revoked")
	if got := e.lastUsed(t, used.ID); got != nil {
		t.Fatalf("last use written before a flush: %v", got)
	}
	if err := e.r.FlushTouches(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.lastUsed(t, used.ID); got == nil || !got.Equal(first) {
		t.Fatalf("last used %v, want %v", got, first)
	}
	for _, id := range []string{idle.ID, revoked.ID} {
		if got := e.lastUsed(t, id); got != nil {
			t.Fatalf("key %s recorded as used at %v", id, got)
		}
	}

	// A later use, in a later batch, moves it on.
	e.clock.Advance(2 * time.Minute)
	e.mustResolve(t, raw)
	if err := e.r.FlushTouches(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.lastUsed(t, used.ID); got == nil || !got.Equal(first.Add(2*time.Minute)) {
		t.Fatalf("last used %v, want %v", got, first.Add(2*time.Minute))
	}
}

func TestFlushTouchesReportsAStoreFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	_, raw := e.key(t, sessionOf(w.ann, w.alpha.ID), apikey.NewKey{})
	e.mustResolve(t, raw)
	e.keyStore.failing.Store(true)
	if err := e.r.FlushTouches(context.Background()); !errors.Is(err, errDisk) {
		t.Fatalf("FlushTouches = %v, want the store's error", err)
	}
}

// TestFlushTouchesWritesAKeyAtMostOnceAMinute: docs/credentials.md says
// last use is "written in batches every 10 s (at most once a minute per
// key)"; touchEvery is meant to space one key's writes.
func TestFlushTouchesWritesAKeyAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	ctx := context.Background()
	k, raw := e.key(t, sessionOf(w.ann, w.alpha.ID), apikey.NewKey{})
	for range 3 {
		e.mustResolve(t, raw)
		if err := e.r.FlushTouches(ctx); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(10 * time.Second)
	}
	writes := 0
	for _, batch := range e.keyStore.touched {
		if _, ok := batch[k.ID]; ok {
			writes++
		}
	}
	if writes != 1 {
		t.Fatalf("key written %d times in 30 s", writes)
	}
}
