package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/store"
)

func wantUnauthenticated(t *testing.T, err error) {
	t.Helper()
	wantFault(t, err, fault.Unauthenticated, "invalid_refresh_token")
}

func wantReuse(t *testing.T, err error, sessionID, actorID string) {
	t.Helper()
	var reuse *session.ReuseError
	if !errors.As(err, &reuse) {
		t.Fatalf("err = %v (%T), want *session.ReuseError", err, err)
	}
	if reuse.SessionID != sessionID || reuse.ActorID != actorID {
		t.Fatalf("ReuseError = %+v, want session %s actor %s", reuse, sessionID, actorID)
	}
}

func rotateTests() []test {
	return []test{
		{"UpdatesSession", testRotateRefreshUpdatesSession},
		{"UnknownTokenUnauthenticated", testRotateRefreshUnknownTokenUnauthenticated},
		{"ReuseReported", testRotateRefreshReuseReported},
		{"RevokedSessionUnauthenticated", testRotateRefreshRevokedSessionUnauthenticated},
		{"ExpiredUnauthenticated", testRotateRefreshExpiredUnauthenticated},
		{"ConcurrentOneWins", testRotateRefreshConcurrentOneWins},
		{"ConcurrentWithRevokeStaysRevoked", testRotateRefreshConcurrentWithRevokeStaysRevoked},
		{"SessionsAreSeparate", testRotateRefreshSessionsAreSeparate},
		{"DuplicateSessionStoresNoToken", testRotateRefreshDuplicateSessionStoresNoToken},
		{"ExpiryStopsAtTheEnd", testRotateRefreshExpiryStopsAtTheEnd},
		{"PastTheEndReportsEnded", testRotateRefreshPastTheEndReportsEnded},
	}
}

func testRotateRefreshUpdatesSession(t *testing.T, s store.Store) {
	ctx := t.Context()
	ss := newSession(t, s, "s1", "user:alice")
	now, exp := at(time.Hour), at(25*time.Hour)
	got := ok(s.RotateRefresh(ctx, hash("s1-0"), hash("s1-1"), "", now, exp))(t)

	want := truncSession(ss)
	want.RefreshedAt, want.ExpiresAt = us(now), us(exp)
	check(t, "returned session", got, want)
	check(t, "stored session", ok(s.GetSession(ctx, "s1"))(t), want)

	// The new token rotates in turn, and may switch the tenant.
	got = ok(s.RotateRefresh(ctx, hash("s1-1"), hash("s1-2"), "t2", at(2*time.Hour), at(26*time.Hour)))(t)
	want.TenantID, want.RefreshedAt, want.ExpiresAt = "t2", us(at(2*time.Hour)), us(at(26*time.Hour))
	check(t, "returned session", got, want)
	check(t, "stored session", ok(s.GetSession(ctx, "s1"))(t), want)
}

func testRotateRefreshUnknownTokenUnauthenticated(t *testing.T, s store.Store) {
	newSession(t, s, "s1", "user:alice")
	_, err := s.RotateRefresh(t.Context(), hash("nope"), hash("s1-1"), "", at(0), at(time.Hour))
	wantUnauthenticated(t, err)
}

func testRotateRefreshReuseReported(t *testing.T, s store.Store) {
	ctx := t.Context()
	newSession(t, s, "s1", "user:alice")
	ok(s.RotateRefresh(ctx, hash("s1-0"), hash("s1-1"), "", at(time.Minute), at(time.Hour)))(t)
	_, err := s.RotateRefresh(ctx, hash("s1-0"), hash("s1-x"), "", at(2*time.Minute), at(time.Hour))
	wantReuse(t, err, "s1", "user:alice")
	// The store leaves revoking to the caller, and the refused attempt
	// stored nothing.
	if got := ok(s.GetSession(ctx, "s1"))(t); got.RevokedAt != nil || !got.RefreshedAt.Equal(us(at(time.Minute))) {
		t.Errorf("session after reuse: revoked %v, refreshed %v", got.RevokedAt, got.RefreshedAt)
	}
	_, err = s.RotateRefresh(ctx, hash("s1-x"), hash("s1-y"), "", at(3*time.Minute), at(time.Hour))
	wantUnauthenticated(t, err)
	// The legitimate holder still rotates.
	ok(s.RotateRefresh(ctx, hash("s1-1"), hash("s1-2"), "", at(3*time.Minute), at(time.Hour)))(t)
}

func testRotateRefreshRevokedSessionUnauthenticated(t *testing.T, s store.Store) {
	ctx := t.Context()
	newSession(t, s, "s1", "user:alice")
	ok(s.RotateRefresh(ctx, hash("s1-0"), hash("s1-1"), "", at(time.Minute), at(time.Hour)))(t)
	must(t, s.RevokeSession(ctx, "s1", "logout", at(2*time.Minute)))
	_, err := s.RotateRefresh(ctx, hash("s1-1"), hash("s1-2"), "", at(3*time.Minute), at(time.Hour))
	wantUnauthenticated(t, err)
	// A replayed token is still reported as reuse, so theft after
	// logout is detectable.
	_, err = s.RotateRefresh(ctx, hash("s1-0"), hash("s1-2"), "", at(3*time.Minute), at(time.Hour))
	wantReuse(t, err, "s1", "user:alice")
}

func testRotateRefreshExpiredUnauthenticated(t *testing.T, s store.Store) {
	ctx := t.Context()
	ss := newSession(t, s, "s1", "user:alice")
	exp := us(ss.ExpiresAt)
	// Expired at exactly ExpiresAt and after it.
	for _, now := range []time.Time{exp, exp.Add(time.Second)} {
		_, err := s.RotateRefresh(ctx, hash("s1-0"), hash("s1-1"), "", now, now.Add(time.Hour))
		wantUnauthenticated(t, err)
	}
	// The refusals consumed nothing: the token is not reused and the
	// new hash was not stored.
	_, err := s.RotateRefresh(ctx, hash("s1-1"), hash("s1-2"), "", exp.Add(-time.Second), exp.Add(time.Hour))
	wantUnauthenticated(t, err)
	ok(s.RotateRefresh(ctx, hash("s1-0"), hash("s1-1"), "", exp.Add(-time.Microsecond), exp.Add(time.Hour)))(t)
}

func testRotateRefreshConcurrentOneWins(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Several sessions, each with n rotations of its one token racing.
	const sessions, n = 6, 6
	for i := range sessions {
		newSession(t, s, fmt.Sprintf("s%d", i), "user:alice")
	}
	errs := make([][n]error, sessions)
	race(t, sessions*n, func(k int) func() {
		i, j := k/n, k%n
		id := fmt.Sprintf("s%d", i)
		return func() {
			_, errs[i][j] = s.RotateRefresh(ctx, hash(id+"-0"), hash(fmt.Sprintf("%s-new-%d", id, j)), "", at(time.Minute), at(time.Hour))
		}
	}, s)

	for i := range sessions {
		id := fmt.Sprintf("s%d", i)
		winner := -1
		for j, err := range errs[i] {
			if err == nil {
				if winner >= 0 {
					t.Fatalf("%s: rotations %d and %d both succeeded", id, winner, j)
				}
				winner = j
				continue
			}
			wantReuse(t, err, id, "user:alice")
		}
		if winner < 0 {
			t.Fatalf("%s: no rotation succeeded: %v", id, errs[i])
		}
		// Only the winner's new token was stored.
		for j := range n {
			_, err := s.RotateRefresh(ctx, hash(fmt.Sprintf("%s-new-%d", id, j)), hash(fmt.Sprintf("%s-next-%d", id, j)), "", at(2*time.Minute), at(time.Hour))
			if j == winner {
				must(t, err)
			} else {
				wantUnauthenticated(t, err)
			}
		}
	}
}

func testRotateRefreshConcurrentWithRevokeStaysRevoked(t *testing.T, s store.Store) {
	ctx := t.Context()
	newSession(t, s, "s1", "user:alice")
	var rotated session.Session
	var rotateErr, revokeErr error
	race(t, 2, func(i int) func() {
		if i == 0 {
			return func() {
				rotated, rotateErr = s.RotateRefresh(ctx, hash("s1-0"), hash("s1-1"), "", at(time.Minute), at(time.Hour))
			}
		}
		return func() { revokeErr = s.RevokeSession(ctx, "s1", "logout", at(time.Minute)) }
	}, s)
	must(t, revokeErr)
	// Either order is fine, but the revocation must stick.
	if rotateErr != nil {
		wantUnauthenticated(t, rotateErr)
	} else if rotated.RevokedAt != nil {
		t.Errorf("rotation returned a revoked session")
	}
	if got := ok(s.GetSession(ctx, "s1"))(t); got.RevokedAt == nil || got.RevokeReason != "logout" {
		t.Errorf("session not revoked: %+v", got)
	}
}

func testRotateRefreshSessionsAreSeparate(t *testing.T, s store.Store) {
	ctx := t.Context()
	newSession(t, s, "s1", "user:alice")
	newSession(t, s, "s2", "user:bob")
	got := ok(s.RotateRefresh(ctx, hash("s2-0"), hash("s2-1"), "", at(time.Minute), at(time.Hour)))(t)
	if got.ID != "s2" || got.ActorID != "user:bob" {
		t.Fatalf("rotated %s/%s, want s2/user:bob", got.ID, got.ActorID)
	}
	if s1 := ok(s.GetSession(ctx, "s1"))(t); !s1.RefreshedAt.Equal(us(at(0))) {
		t.Errorf("s1 refreshed by s2's rotation")
	}
}

func testRotateRefreshDuplicateSessionStoresNoToken(t *testing.T, s store.Store) {
	ctx := t.Context()
	newSession(t, s, "s1", "user:alice")
	err := s.CreateSession(ctx, sess("s1", "user:bob"), hash("other"))
	if fault.KindOf(err) != fault.Conflict {
		t.Fatalf("err = %v, want a conflict", err)
	}
	// Atomic: the refused create stored no token.
	_, err = s.RotateRefresh(ctx, hash("other"), hash("other-1"), "", at(0), at(time.Hour))
	wantUnauthenticated(t, err)
}
