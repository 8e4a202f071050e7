package storetest

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/store"
)

// wantNoPrevious fails t unless k carries no previous hash. check does not
// tell nil from empty, and "nil PreviousHash: no grace in effect" does.
func wantNoPrevious(t *testing.T, what string, k apikey.Key) {
	t.Helper()
	if k.PreviousHash != nil || k.PreviousExpiresAt != nil {
		t.Errorf("%s: previous hash %x until %v, want nil and nil", what, k.PreviousHash, k.PreviousExpiresAt)
	}
}

func testAPIKeyRotateWithGraceKeepsPrevious(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	k := apiKey("k1", "t1", "agent:a1")
	k.ExpiresAt, k.LastUsedAt = ptr(at(48*time.Hour)), ptr(at(time.Minute))
	must(t, s.CreateAPIKey(ctx, k))

	got := ok(s.RotateAPIKey(ctx, "k1", hash("v1"), ptr(at(2*time.Hour)), at(time.Hour)))(t)
	want := truncAPIKey(k)
	want.Hash, want.PreviousHash = hash("v1"), k.Hash
	want.PreviousExpiresAt, want.RotatedAt = usp(ptr(at(2*time.Hour))), usp(ptr(at(time.Hour)))
	check(t, "returned key", got, want)
	check(t, "stored key", ok(s.GetAPIKey(ctx, "k1"))(t), want)

	// Rotating again during the grace keeps only the latest
	// predecessor: there is one previous hash, not a chain.
	got = ok(s.RotateAPIKey(ctx, "k1", hash("v2"), ptr(at(3*time.Hour)), at(90*time.Minute)))(t)
	want.Hash, want.PreviousHash = hash("v2"), hash("v1")
	want.PreviousExpiresAt, want.RotatedAt = usp(ptr(at(3*time.Hour))), usp(ptr(at(90*time.Minute)))
	check(t, "second rotation", got, want)
	check(t, "stored key", ok(s.GetAPIKey(ctx, "k1"))(t), want)
}

func testAPIKeyRotateWithoutGraceDropsPrevious(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	k := newAPIKey(t, s, "k1", "t1", "user:alice")
	ok(s.RotateAPIKey(ctx, "k1", hash("v1"), ptr(at(2*time.Hour)), at(time.Hour)))(t)

	// No grace: the old secret stops at once, also one still in grace.
	got := ok(s.RotateAPIKey(ctx, "k1", hash("v2"), nil, at(90*time.Minute)))(t)
	want := truncAPIKey(k)
	want.Hash, want.RotatedAt = hash("v2"), usp(ptr(at(90*time.Minute)))
	check(t, "returned key", got, want)
	wantNoPrevious(t, "returned key", got)
	stored := ok(s.GetAPIKey(ctx, "k1"))(t)
	check(t, "stored key", stored, want)
	wantNoPrevious(t, "stored key", stored)
}

func testAPIKeyRotateRevokedConflicts(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	newAPIKey(t, s, "k1", "t1", "user:alice")
	must(t, s.RevokeAPIKey(ctx, "k1", at(time.Minute)))
	before := ok(s.GetAPIKey(ctx, "k1"))(t)
	for _, until := range []*time.Time{nil, ptr(at(2 * time.Hour))} {
		_, err := s.RotateAPIKey(ctx, "k1", hash("v1"), until, at(time.Hour))
		wantConflict(t, err, "api_key_revoked")
	}
	check(t, "key after refused rotations", ok(s.GetAPIKey(ctx, "k1"))(t), before)
}
