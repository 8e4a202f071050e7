package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
)

// wantRevokedAt fails t unless API key id is revoked at when.
func wantRevokedAt(t *testing.T, s store.Store, id string, when time.Time) {
	t.Helper()
	k := ok(s.GetAPIKey(t.Context(), id))(t)
	if k.RevokedAt == nil || !k.RevokedAt.Equal(us(when)) {
		t.Errorf("%s: revoked at %v, want %v", id, k.RevokedAt, us(when))
	}
}

func testAPIKeyRevokeFirstTimeWins(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	k := newAPIKey(t, s, "k1", "t1", "user:alice")
	newAPIKey(t, s, "k2", "t1", "user:alice")
	must(t, s.RevokeAPIKey(ctx, "k1", at(time.Hour)))
	want := truncAPIKey(k)
	want.RevokedAt = usp(ptr(at(time.Hour)))
	check(t, "revoked key", ok(s.GetAPIKey(ctx, "k1"))(t), want)

	// Idempotent, earlier or later: the first revocation wins.
	must(t, s.RevokeAPIKey(ctx, "k1", at(2*time.Hour)))
	must(t, s.RevokeAPIKey(ctx, "k1", at(time.Minute)))
	check(t, "after revoking again", ok(s.GetAPIKey(ctx, "k1"))(t), want)
	if k2 := ok(s.GetAPIKey(ctx, "k2"))(t); k2.RevokedAt != nil {
		t.Errorf("k2 revoked with k1")
	}
}

func testAPIKeyConcurrentRevokesSucceed(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	newAPIKey(t, s, "k1", "t1", "user:alice")
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = s.RevokeAPIKey(ctx, "k1", at(time.Duration(i+1)*time.Minute)) })
	}
	wg.Wait()
	for _, err := range errs {
		must(t, err)
	}
	got := ok(s.GetAPIKey(ctx, "k1"))(t)
	if got.RevokedAt == nil || got.RevokedAt.Sub(us(at(0)))%time.Minute != 0 {
		t.Fatalf("revoked at %v, want one of the callers' times", got.RevokedAt)
	}
}

func testAPIKeyRevokeActorKeysOfTenant(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:alice")
	newTenant(t, s, "tb", "user:bob")
	for _, id := range []string{"k3", "k1", "k2"} {
		newAPIKey(t, s, id, "ta", "agent:a1")
	}
	must(t, s.RevokeAPIKey(ctx, "k2", at(time.Minute)))
	newAPIKey(t, s, "k4", "ta", "agent:a2")
	newAPIKey(t, s, "k5", "tb", "agent:a1")

	// Tenant B's call does not reach tenant A's keys.
	check(t, "from tb", ok(s.RevokeActorAPIKeys(ctx, "tb", "agent:a2", at(time.Hour)))(t), []string{})
	if k4 := ok(s.GetAPIKey(ctx, "k4"))(t); k4.RevokedAt != nil {
		t.Errorf("tenant B revoked tenant A's key")
	}

	check(t, "revoked", ok(s.RevokeActorAPIKeys(ctx, "ta", "agent:a1", at(time.Hour)))(t), []string{"k1", "k3"})
	wantRevokedAt(t, s, "k1", at(time.Hour))
	wantRevokedAt(t, s, "k3", at(time.Hour))
	wantRevokedAt(t, s, "k2", at(time.Minute))
	for _, id := range []string{"k4", "k5"} {
		if k := ok(s.GetAPIKey(ctx, id))(t); k.RevokedAt != nil {
			t.Errorf("%s revoked with agent:a1's keys in ta", id)
		}
	}
	check(t, "again", ok(s.RevokeActorAPIKeys(ctx, "ta", "agent:a1", at(2*time.Hour)))(t), []string{})
	check(t, "nobody", ok(s.RevokeActorAPIKeys(ctx, "ta", "agent:", at(2*time.Hour)))(t), []string{})
	check(t, "no tenant", ok(s.RevokeActorAPIKeys(ctx, "", "agent:a1", at(2*time.Hour)))(t), []string{})
	if k5 := ok(s.GetAPIKey(ctx, "k5"))(t); k5.RevokedAt != nil {
		t.Errorf("tenant-less call revoked tb's key")
	}
}
