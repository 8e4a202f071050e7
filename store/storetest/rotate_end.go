package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/store"
)

// The fixture session ends 72 hours after its sign-in.

func testRotateRefreshExpiryStopsAtTheEnd(t *testing.T, s store.Store) {
	ctx := t.Context()
	ss := newSession(t, s, "s1", "user:alice")
	// Asked to slide past the end, the expiry stops at the end.
	got := ok(s.RotateRefresh(ctx, hash("s1-0"), hash("s1-1"), "", at(20*time.Hour), at(84*time.Hour)))(t)
	check(t, "expires_at", got.ExpiresAt, us(ss.EndsAt))
	check(t, "stored expires_at", ok(s.GetSession(ctx, "s1"))(t).ExpiresAt, us(ss.EndsAt))
	// Before the end it slides as asked.
	got = ok(s.RotateRefresh(ctx, hash("s1-1"), hash("s1-2"), "", at(30*time.Hour), at(71*time.Hour)))(t)
	check(t, "expires_at before the end", got.ExpiresAt, us(at(71*time.Hour)))
}

func testRotateRefreshPastTheEndReportsEnded(t *testing.T, s store.Store) {
	ctx := t.Context()
	ss := newSession(t, s, "s1", "user:alice")
	end := us(ss.EndsAt)
	// At exactly EndsAt and after it; also when the sliding expiry has
	// passed too.
	for _, now := range []time.Time{end, end.Add(time.Hour)} {
		_, err := s.RotateRefresh(ctx, hash("s1-0"), hash("s1-1"), "", now, now.Add(time.Hour))
		var ended *session.EndedError
		if !errors.As(err, &ended) {
			t.Fatalf("at %v: err = %v (%T), want *session.EndedError", now, err, err)
		}
		check(t, "EndedError", *ended, session.EndedError{SessionID: "s1", ActorID: "user:alice", TenantID: "t1"})
	}
	// The refusals consumed nothing; a revoked session past its end is
	// just invalid, and a replay still reuse.
	must(t, s.RevokeSession(ctx, "s1", "lifetime_ended", end))
	_, err := s.RotateRefresh(ctx, hash("s1-0"), hash("s1-1"), "", end, end.Add(time.Hour))
	wantUnauthenticated(t, err)
}
