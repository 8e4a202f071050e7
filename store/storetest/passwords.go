package storetest

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/store"
)

func passwordTests() []test {
	return []test{
		{"ResetOnceBeforeExpiry", testPasswordResetOnceBeforeExpiry},
		{"ResetsCountedPerUserSince", testPasswordResetsCountedPerUserSince},
		{"ChangeKeepsOneSession", testPasswordChangeKeepsOneSession},
		{"SignupVerifiedOnce", testSignupVerifiedOnce},
	}
}

// testPasswordResetOnceBeforeExpiry: a reset token works once, before it
// expires; using it retires the user's other tokens and revokes every
// session of theirs, and no one else's.
func testPasswordResetOnceBeforeExpiry(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, user("u1", "a@x.example")))
	must(t, s.CreateUser(ctx, user("u2", "b@x.example")))
	newSession(t, s, "s1", "user:u1")
	newSession(t, s, "s2", "user:u2")
	must(t, s.CreatePasswordReset(ctx, tokenHash("r1"), "u1", at(0), at(time.Hour)))
	must(t, s.CreatePasswordReset(ctx, tokenHash("r2"), "u1", at(0), at(time.Hour)))
	if _, _, err := s.ResetPassword(ctx, tokenHash("r1"), "new-hash", at(time.Hour)); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("reset at expiry: %v", err)
	}
	if _, _, err := s.ResetPassword(ctx, tokenHash("nope"), "new-hash", at(0)); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("unknown token: %v", err)
	}
	if uid, err := s.PeekPasswordReset(ctx, tokenHash("r1"), at(time.Minute)); err != nil || uid != "u1" {
		t.Fatalf("peek %q, %v", uid, err)
	}
	uid, revoked, err := s.ResetPassword(ctx, tokenHash("r1"), "new-hash", at(time.Minute))
	must(t, err)
	if uid != "u1" || len(revoked) != 1 || revoked[0] != "s1" {
		t.Fatalf("reset %q revoked %v", uid, revoked)
	}
	for _, tok := range []string{"r1", "r2"} {
		if _, _, err := s.ResetPassword(ctx, tokenHash(tok), "other", at(2*time.Minute)); fault.KindOf(err) != fault.Conflict {
			t.Fatalf("token %s after a reset: %v", tok, err)
		}
	}
	u, err := s.GetUser(ctx, "u1")
	must(t, err)
	if u.PasswordHash != "new-hash" {
		t.Fatalf("hash %q", u.PasswordHash)
	}
	if sess, _ := s.GetSession(ctx, "s2"); sess.RevokedAt != nil {
		t.Fatal("another user's session was revoked")
	}
}

// testPasswordResetsCountedPerUserSince: the count is the user's tokens
// made at or after since, used ones included, and no one else's.
func testPasswordResetsCountedPerUserSince(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, user("u1", "a@x.example")))
	must(t, s.CreateUser(ctx, user("u2", "b@x.example")))
	must(t, s.CreatePasswordReset(ctx, tokenHash("old"), "u1", at(0), at(time.Hour)))
	must(t, s.CreatePasswordReset(ctx, tokenHash("r1"), "u1", at(time.Hour), at(2*time.Hour)))
	must(t, s.CreatePasswordReset(ctx, tokenHash("r2"), "u1", at(90*time.Minute), at(3*time.Hour)))
	must(t, s.CreatePasswordReset(ctx, tokenHash("theirs"), "u2", at(90*time.Minute), at(3*time.Hour)))
	_, _, err := s.ResetPassword(ctx, tokenHash("r1"), "new-hash", at(100*time.Minute))
	must(t, err)
	for _, c := range []struct {
		user  string
		since time.Duration
		want  int
	}{
		{"u1", 0, 3},
		{"u1", time.Hour, 2},
		{"u1", time.Hour + time.Microsecond, 1},
		{"u1", 2 * time.Hour, 0},
		{"u2", 0, 1},
		{"nobody", 0, 0},
	} {
		if n, err := s.CountPasswordResets(ctx, c.user, at(c.since)); err != nil || n != c.want {
			t.Errorf("CountPasswordResets(%s, +%s) = %d, %v; want %d", c.user, c.since, n, err, c.want)
		}
	}
}

// testPasswordChangeKeepsOneSession: a change compares the old hash,
// keeps the named session and revokes the others.
func testPasswordChangeKeepsOneSession(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := user("u1", "a@x.example")
	must(t, s.CreateUser(ctx, u))
	newSession(t, s, "s1", "user:u1")
	newSession(t, s, "s2", "user:u1")
	if _, err := s.ChangePassword(ctx, "u1", "not-the-hash", "new", "s1", at(time.Minute)); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("change from a stale hash: %v", err)
	}
	revoked, err := s.ChangePassword(ctx, "u1", u.PasswordHash, "new", "s1", at(time.Minute))
	must(t, err)
	if len(revoked) != 1 || revoked[0] != "s2" {
		t.Fatalf("revoked %v", revoked)
	}
	if sess, _ := s.GetSession(ctx, "s1"); sess.RevokedAt != nil {
		t.Fatal("the kept session was revoked")
	}
}

// testSignupVerifiedOnce: a pending sign-up becomes its user once, before
// it expires; a taken address makes the verification fail whole.
func testSignupVerifiedOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	p := session.PendingSignup{Email: "n@x.example", PasswordHash: "h", DisplayName: "N", CreatedAt: at(0), ExpiresAt: at(time.Hour)}
	must(t, s.CreateSignup(ctx, p, tokenHash("v1")))
	must(t, s.CreateSignup(ctx, p, tokenHash("v2")))
	if _, err := s.PeekSignup(ctx, tokenHash("v1"), at(time.Hour)); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("peek at expiry: %v", err)
	}
	got, err := s.PeekSignup(ctx, tokenHash("v1"), at(time.Minute))
	must(t, err)
	if got.Email != "n@x.example" || got.PasswordHash != "h" || got.DisplayName != "N" {
		t.Fatalf("peek %+v", got)
	}
	must(t, s.CompleteSignup(ctx, tokenHash("v1"), user("u1", "n@x.example"), at(time.Minute)))
	if err := s.CompleteSignup(ctx, tokenHash("v1"), user("u2", "m@x.example"), at(time.Minute)); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("second use: %v", err)
	}
	// The other link of the same address finds it taken, and stays unused.
	if err := s.CompleteSignup(ctx, tokenHash("v2"), user("u3", "n@x.example"), at(time.Minute)); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("taken address: %v", err)
	}
	if _, err := s.PeekSignup(ctx, tokenHash("v2"), at(time.Minute)); err != nil {
		t.Fatalf("a failed verification used the token: %v", err)
	}
	if err := s.CompleteSignup(ctx, tokenHash("nope"), user("u4", "o@x.example"), at(0)); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("unknown token: %v", err)
	}
}
