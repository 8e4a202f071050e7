package session_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/session"
)

var fullAMR = []string{"pwd", "otp", "mfa"}

func TestTwoStepSignInWithAnAuthenticatorApp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withMFA(t))
	w := newWorld(t, e)
	secret, _ := e.enrol(t, w.ann)

	ce := e.challenge(t, "ann@example.com", "beta")
	if ce.Enrol || !slices.Equal(ce.Factors, []string{"totp", "recovery_code"}) || ce.ExpiresIn != 5*time.Minute ||
		!strings.HasPrefix(ce.Token, identity.MFATokenPrefix) {
		t.Fatalf("challenge %+v", ce)
	}
	if e.outcomes.last() != "mfa_required" {
		t.Fatalf("outcome %q", e.outcomes.last())
	}
	code := e.code(t, secret, 0)
	tok, err := e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce.Token, Code: code[:3] + " " + code[3:], Client: session.Client{IP: "192.0.2.9"}})
	if err != nil {
		t.Fatal(err)
	}
	if tok.TenantID != w.beta.ID || !slices.Equal(tok.Roles, []string{"member"}) || !slices.Equal(tok.AMR, fullAMR) {
		t.Fatalf("tokens %+v", tok)
	}
	if c := e.claims(t, tok.AccessToken); !slices.Equal(c.AMR, fullAMR) {
		t.Fatalf("amr claim %v", c.AMR)
	}
	// The challenge is used; a code is used: neither works again.
	_, err = e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce.Token, Code: code})
	wantFault(t, err, fault.Unauthenticated, "invalid_mfa_token")
	_, err = e.svc.CompleteMFA(ctx, session.MFARequest{Token: e.challenge(t, "ann@example.com", "").Token, Code: code})
	wantFault(t, err, fault.Unauthenticated, "invalid_mfa_code")
	// Nor does the previous step's code once a later one was used.
	e.clock.Advance(30 * time.Second)
	ce = e.challenge(t, "ann@example.com", "")
	if _, err := e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce.Token, Code: e.code(t, secret, 0)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.CompleteMFA(ctx, session.MFARequest{Token: e.challenge(t, "ann@example.com", "").Token, Code: e.code(t, secret, -1)})
	wantFault(t, err, fault.Unauthenticated, "invalid_mfa_code")
	// A refresh keeps how the session was signed in.
	next, err := e.svc.Refresh(ctx, tok.RefreshToken, session.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if c := e.claims(t, next.AccessToken); !slices.Equal(c.AMR, fullAMR) {
		t.Fatalf("amr after refresh %v", c.AMR)
	}
	// Without a factor, a password is one factor.
	if tok := e.login(t, "bob@example.com", ""); !slices.Equal(tok.AMR, []string{"pwd"}) || !slices.Equal(e.claims(t, tok.AccessToken).AMR, []string{"pwd"}) {
		t.Fatalf("password-only amr %v", tok.AMR)
	}
}

func TestSecondFactorRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withMFA(t))
	w := newWorld(t, e)
	secret, _ := e.enrol(t, w.ann)
	cases := []struct {
		name string
		// req builds the request from a fresh challenge.
		req        func(token string) session.MFARequest
		kind       fault.Kind
		code       string
		chargedOne bool
	}{
		{"no code", func(tok string) session.MFARequest { return session.MFARequest{Token: tok} }, fault.Invalid, "invalid_mfa_code", false},
		{"both a code and a recovery code", func(tok string) session.MFARequest {
			return session.MFARequest{Token: tok, Code: "123456", RecoveryCode: "aaaa-aaaa-aaaa-aaaa"}
		}, fault.Invalid, "invalid_mfa_code", false},
		{"malformed code", func(tok string) session.MFARequest { return session.MFARequest{Token: tok, Code: "12345x"} }, fault.Invalid, "invalid_mfa_code", false},
		{"oversized code", func(tok string) session.MFARequest {
			return session.MFARequest{Token: tok, Code: strings.Repeat(" ", 100) + "123456"}
		}, fault.Invalid, "invalid_mfa_code", false},
		{"malformed recovery code", func(tok string) session.MFARequest {
			return session.MFARequest{Token: tok, RecoveryCode: "not-a-recovery-code!"}
		}, fault.Invalid, "invalid_mfa_code", false},
		{"malformed token", func(string) session.MFARequest { return session.MFARequest{Token: "tgmfa_short", Code: "123456"} }, fault.Invalid, "invalid_mfa_token", false},
		{"unknown token", func(string) session.MFARequest {
			return session.MFARequest{Token: identity.MFATokenPrefix + strings.Repeat("A", 43), Code: "123456"}
		}, fault.Unauthenticated, "invalid_mfa_token", false},
		{"wrong code", func(tok string) session.MFARequest {
			return session.MFARequest{Token: tok, Code: wrongCode(e.code(t, secret, 0))}
		}, fault.Unauthenticated, "invalid_mfa_code", true},
		{"code far from now", func(tok string) session.MFARequest {
			return session.MFARequest{Token: tok, Code: e.code(t, secret, 3)}
		}, fault.Unauthenticated, "invalid_mfa_code", true},
		{"unknown recovery code", func(tok string) session.MFARequest {
			return session.MFARequest{Token: tok, RecoveryCode: "aaaa-aaaa-aaaa-aaaa"}
		}, fault.Unauthenticated, "invalid_mfa_code", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ce := e.challenge(t, "ann@example.com", "")
			before := len(e.throttle.all())
			req := c.req(ce.Token)
			req.Client.IP = "192.0.2.9"
			_, err := e.svc.CompleteMFA(ctx, req)
			wantFault(t, err, c.kind, c.code)
			calls := e.throttle.all()[before:]
			charged := slices.ContainsFunc(calls, func(tc throttleCall) bool { return tc.what == "failed" && tc.ip == "192.0.2.9" })
			if charged != c.chargedOne {
				t.Fatalf("throttle calls %v, charged %v want %v", calls, charged, c.chargedOne)
			}
		})
	}

	t.Run("a few wrong codes burn the challenge", func(t *testing.T) {
		ce := e.challenge(t, "ann@example.com", "")
		for range 5 {
			_, err := e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce.Token, Code: wrongCode(e.code(t, secret, 0))})
			wantFault(t, err, fault.Unauthenticated, "invalid_mfa_code")
		}
		_, err := e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce.Token, Code: e.code(t, secret, 0)})
		wantFault(t, err, fault.Unauthenticated, "invalid_mfa_token")
	})
	t.Run("an expired challenge", func(t *testing.T) {
		ce := e.challenge(t, "ann@example.com", "")
		e.clock.Advance(5 * time.Minute)
		_, err := e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce.Token, Code: e.code(t, secret, 0)})
		wantFault(t, err, fault.Unauthenticated, "invalid_mfa_token")
	})
	t.Run("the throttle refuses before the code is checked", func(t *testing.T) {
		ce := e.challenge(t, "ann@example.com", "")
		e.throttle.set(true)
		defer e.throttle.set(false)
		_, err := e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce.Token, Code: e.code(t, secret, 0)})
		wantFault(t, err, fault.RateLimited, "quota_exceeded")
	})
	t.Run("a disabled user's challenge", func(t *testing.T) {
		ce := e.challenge(t, "ann@example.com", "")
		e.setUserStatus(t, w.ann.ID, identity.UserDisabled)
		defer e.setUserStatus(t, w.ann.ID, identity.UserActive)
		_, err := e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce.Token, Code: e.code(t, secret, 0)})
		wantFault(t, err, fault.Unauthenticated, "invalid_mfa_token")
	})
}

func TestRecoveryCodesWorkOnceEach(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withMFA(t))
	w := newWorld(t, e)
	_, codes := e.enrol(t, w.ann)
	if len(codes) != 10 || len(slices.Compact(slices.Sorted(slices.Values(codes)))) != 10 {
		t.Fatalf("codes %v", codes)
	}
	for _, c := range codes {
		if len(c) != 19 || strings.Count(c, "-") != 3 {
			t.Fatalf("code %q", c)
		}
	}
	tok, err := e.svc.CompleteMFA(ctx, session.MFARequest{Token: e.challenge(t, "ann@example.com", "").Token, RecoveryCode: codes[0]})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tok.AMR, fullAMR) {
		t.Fatalf("amr %v", tok.AMR)
	}
	_, err = e.svc.CompleteMFA(ctx, session.MFARequest{Token: e.challenge(t, "ann@example.com", "").Token, RecoveryCode: codes[0]})
	wantFault(t, err, fault.Unauthenticated, "invalid_mfa_code")
	// Case, dashes and spaces do not matter.
	loose := strings.ToUpper(strings.ReplaceAll(codes[1], "-", " "))
	if _, err := e.svc.CompleteMFA(ctx, session.MFARequest{Token: e.challenge(t, "ann@example.com", "").Token, RecoveryCode: loose}); err != nil {
		t.Fatal(err)
	}
	// One event per code used, none for the wrong one.
	evs, err := e.st.ReadAudit(ctx, "", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	used := 0
	for _, ev := range evs {
		if ev.Action == audit.ActionMFARecoveryUse {
			used++
			if ev.TargetID != w.ann.ActorID() {
				t.Fatalf("event %+v", ev)
			}
		}
	}
	if used != 2 {
		t.Fatalf("%d recovery events, want 2", used)
	}
}

func TestEnrolmentRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withMFA(t))
	newWorld(t, e)
	ac := actor(e.login(t, "bob@example.com", ""))

	_, err := e.svc.ConfirmTOTP(ctx, ac, "123456")
	wantFault(t, err, fault.NotFound, "totp_not_enrolled")
	first, err := e.svc.StartTOTP(ctx, ac)
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.svc.StartTOTP(ctx, ac)
	if err != nil {
		t.Fatal(err)
	}
	if first.Secret == second.Secret {
		t.Fatal("a new enrolment kept the secret")
	}
	// The replaced enrolment's app no longer confirms.
	if e.code(t, first.Secret, 0) != e.code(t, second.Secret, 0) {
		_, err = e.svc.ConfirmTOTP(ctx, ac, e.code(t, first.Secret, 0))
		wantFault(t, err, fault.Forbidden, "invalid_mfa_code")
	}
	_, err = e.svc.ConfirmTOTP(ctx, ac, "12 34")
	wantFault(t, err, fault.Invalid, "invalid_mfa_code")
	if _, err := e.svc.ConfirmTOTP(ctx, ac, e.code(t, second.Secret, 0)); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.StartTOTP(ctx, ac)
	wantFault(t, err, fault.Conflict, "totp_already_enabled")
	_, err = e.svc.ConfirmTOTP(ctx, ac, e.code(t, second.Secret, 0))
	wantFault(t, err, fault.Conflict, "totp_already_enabled")

	// Only the user, in a session, manages their factors.
	key := ac
	key.Credential, key.SessionID, key.CredentialID = identity.CredentialAPIKey, "", "k1"
	_, err = e.svc.StartTOTP(ctx, key)
	wantFault(t, err, fault.Forbidden, "session_required")
	err = e.svc.DisableTOTP(ctx, key, "", testPassword, session.Client{})
	wantFault(t, err, fault.Forbidden, "session_required")

	// A service without second factors refuses them.
	plain := newEnv(t)
	plainW := newWorld(t, plain)
	_, err = plain.svc.StartTOTP(ctx, actor(plain.login(t, plainW.ann.Email, "")))
	wantFault(t, err, fault.Forbidden, "mfa_unavailable")
}

func TestDisableTOTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withMFA(t))
	w := newWorld(t, e)
	secret, codes := e.enrol(t, w.ann)
	tok, err := e.svc.CompleteMFA(ctx, session.MFARequest{Token: e.challenge(t, "ann@example.com", "").Token, RecoveryCode: codes[0]})
	if err != nil {
		t.Fatal(err)
	}
	ac := actor(tok)
	c := session.Client{IP: "192.0.2.5"}
	for _, r := range []struct {
		name, code, password string
		kind                 fault.Kind
		want                 string
	}{
		{"neither", "", "", fault.Invalid, "invalid_mfa_code"},
		{"both", "123456", testPassword, fault.Invalid, "invalid_mfa_code"},
		{"malformed code", "abc", "", fault.Invalid, "invalid_mfa_code"},
		{"wrong code", wrongCode(e.code(t, secret, 0)), "", fault.Forbidden, "invalid_mfa_code"},
		{"wrong password", "", "not the password", fault.Forbidden, "wrong_password"},
	} {
		t.Run(r.name, func(t *testing.T) {
			wantFault(t, e.svc.DisableTOTP(ctx, ac, r.code, r.password, c), r.kind, r.want)
		})
	}
	if err := e.svc.DisableTOTP(ctx, ac, e.code(t, secret, 0), "", c); err != nil {
		t.Fatal(err)
	}
	wantFault(t, e.svc.DisableTOTP(ctx, ac, "", testPassword, c), fault.NotFound, "totp_not_enrolled")
	// The password alone signs in again, and the recovery codes are gone.
	if tok := e.login(t, "ann@example.com", ""); !slices.Equal(tok.AMR, []string{"pwd"}) {
		t.Fatalf("amr %v", tok.AMR)
	}
	// A new enrolment's codes replace the old ones.
	_, _ = e.enrol(t, w.ann)
	_, err = e.svc.CompleteMFA(ctx, session.MFARequest{Token: e.challenge(t, "ann@example.com", "").Token, RecoveryCode: codes[1]})
	wantFault(t, err, fault.Unauthenticated, "invalid_mfa_code")
	evs, err := e.st.ReadAudit(ctx, "", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, ev := range evs {
		if strings.HasPrefix(ev.Action, "mfa.") {
			acts = append(acts, ev.Action)
		}
	}
	want := []string{"mfa.enrol_start", "mfa.enrol", "mfa.recovery_code_use", "mfa.disable", "mfa.enrol_start", "mfa.enrol"}
	if !slices.Equal(acts, want) {
		t.Fatalf("acts %v, want %v", acts, want)
	}
}

func TestTenantThatRequiresMFA(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withMFA(t))
	w := newWorld(t, e)
	// ann, who has no factor yet, holds a password-only session in beta.
	old := e.login(t, "ann@example.com", "beta")
	e.requireMFA(t, w.beta)

	// Entering beta needs a factor ann has not got: she is told to enrol.
	ce := e.challenge(t, "ann@example.com", "beta")
	if !ce.Enrol || len(ce.Factors) != 0 {
		t.Fatalf("challenge %+v", ce)
	}
	wantFault(t, ce, fault.Forbidden, "mfa_enrollment_required")
	// Other tenants still open with the password alone.
	if tok := e.login(t, "ann@example.com", "alpha"); tok.TenantID != w.alpha.ID {
		t.Fatalf("tenant %q", tok.TenantID)
	}
	// Her old session leaves beta at its next refresh, and cannot switch
	// back.
	next, err := e.svc.Refresh(ctx, old.RefreshToken, session.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if next.TenantID != "" {
		t.Fatalf("refreshed into %q", next.TenantID)
	}
	_, err = e.svc.SwitchTenant(ctx, actor(next), w.beta.ID, session.Client{})
	wantFault(t, err, fault.Forbidden, "mfa_required")

	// The enrolment challenge does not sign in by itself.
	_, err = e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce.Token, Code: "123456"})
	wantFault(t, err, fault.Unauthenticated, "invalid_mfa_token")
	en, err := e.svc.StartTOTPEnrolment(ctx, ce.Token)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.ConfirmTOTPEnrolment(ctx, ce.Token, wrongCode(e.code(t, en.Secret, 0)), session.Client{IP: "192.0.2.9"})
	wantFault(t, err, fault.Unauthenticated, "invalid_mfa_code")
	tok, codes, err := e.svc.ConfirmTOTPEnrolment(ctx, ce.Token, e.code(t, en.Secret, 0), session.Client{IP: "192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	if tok.TenantID != w.beta.ID || !slices.Equal(tok.AMR, fullAMR) || len(codes) != 10 {
		t.Fatalf("tokens %+v, %d codes", tok, len(codes))
	}
	_, _, err = e.svc.ConfirmTOTPEnrolment(ctx, ce.Token, e.code(t, en.Secret, 0), session.Client{})
	wantFault(t, err, fault.Unauthenticated, "invalid_mfa_token")
	// A challenge to give a factor does not enrol one.
	e.clock.Advance(30 * time.Second)
	_, err = e.svc.StartTOTPEnrolment(ctx, e.challenge(t, "ann@example.com", "beta").Token)
	wantFault(t, err, fault.Unauthenticated, "invalid_mfa_token")
	// With the factor, an MFA session switches into beta.
	mfa, err := e.svc.CompleteMFA(ctx, session.MFARequest{Token: e.challenge(t, "ann@example.com", "alpha").Token, Code: e.code(t, en.Secret, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if sw, err := e.svc.SwitchTenant(ctx, actor(mfa), w.beta.ID, session.Client{}); err != nil || sw.TenantID != w.beta.ID || !slices.Equal(sw.AMR, fullAMR) {
		t.Fatalf("switch: %+v, %v", sw, err)
	}
}

// TestSecondFactorAudit: a challenge records nothing; a wrong code is a
// failed sign-in of the user; the completed sign-in is one success
// naming how it was made.
func TestSecondFactorAudit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withMFA(t), withAudit)
	w := newWorld(t, e)
	secret, _ := e.enrol(t, w.ann)
	e.take()
	ce := e.challenge(t, "ann@example.com", "alpha")
	if evs := e.rec.Take(); len(evs) != 0 {
		t.Fatalf("a challenge recorded %+v", evs)
	}
	_, err := e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce.Token, Code: wrongCode(e.code(t, secret, 0))})
	wantFault(t, err, fault.Unauthenticated, "invalid_mfa_code")
	tok, err := e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce.Token, Code: e.code(t, secret, 0)})
	if err != nil {
		t.Fatal(err)
	}
	evs := e.rec.Take()
	if len(evs) != 2 {
		t.Fatalf("events %+v", evs)
	}
	if f := evs[0]; f.Action != audit.ActionSessionLogin || f.Outcome != audit.Failure || f.Reason != session.ReasonBadMFACode || f.TargetID != w.ann.ActorID() {
		t.Fatalf("failure %+v", f)
	}
	if s := evs[1]; s.Action != audit.ActionSessionLogin || s.Outcome != audit.Success || s.TenantID != w.alpha.ID ||
		s.CredentialID != tok.SessionID || s.Detail["amr"] != "pwd otp mfa" {
		t.Fatalf("success %+v", s)
	}
}
