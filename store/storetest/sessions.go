package storetest

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/credential"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/store"
)

// hash is a refresh token hash as the session service stores it.
func hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func sess(id, actor string) session.Session {
	return session.Session{
		ID: id, ActorID: actor, TenantID: "t1",
		CreatedAt: at(0), RefreshedAt: at(0), ExpiresAt: at(24 * time.Hour), EndsAt: at(72 * time.Hour),
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", IP: "2001:db8::1",
	}
}

func truncSession(s session.Session) session.Session {
	s.CreatedAt, s.RefreshedAt, s.ExpiresAt, s.EndsAt = us(s.CreatedAt), us(s.RefreshedAt), us(s.ExpiresAt), us(s.EndsAt)
	if s.RevokedAt != nil {
		r := us(*s.RevokedAt)
		s.RevokedAt = &r
	}
	return s
}

// newSession creates session id for actor with refresh token "<id>-0".
func newSession(t *testing.T, s store.Store, id, actor string) session.Session {
	t.Helper()
	ss := sess(id, actor)
	must(t, s.CreateSession(t.Context(), ss, hash(id+"-0")))
	return ss
}

func sessionTests() []test {
	return []test{
		{"CreateAndGet", testSessionCreateAndGet},
		{"UnknownIDNotFound", testSessionUnknownIDNotFound},
		{"RevokeFirstReasonWins", testSessionRevokeFirstReasonWins},
		{"ConcurrentRevokesOneWins", testSessionConcurrentRevokesOneWins},
		{"RevokeActorSessions", testSessionRevokeActorSessions},
		{"RevokedSinceKeysetPages", testSessionRevokedSinceKeysetPages},
		{"DeleteExpiredBeforeCutoff", testSessionDeleteExpiredBeforeCutoff},
	}
}

func testSessionCreateAndGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	ss := sess("s1", "user:alice")
	ss.TenantID = ""
	must(t, s.CreateSession(ctx, ss, hash("s1-0")))
	check(t, "GetSession", ok(s.GetSession(ctx, "s1"))(t), truncSession(ss))
}

func testSessionUnknownIDNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetSession(ctx, "nope")
	wantNotFound(t, err, "session_not_found")
	wantNotFound(t, s.RevokeSession(ctx, "nope", "logout", at(0)), "session_not_found")
}

func testSessionRevokeFirstReasonWins(t *testing.T, s store.Store) {
	ctx := t.Context()
	ss := newSession(t, s, "s1", "user:alice")
	must(t, s.RevokeSession(ctx, "s1", "logout", at(time.Minute)))
	want := truncSession(ss)
	revoked := us(at(time.Minute))
	want.RevokedAt, want.RevokeReason = &revoked, "logout"
	check(t, "GetSession", ok(s.GetSession(ctx, "s1"))(t), want)

	// Idempotent: the first reason and time win.
	must(t, s.RevokeSession(ctx, "s1", "admin", at(time.Hour)))
	check(t, "GetSession after second revoke", ok(s.GetSession(ctx, "s1"))(t), want)
}

func testSessionConcurrentRevokesOneWins(t *testing.T, s store.Store) {
	ctx := t.Context()
	newSession(t, s, "s1", "user:alice")
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.RevokeSession(ctx, "s1", fmt.Sprintf("reason-%d", i), at(time.Duration(i)*time.Minute))
		})
	}
	wg.Wait()
	for _, err := range errs {
		must(t, err)
	}
	got := ok(s.GetSession(ctx, "s1"))(t)
	var i int
	if _, err := fmt.Sscanf(got.RevokeReason, "reason-%d", &i); err != nil || got.RevokedAt == nil {
		t.Fatalf("revoked = %v, reason %q", got.RevokedAt, got.RevokeReason)
	}
	// Reason and time come from the same call.
	check(t, "revoked_at", *got.RevokedAt, us(at(time.Duration(i)*time.Minute)))
}

func testSessionRevokeActorSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, id := range []string{"s3", "s1", "s2"} {
		newSession(t, s, id, "user:alice")
	}
	newSession(t, s, "s4", "user:bob")
	must(t, s.RevokeSession(ctx, "s2", "logout", at(time.Minute)))

	got := ok(s.RevokeActorSessions(ctx, "user:alice", "logout_all", at(time.Hour)))(t)
	check(t, "revoked ids", sorted(got), []string{"s1", "s3"})
	for _, id := range []string{"s1", "s3"} {
		ss := ok(s.GetSession(ctx, id))(t)
		if ss.RevokedAt == nil || !ss.RevokedAt.Equal(us(at(time.Hour))) || ss.RevokeReason != "logout_all" {
			t.Errorf("%s: revoked %v reason %q, want logout_all at +1h", id, ss.RevokedAt, ss.RevokeReason)
		}
	}
	if ss := ok(s.GetSession(ctx, "s2"))(t); ss.RevokeReason != "logout" || !ss.RevokedAt.Equal(us(at(time.Minute))) {
		t.Errorf("already revoked s2 changed to %v %q", ss.RevokedAt, ss.RevokeReason)
	}
	if ss := ok(s.GetSession(ctx, "s4"))(t); ss.RevokedAt != nil {
		t.Errorf("bob's session revoked with alice's")
	}
	if again := ok(s.RevokeActorSessions(ctx, "user:alice", "logout_all", at(2*time.Hour)))(t); len(again) != 0 {
		t.Errorf("second RevokeActorSessions = %v, want none", again)
	}
	if none := ok(s.RevokeActorSessions(ctx, "user:nobody", "logout_all", at(time.Hour)))(t); len(none) != 0 {
		t.Errorf("RevokeActorSessions(nobody) = %v, want none", none)
	}
}

func testSessionRevokedSinceKeysetPages(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Revocation times out of id order, with a tie broken by id.
	times := map[string]time.Duration{"s1": 3 * time.Minute, "s2": time.Minute, "s3": 2 * time.Minute, "s4": 2 * time.Minute, "s5": 0}
	for id, d := range times {
		newSession(t, s, id, "user:alice")
		if id != "s5" {
			must(t, s.RevokeSession(ctx, id, "logout", at(d)))
		}
	}
	rev := func(id string) credential.Revocation {
		return credential.Revocation{ID: id, RevokedAt: us(at(times[id]))}
	}
	check(t, "since 0", ok(s.RevokedSince(ctx, at(0), "", 10))(t),
		[]credential.Revocation{rev("s2"), rev("s3"), rev("s4"), rev("s1")})
	// since is inclusive, also below the stored precision.
	check(t, "since 2m", ok(s.RevokedSince(ctx, us(at(2*time.Minute)), "", 10))(t),
		[]credential.Revocation{rev("s3"), rev("s4"), rev("s1")})
	check(t, "limit", ok(s.RevokedSince(ctx, at(0), "", 2))(t),
		[]credential.Revocation{rev("s2"), rev("s3")})
	// Keyset paging resumes inside a run of equal timestamps.
	check(t, "after s3", ok(s.RevokedSince(ctx, us(at(2*time.Minute)), "s3", 10))(t),
		[]credential.Revocation{rev("s4"), rev("s1")})
	check(t, "after s4", ok(s.RevokedSince(ctx, us(at(2*time.Minute)), "s4", 10))(t),
		[]credential.Revocation{rev("s1")})
	check(t, "after all", ok(s.RevokedSince(ctx, at(time.Hour), "", 10))(t), []credential.Revocation{})
}

func testSessionDeleteExpiredBeforeCutoff(t *testing.T, s store.Store) {
	ctx := t.Context()
	cutoff := at(time.Hour)
	expiries := map[string]time.Time{
		"old":    cutoff.Add(-time.Minute),
		"older":  cutoff.Add(-24 * time.Hour),
		"edge":   us(cutoff), // not before cutoff: kept
		"future": cutoff.Add(time.Minute),
	}
	for id, exp := range expiries {
		ss := sess(id, "user:alice")
		ss.ExpiresAt = exp
		must(t, s.CreateSession(ctx, ss, hash(id+"-0")))
	}
	if n := ok(s.DeleteExpired(ctx, us(cutoff)))(t); n != 2 {
		t.Errorf("DeleteExpired = %d, want 2", n)
	}
	for _, id := range []string{"old", "older"} {
		_, err := s.GetSession(ctx, id)
		wantNotFound(t, err, "session_not_found")
		// Its refresh token went too: it is unknown, not reused.
		_, err = s.RotateRefresh(ctx, hash(id+"-0"), hash(id+"-1"), "", at(0), at(time.Hour))
		wantUnauthenticated(t, err)
	}
	ok(s.GetSession(ctx, "edge"))(t)
	ok(s.GetSession(ctx, "future"))(t)
	// The id and the token hash are free again.
	newSession(t, s, "old", "user:alice")
	if n := ok(s.DeleteExpired(ctx, us(cutoff)))(t); n != 0 {
		t.Errorf("second DeleteExpired = %d, want 0", n)
	}
}
