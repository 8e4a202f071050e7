package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/store"
)

func mfaTests() []test {
	return []test{
		{"PendingTOTPReplacedActiveKept", testMFAPendingTOTPReplacedActiveKept},
		{"TOTPStepUsedOnce", testMFATOTPStepUsedOnce},
		{"RecoveryCodeUsedOnce", testMFARecoveryCodeUsedOnce},
		{"DeleteTOTPTakesRecoveryCodes", testMFADeleteTOTPTakesRecoveryCodes},
		{"ReplaceRecoveryCodes", testMFAReplaceRecoveryCodes},
		{"ChallengeUsedOnceBeforeExpiry", testMFAChallengeUsedOnceBeforeExpiry},
		{"SessionKeepsAMR", testMFASessionKeepsAMR},
		{"TenantKeepsMFARule", testMFATenantKeepsMFARule},
	}
}

func pendingTOTP(userID, sealID string) session.TOTPFactor {
	return session.TOTPFactor{UserID: userID, SealID: sealID, Secret: []byte("sealed-" + sealID), Status: session.TOTPPending, CreatedAt: at(time.Second)}
}

// activeTOTP gives u1 an active factor whose last used step is 100 and
// recovery codes r1 and r2.
func activeTOTP(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	must(t, s.CreateUser(ctx, user("u1", "a@x.example")))
	must(t, s.PutPendingTOTP(ctx, pendingTOTP("u1", "k1")))
	must(t, s.ActivateTOTP(ctx, "u1", 100, [][]byte{tokenHash("r1"), tokenHash("r2")}, at(time.Minute)))
}

// testMFAPendingTOTPReplacedActiveKept: a pending factor is replaced by
// the next enrolment; an active one is not, and activating needs a
// pending one.
func testMFAPendingTOTPReplacedActiveKept(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.GetTOTP(ctx, "u1"); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("no factor: %v", err)
	}
	if err := s.PutPendingTOTP(ctx, pendingTOTP("nobody", "k0")); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("factor of an unknown user: %v", err)
	}
	must(t, s.CreateUser(ctx, user("u1", "a@x.example")))
	if err := s.ActivateTOTP(ctx, "u1", 1, nil, at(time.Minute)); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("activating nothing: %v", err)
	}
	must(t, s.PutPendingTOTP(ctx, pendingTOTP("u1", "k1")))
	must(t, s.PutPendingTOTP(ctx, pendingTOTP("u1", "k2")))
	f := ok(s.GetTOTP(ctx, "u1"))(t)
	if f.SealID != "k2" || string(f.Secret) != "sealed-k2" || f.Status != session.TOTPPending || f.ConfirmedAt != nil {
		t.Fatalf("pending factor %+v", f)
	}
	must(t, s.ActivateTOTP(ctx, "u1", 7, nil, at(time.Minute)))
	if err := s.PutPendingTOTP(ctx, pendingTOTP("u1", "k3")); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("enrolling over an active factor: %v", err)
	}
	if err := s.ActivateTOTP(ctx, "u1", 8, nil, at(time.Minute)); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("activating twice: %v", err)
	}
	f = ok(s.GetTOTP(ctx, "u1"))(t)
	if f.SealID != "k2" || f.Status != session.TOTPActive || f.LastStep != 7 || f.ConfirmedAt == nil || !f.ConfirmedAt.Equal(us(at(time.Minute))) {
		t.Fatalf("active factor %+v", f)
	}
}

// testMFATOTPStepUsedOnce: a step is accepted only if later than the last
// one used, so a code never works twice, nor an older one after it.
func testMFATOTPStepUsedOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	activeTOTP(t, s)
	for _, c := range []struct {
		step int64
		want bool
	}{{100, false}, {99, false}, {101, true}, {101, false}, {100, false}, {103, true}} {
		if got := ok(s.UseTOTPStep(ctx, "u1", c.step))(t); got != c.want {
			t.Fatalf("step %d: used %v, want %v", c.step, got, c.want)
		}
	}
	if got := ok(s.UseTOTPStep(ctx, "u2", 200))(t); got {
		t.Fatal("a step of a user without a factor was used")
	}
}

// testMFARecoveryCodeUsedOnce: each code works once, for its user only,
// and activating again replaces the codes.
func testMFARecoveryCodeUsedOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	activeTOTP(t, s)
	must(t, s.CreateUser(ctx, user("u2", "b@x.example")))
	if ok(s.UseRecoveryCode(ctx, "u2", tokenHash("r1"), at(time.Hour)))(t) {
		t.Fatal("another user's code worked")
	}
	if !ok(s.UseRecoveryCode(ctx, "u1", tokenHash("r1"), at(time.Hour)))(t) {
		t.Fatal("a fresh code did not work")
	}
	if ok(s.UseRecoveryCode(ctx, "u1", tokenHash("r1"), at(time.Hour)))(t) {
		t.Fatal("a used code worked again")
	}
	ok(s.DeleteTOTP(ctx, "u1", "", at(time.Hour)))(t)
	must(t, s.PutPendingTOTP(ctx, pendingTOTP("u1", "k9")))
	must(t, s.ActivateTOTP(ctx, "u1", 1, [][]byte{tokenHash("r3")}, at(time.Hour)))
	if ok(s.UseRecoveryCode(ctx, "u1", tokenHash("r2"), at(time.Hour)))(t) {
		t.Fatal("a replaced code worked")
	}
	if !ok(s.UseRecoveryCode(ctx, "u1", tokenHash("r3"), at(time.Hour)))(t) {
		t.Fatal("the new code did not work")
	}
}

// testMFADeleteTOTPTakesRecoveryCodes: disabling removes the factor and
// its codes and revokes the user's other sessions, not the one kept nor
// anyone else's; a second delete finds nothing.
func testMFADeleteTOTPTakesRecoveryCodes(t *testing.T, s store.Store) {
	ctx := t.Context()
	activeTOTP(t, s)
	for _, id := range []string{"s1", "s2", "s3"} {
		newSession(t, s, id, "user:u1")
	}
	newSession(t, s, "other", "user:u2")
	check(t, "revoked", ok(s.DeleteTOTP(ctx, "u1", "s2", at(time.Hour)))(t), []string{"s1", "s3"})
	for id, revoked := range map[string]bool{"s1": true, "s2": false, "s3": true, "other": false} {
		if ss := ok(s.GetSession(ctx, id))(t); (ss.RevokedAt != nil) != revoked || revoked && ss.RevokeReason != "mfa_disabled" {
			t.Fatalf("session %s after disabling: %+v", id, ss)
		}
	}
	if _, err := s.GetTOTP(ctx, "u1"); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("factor after delete: %v", err)
	}
	if ok(s.UseRecoveryCode(ctx, "u1", tokenHash("r2"), at(time.Hour)))(t) {
		t.Fatal("a code outlived its factor")
	}
	if _, err := s.DeleteTOTP(ctx, "u1", "", at(time.Hour)); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("second delete: %v", err)
	}
}

// testMFAChallengeUsedOnceBeforeExpiry: a challenge reads back as
// stored, counts wrong codes, is used once, not after it expires, and
// goes with the expired sessions.
func testMFAChallengeUsedOnceBeforeExpiry(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, user("u1", "a@x.example")))
	if err := s.CreateChallenge(ctx, session.Challenge{UserID: "nobody", CreatedAt: at(0), ExpiresAt: at(time.Minute)}, tokenHash("c0")); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("challenge of an unknown user: %v", err)
	}
	c := session.Challenge{UserID: "u1", TenantID: "t1", AMR: []string{"pwd"}, Enrol: true, CreatedAt: at(0), ExpiresAt: at(5 * time.Minute)}
	must(t, s.CreateChallenge(ctx, c, tokenHash("c1")))
	must(t, s.CreateChallenge(ctx, session.Challenge{UserID: "u1", AMR: []string{"pwd"}, CreatedAt: at(0), ExpiresAt: at(time.Minute)}, tokenHash("c2")))
	must(t, s.FailChallenge(ctx, tokenHash("c1")))
	must(t, s.FailChallenge(ctx, tokenHash("c1")))
	got := ok(s.GetChallenge(ctx, tokenHash("c1"), at(time.Minute)))(t)
	if got.UserID != "u1" || got.TenantID != "t1" || !slices.Equal(got.AMR, c.AMR) || !got.Enrol || got.Attempts != 2 ||
		!got.CreatedAt.Equal(us(c.CreatedAt)) || !got.ExpiresAt.Equal(us(c.ExpiresAt)) {
		t.Fatalf("challenge %+v", got)
	}
	for name, err := range map[string]error{
		"unknown":     func() error { _, err := s.GetChallenge(ctx, tokenHash("nope"), at(0)); return err }(),
		"expired":     func() error { _, err := s.GetChallenge(ctx, tokenHash("c2"), at(time.Minute)); return err }(),
		"use expired": s.UseChallenge(ctx, tokenHash("c2"), at(time.Minute)),
	} {
		if fault.KindOf(err) != fault.Unauthenticated {
			t.Errorf("%s: %v", name, err)
		}
	}
	must(t, s.UseChallenge(ctx, tokenHash("c1"), at(2*time.Minute)))
	if err := s.UseChallenge(ctx, tokenHash("c1"), at(2*time.Minute)); fault.KindOf(err) != fault.Unauthenticated {
		t.Fatalf("second use: %v", err)
	}
	if _, err := s.GetChallenge(ctx, tokenHash("c1"), at(2*time.Minute)); fault.KindOf(err) != fault.Unauthenticated {
		t.Fatalf("read after use: %v", err)
	}
	ok(s.DeleteExpired(ctx, at(2*time.Minute)))(t)
	// c2 expired before the cut-off: it was deleted, so its hash is free.
	must(t, s.CreateChallenge(ctx, session.Challenge{UserID: "u1", CreatedAt: at(0), ExpiresAt: at(time.Minute)}, tokenHash("c2")))
}

// testMFASessionKeepsAMR: a session's amr reads back, and survives a
// refresh.
func testMFASessionKeepsAMR(t *testing.T, s store.Store) {
	ctx := t.Context()
	ss := sess("s1", "user:u1")
	ss.AMR = []string{"pwd", "otp", "mfa"}
	must(t, s.CreateSession(ctx, ss, hash("s1-0")))
	if got := ok(s.GetSession(ctx, "s1"))(t); !slices.Equal(got.AMR, ss.AMR) {
		t.Fatalf("amr %v", got.AMR)
	}
	rotated := ok(s.RotateRefresh(ctx, hash("s1-0"), hash("s1-1"), "", at(time.Minute), at(time.Hour)))(t)
	if !slices.Equal(rotated.AMR, ss.AMR) {
		t.Fatalf("amr after refresh %v", rotated.AMR)
	}
	newSession(t, s, "s2", "user:u1")
	if got := ok(s.GetSession(ctx, "s2"))(t); got.AMR != nil {
		t.Fatalf("amr of a session without one %v", got.AMR)
	}
}

// testMFATenantKeepsMFARule: a tenant's MFA rule reads back, optional
// unless set.
func testMFATenantKeepsMFARule(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, user("u1", "a@x.example")))
	tn := tenant("t1", "acme")
	tn.MFA = ""
	must(t, s.CreateTenant(ctx, tn, identity.Membership{ActorID: "user:u1", Roles: []string{"owner"}, CreatedAt: at(0), UpdatedAt: at(0)}))
	if got := ok(s.GetTenant(ctx, "t1"))(t); got.MFA != identity.MFAOptional {
		t.Fatalf("default rule %q", got.MFA)
	}
	tn.MFA = identity.MFARequired
	must(t, s.UpdateTenant(ctx, tn))
	if got := ok(s.GetTenantBySlug(ctx, "acme"))(t); got.MFA != identity.MFARequired {
		t.Fatalf("rule %q", got.MFA)
	}
}

// testMFAReplaceRecoveryCodes: new codes work and the old ones, used or
// not, stop; a user without an active factor gets none.
func testMFAReplaceRecoveryCodes(t *testing.T, s store.Store) {
	ctx := t.Context()
	activeTOTP(t, s)
	ok(s.UseRecoveryCode(ctx, "u1", tokenHash("r1"), at(time.Hour)))(t)
	must(t, s.ReplaceRecoveryCodes(ctx, "u1", [][]byte{tokenHash("n1"), tokenHash("n2")}))
	for code, works := range map[string]bool{"r1": false, "r2": false, "n1": true, "n2": true} {
		if got := ok(s.UseRecoveryCode(ctx, "u1", tokenHash(code), at(time.Hour)))(t); got != works {
			t.Fatalf("code %s works = %v, want %v", code, got, works)
		}
	}
	must(t, s.CreateUser(ctx, user("u2", "b@x.example")))
	wantNotFound(t, s.ReplaceRecoveryCodes(ctx, "u2", [][]byte{tokenHash("n3")}), session.CodeTOTPNotEnrolled)
	must(t, s.PutPendingTOTP(ctx, pendingTOTP("u2", "k2")))
	wantNotFound(t, s.ReplaceRecoveryCodes(ctx, "u2", [][]byte{tokenHash("n3")}), session.CodeTOTPNotEnrolled)
}
