package session_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/internal/passkeytest"
	"github.com/tollgate/tollgate/session"
)

func TestPasskeyRegistrationListRenameDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withPasskeys(t))
	w := newWorld(t, e)
	ac := actor(e.login(t, "ann@example.com", ""))
	a, p := e.register(t, ac, "  Laptop  ")
	if p.Name != "Laptop" || !bytes.Equal(p.CredentialID, a.CredentialID) || p.UserID != w.ann.ID || p.SignCount != 0 ||
		!p.UserVerified || p.BackupEligible || p.AttestationType != "none" || !slices.Equal(p.Transports, []string{"internal"}) {
		t.Fatalf("passkey %+v", p)
	}
	if !bytes.Equal(a.UserHandle, []byte(w.ann.ID)) {
		t.Fatalf("user handle %q, want the user id", a.UserHandle)
	}
	e.clock.Advance(time.Second)
	_, unnamed := e.register(t, ac, "")
	list, err := e.svc.ListPasskeys(ctx, ac)
	if err != nil || len(list) != 2 || list[0].ID != p.ID || list[1].Name != "Passkey" {
		t.Fatalf("list %+v, %v", list, err)
	}
	// One authenticator credential is one passkey.
	_, err = e.registerWith(ac, a, "again")
	wantFault(t, err, fault.Conflict, "passkey_exists")

	r, err := e.svc.RenamePasskey(ctx, ac, unnamed.ID, "Phone")
	if err != nil || r.Name != "Phone" {
		t.Fatalf("rename %+v, %v", r, err)
	}
	for _, name := range []string{string(make([]byte, 65)), "tab\there", "new\nline"} {
		_, err = e.svc.RenamePasskey(ctx, ac, unnamed.ID, name)
		wantFault(t, err, fault.Invalid, "invalid_passkey_name")
	}

	// Removing takes proof of presence; a wrong one counts as a failed
	// sign-in.
	err = e.svc.DeletePasskey(ctx, ac, p.ID, session.Reauth{Password: "wrong password"}, session.Client{IP: "192.0.2.7"})
	wantFault(t, err, fault.Forbidden, "wrong_password")
	if calls := e.throttle.all(); calls[len(calls)-1].what != "failed" {
		t.Fatalf("throttle %+v", calls)
	}
	err = e.svc.DeletePasskey(ctx, ac, p.ID, session.Reauth{}, session.Client{})
	wantFault(t, err, fault.Invalid, "invalid_mfa_code")
	err = e.svc.DeletePasskey(ctx, ac, p.ID, session.Reauth{Password: testPassword, Code: "123456"}, session.Client{})
	wantFault(t, err, fault.Invalid, "invalid_mfa_code")
	if err := e.svc.DeletePasskey(ctx, ac, p.ID, session.Reauth{Password: testPassword}, session.Client{}); err != nil {
		t.Fatal(err)
	}
	err = e.svc.DeletePasskey(ctx, ac, p.ID, session.Reauth{Password: testPassword}, session.Client{})
	wantFault(t, err, fault.NotFound, "passkey_not_found")

	// By a passkey's answer to a re-authentication ceremony.
	other, third := e.register(t, ac, "Key")
	opts, err := e.svc.BeginPasskeyReauth(ctx, ac)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := other.Assert(asJSON(t, opts))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeletePasskey(ctx, ac, unnamed.ID, session.Reauth{Passkey: answer}, session.Client{}); err != nil {
		t.Fatal(err)
	}
	// The ceremony is used: the same answer removes nothing more.
	err = e.svc.DeletePasskey(ctx, ac, third.ID, session.Reauth{Passkey: answer}, session.Client{})
	wantFault(t, err, fault.Forbidden, "invalid_passkey")

	evs, err := e.st.ReadAudit(ctx, "", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, ev := range evs {
		if ev.TargetID == w.ann.ActorID() && ev.Detail["factor"] == "webauthn" {
			count[ev.Action]++
		}
	}
	if count[audit.ActionMFAPasskeyRegister] != 3 || count[audit.ActionMFAPasskeyDelete] != 2 {
		t.Fatalf("audit events %v", count)
	}
}

func TestPasskeysBelongToASessionOfTheirOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withPasskeys(t))
	w := newWorld(t, e)
	ann := actor(e.login(t, "ann@example.com", ""))
	bob := actor(e.login(t, "bob@example.com", ""))
	_, bobs := e.register(t, bob, "Bob's")

	// Another user's passkey, in another tenant, is not there for ann.
	_, err := e.svc.RenamePasskey(ctx, ann, bobs.ID, "mine")
	wantFault(t, err, fault.NotFound, "passkey_not_found")
	err = e.svc.DeletePasskey(ctx, ann, bobs.ID, session.Reauth{Password: testPassword}, session.Client{})
	wantFault(t, err, fault.NotFound, "passkey_not_found")
	_, err = e.svc.RenamePasskey(ctx, ann, "not-an-id", "x")
	wantFault(t, err, fault.NotFound, "passkey_not_found")
	if list, _ := e.svc.ListPasskeys(ctx, ann); len(list) != 0 {
		t.Fatalf("ann sees %+v", list)
	}
	// A key or a delegated token manages no passkey.
	key := ann
	key.Credential, key.SessionID = identity.CredentialAPIKey, ""
	_, err = e.svc.BeginPasskeyRegistration(ctx, key)
	wantFault(t, err, fault.Forbidden, "session_required")
	_, err = e.svc.ListPasskeys(ctx, key)
	wantFault(t, err, fault.Forbidden, "session_required")
	_ = w
}

func TestPasskeyRegistrationRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withPasskeys(t))
	newWorld(t, e)
	ac := actor(e.login(t, "ann@example.com", ""))
	other := actor(e.login(t, "ann@example.com", ""))
	bob := actor(e.login(t, "bob@example.com", ""))

	answer := func(a *passkeytest.Authenticator, in identity.ActorContext) []byte {
		opts, err := e.svc.BeginPasskeyRegistration(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := a.Register(asJSON(t, opts))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	phish := passkeytest.New("https://app.tollgate-login.example")
	wrongRP := passkeytest.New(rpOrigin)
	wrongRP.RPID = "tollgate-login.example"
	replayed := answer(passkeytest.New(rpOrigin), ac)
	if _, err := e.svc.FinishPasskeyRegistration(ctx, ac, "", replayed); err != nil {
		t.Fatal(err)
	}
	expired := answer(passkeytest.New(rpOrigin), ac)
	cases := []struct {
		name string
		as   identity.ActorContext
		resp func() []byte
		kind fault.Kind
		code string
	}{
		{"wrong origin", ac, func() []byte { return answer(phish, ac) }, fault.Forbidden, "invalid_passkey"},
		{"wrong relying party", ac, func() []byte { return answer(wrongRP, ac) }, fault.Forbidden, "invalid_passkey"},
		{"replayed", ac, func() []byte { return replayed }, fault.Forbidden, "invalid_passkey"},
		{"another session's ceremony", other, func() []byte { return answer(passkeytest.New(rpOrigin), ac) }, fault.Forbidden, "invalid_passkey"},
		{"another user's ceremony", bob, func() []byte { return answer(passkeytest.New(rpOrigin), ac) }, fault.Forbidden, "invalid_passkey"},
		{"expired", ac, func() []byte { e.clock.Advance(6 * time.Minute); return expired }, fault.Forbidden, "invalid_passkey"},
		{"oversized", ac, func() []byte { return bytes.Repeat([]byte(" "), 16<<10+1) }, fault.Invalid, "invalid_passkey"},
		{"not JSON", ac, func() []byte { return []byte("{") }, fault.Invalid, "invalid_passkey"},
		{"empty", ac, func() []byte { return nil }, fault.Invalid, "invalid_passkey"},
	}
	for _, c := range cases {
		_, err := e.svc.FinishPasskeyRegistration(ctx, c.as, "", c.resp())
		if fe := public(err); fe.Kind != c.kind || string(fe.Code) != c.code {
			t.Errorf("%s: %v, want %s %s", c.name, err, c.kind, c.code)
		}
	}
	if list, _ := e.svc.ListPasskeys(ctx, ac); len(list) != 1 {
		t.Fatalf("passkeys %d, want the one registered", len(list))
	}
}

func TestPasskeysPerUserAreCapped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withPasskeys(t))
	newWorld(t, e)
	ac := actor(e.login(t, "ann@example.com", ""))
	for i := range session.MaxPasskeysPerUser {
		e.register(t, ac, fmt.Sprint("key ", i))
	}
	_, err := e.svc.BeginPasskeyRegistration(ctx, ac)
	wantFault(t, err, fault.Conflict, "passkey_limit")
}

func TestPasskeyAsSecondFactor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withPasskeys(t))
	w := newWorld(t, e)
	a, _ := e.register(t, actor(e.login(t, "ann@example.com", "")), "Laptop")

	ce := e.challenge(t, "ann@example.com", "beta")
	if !slices.Equal(ce.Factors, []string{"webauthn"}) {
		t.Fatalf("factors %v", ce.Factors)
	}
	answer := e.mfaAnswer(t, ce.Token, a)
	tok, err := e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce.Token, Passkey: answer, Client: session.Client{IP: "192.0.2.9"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"pwd", "hwk", "mfa"}
	if tok.TenantID != w.beta.ID || !slices.Equal(tok.AMR, want) || !slices.Equal(e.claims(t, tok.AccessToken).AMR, want) {
		t.Fatalf("tokens %+v", tok)
	}
	// The answer is used up, and bound to its challenge.
	ce2 := e.challenge(t, "ann@example.com", "")
	_, err = e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce2.Token, Passkey: answer})
	wantFault(t, err, fault.Unauthenticated, "invalid_passkey")
	// Another challenge's ceremony does not finish this one.
	ce3 := e.challenge(t, "ann@example.com", "")
	_, err = e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce2.Token, Passkey: e.mfaAnswer(t, ce3.Token, a)})
	wantFault(t, err, fault.Unauthenticated, "invalid_passkey")
	// Bob's passkey is not ann's second factor.
	bobKey, _ := e.register(t, actor(e.login(t, "bob@example.com", "")), "Bob's")
	ce4 := e.challenge(t, "ann@example.com", "")
	_, err = e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce4.Token, Passkey: e.mfaAnswer(t, ce4.Token, bobKey)})
	wantFault(t, err, fault.Unauthenticated, "invalid_passkey")
	// One of code, recovery code and passkey.
	_, err = e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce4.Token, Passkey: answer, Code: "123456"})
	wantFault(t, err, fault.Invalid, "invalid_mfa_code")
	_, err = e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce4.Token, Passkey: bytes.Repeat([]byte("x"), 16<<10+1)})
	wantFault(t, err, fault.Invalid, "invalid_passkey")

	// A synced passkey is a software-secured key; with an app too, every
	// factor is offered.
	synced := passkeytest.New(rpOrigin)
	synced.Synced = true
	carl := actor(e.login(t, "carl@example.com", ""))
	e.enrol(t, w.carl)
	if _, err := e.registerWith(carl, synced, "Phone"); err != nil {
		t.Fatal(err)
	}
	ce5 := e.challenge(t, "carl@example.com", "")
	if !slices.Equal(ce5.Factors, []string{"totp", "recovery_code", "webauthn"}) {
		t.Fatalf("factors %v", ce5.Factors)
	}
	tok, err = e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce5.Token, Passkey: e.mfaAnswer(t, ce5.Token, synced)})
	if err != nil || !slices.Equal(tok.AMR, []string{"pwd", "swk", "mfa"}) {
		t.Fatalf("synced passkey: %+v, %v", tok.AMR, err)
	}
}

func TestPasskeyCounterGoingBackwardsIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withPasskeys(t))
	newWorld(t, e)
	a, _ := e.register(t, actor(e.login(t, "ann@example.com", "")), "Key")
	if _, err := e.svc.FinishPasskeyLogin(ctx, session.PasskeyLoginRequest{Credential: e.passwordless(t, a)}); err != nil {
		t.Fatal(err)
	}
	// A clone of the key signs with the counter it had.
	a.Count = 0
	_, err := e.svc.FinishPasskeyLogin(ctx, session.PasskeyLoginRequest{Credential: e.passwordless(t, a)})
	wantFault(t, err, fault.Unauthenticated, "invalid_passkey")
	ce := e.challenge(t, "ann@example.com", "")
	a.Count = 0
	_, err = e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce.Token, Passkey: e.mfaAnswer(t, ce.Token, a)})
	wantFault(t, err, fault.Unauthenticated, "invalid_passkey")
	if !e.logs.has(slog.LevelWarn, "passkey counter did not advance: refusing a possibly cloned authenticator") {
		t.Fatal("no warning logged")
	}
	// The original, ahead of the clone, still works.
	a.Count = 5
	if _, err := e.svc.FinishPasskeyLogin(ctx, session.PasskeyLoginRequest{Credential: e.passwordless(t, a)}); err != nil {
		t.Fatal(err)
	}
	// An authenticator that does not count always sends 0, and is let be.
	still := passkeytest.New(rpOrigin)
	still.Counting = false
	if _, err := e.registerWith(actor(e.login(t, "bob@example.com", "")), still, "Key"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := e.svc.FinishPasskeyLogin(ctx, session.PasskeyLoginRequest{Credential: e.passwordless(t, still)}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPasswordlessSignIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withPasskeys(t), withAudit)
	w := newWorld(t, e)
	a, _ := e.register(t, actor(e.login(t, "ann@example.com", "")), "Key")
	// It satisfies a tenant that requires MFA.
	e.requireMFA(t, w.beta)
	e.take()
	tok, err := e.svc.FinishPasskeyLogin(ctx, session.PasskeyLoginRequest{Credential: e.passwordless(t, a), Tenant: "beta", Client: session.Client{IP: "192.0.2.9"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"hwk", "mfa"}
	if tok.ActorID != w.ann.ActorID() || tok.TenantID != w.beta.ID || !slices.Equal(tok.AMR, want) || !slices.Equal(e.claims(t, tok.AccessToken).AMR, want) {
		t.Fatalf("tokens %+v", tok)
	}
	if e.outcomes.last() != "success" {
		t.Fatalf("outcome %q", e.outcomes.last())
	}
	evs := e.rec.Take()
	if len(evs) != 1 || evs[0].Action != audit.ActionSessionLogin || evs[0].Outcome != audit.Success || evs[0].Detail["amr"] != "hwk mfa" {
		t.Fatalf("audit %+v", evs)
	}
	calls := e.throttle.all()
	if last := calls[len(calls)-1]; last.what != "succeeded" || last.ip != "192.0.2.9" {
		t.Fatalf("throttle %+v", calls)
	}
	// A tenant ann is not in is refused as at Login.
	_, err = e.svc.FinishPasskeyLogin(ctx, session.PasskeyLoginRequest{Credential: e.passwordless(t, a), Tenant: "gamma"})
	wantFault(t, err, fault.Forbidden, "tenant_access_denied")
}

func TestPasswordlessFailuresLookAlike(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withPasskeys(t), withAudit)
	w := newWorld(t, e)
	ann, _ := e.register(t, actor(e.login(t, "ann@example.com", "")), "Key")
	hank, _ := e.register(t, actor(e.login(t, "hank@example.com", "")), "Key")
	e.setUserStatus(t, w.hank.ID, identity.UserDisabled)
	replayed := e.passwordless(t, ann)
	if _, err := e.svc.FinishPasskeyLogin(ctx, session.PasskeyLoginRequest{Credential: replayed}); err != nil {
		t.Fatal(err)
	}
	// assert answers a fresh ceremony with a after edit, then undoes it.
	assert := func(a *passkeytest.Authenticator, edit func(a *passkeytest.Authenticator)) []byte {
		saved := *a
		edit(a)
		resp := e.passwordless(t, a)
		count := a.Count
		*a = saved
		a.Count = count
		return resp
	}
	cases := []struct {
		name, reason string
		resp         func() []byte
	}{
		{"unknown user", "unknown_account", func() []byte {
			return assert(ann, func(a *passkeytest.Authenticator) { a.UserHandle = []byte("01JNOSUCHUSER0000000000000") })
		}},
		{"another user's handle", "bad_passkey", func() []byte {
			return assert(ann, func(a *passkeytest.Authenticator) { a.UserHandle = []byte(w.bob.ID) })
		}},
		{"disabled user", "disabled", func() []byte { return e.passwordless(t, hank) }},
		{"wrong origin", "bad_passkey", func() []byte {
			return assert(ann, func(a *passkeytest.Authenticator) { a.Origin = "https://tollgate.test.evil.example" })
		}},
		{"user not verified", "bad_passkey", func() []byte {
			return assert(ann, func(a *passkeytest.Authenticator) { a.UserVerified = false })
		}},
		{"replayed", "bad_passkey", func() []byte { return replayed }},
		{"expired", "bad_passkey", func() []byte {
			resp := e.passwordless(t, ann)
			e.clock.Advance(6 * time.Minute)
			return resp
		}},
	}
	var first fault.Error
	for i, c := range cases {
		e.take()
		_, err := e.svc.FinishPasskeyLogin(ctx, session.PasskeyLoginRequest{Credential: c.resp(), Client: session.Client{IP: "192.0.2.9"}})
		got := public(err)
		if i == 0 {
			first = got
		}
		if got.Kind != fault.Unauthenticated || got.Code != "invalid_passkey" || got != first {
			t.Errorf("%s: %+v, want the same 401 invalid_passkey as every other", c.name, got)
		}
		if e.outcomes.last() != "invalid_credentials" {
			t.Errorf("%s: outcome %q", c.name, e.outcomes.last())
		}
		calls := e.throttle.all()
		if last := calls[len(calls)-1]; last.what != "failed" {
			t.Errorf("%s: throttle %+v", c.name, last)
		}
		evs := e.rec.Take()
		if len(evs) != 1 || evs[0].Outcome != audit.Failure || evs[0].Reason != c.reason {
			t.Errorf("%s: audit %+v", c.name, evs)
		}
	}
	// Malformed input is refused before anything is looked up.
	for name, in := range map[string][]byte{"oversized": bytes.Repeat([]byte(" "), 16<<10+1), "empty": nil, "not an assertion": []byte(`{"id":"x"}`)} {
		_, err := e.svc.FinishPasskeyLogin(ctx, session.PasskeyLoginRequest{Credential: in})
		if fe := public(err); fe.Kind != fault.Invalid || fe.Code != "invalid_passkey" {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The throttle refuses before any passkey is checked.
	e.throttle.set(true)
	_, err := e.svc.FinishPasskeyLogin(ctx, session.PasskeyLoginRequest{Credential: e.passwordless(t, ann)})
	if fault.KindOf(err) != fault.RateLimited {
		t.Fatalf("throttled: %v", err)
	}
}

func TestPasskeysOff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withMFA(t))
	newWorld(t, e)
	_, err := e.svc.BeginPasskeyLogin(ctx)
	wantFault(t, err, fault.Forbidden, "mfa_unavailable")
	_, err = e.svc.BeginPasskeyRegistration(ctx, actor(e.login(t, "ann@example.com", "")))
	wantFault(t, err, fault.Forbidden, "mfa_unavailable")
	b, _ := json.Marshal(map[string]string{"id": "x"})
	_, err = e.svc.FinishPasskeyLogin(ctx, session.PasskeyLoginRequest{Credential: b})
	wantFault(t, err, fault.Forbidden, "mfa_unavailable")
}

func TestPasskeyEnrolmentInATenantThatRequiresMFA(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withPasskeys(t))
	w := newWorld(t, e)
	e.requireMFA(t, w.beta)
	enrolWith := func(token string, a *passkeytest.Authenticator) []byte {
		opts, err := e.svc.BeginPasskeyEnrolment(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := a.Register(asJSON(t, opts))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// A phishing page's registration is refused and counted.
	ce := e.challenge(t, "ann@example.com", "beta")
	if !ce.Enrol {
		t.Fatalf("challenge %+v, want an enrolment", ce)
	}
	_, err := e.svc.ConfirmPasskeyEnrolment(ctx, ce.Token, "", enrolWith(ce.Token, passkeytest.New("https://tollgate.test.evil.example")), session.Client{})
	wantFault(t, err, fault.Unauthenticated, "invalid_passkey")
	if calls := e.throttle.all(); calls[len(calls)-1].what != "failed" {
		t.Fatalf("throttle %+v", calls)
	}

	a := passkeytest.New(rpOrigin)
	answer := enrolWith(ce.Token, a)
	tok, err := e.svc.ConfirmPasskeyEnrolment(ctx, ce.Token, "Laptop", answer, session.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if tok.TenantID != w.beta.ID || !slices.Equal(tok.AMR, []string{"pwd", "hwk", "mfa"}) {
		t.Fatalf("tokens %+v", tok)
	}
	// The challenge is used.
	_, err = e.svc.ConfirmPasskeyEnrolment(ctx, ce.Token, "Laptop", answer, session.Client{})
	wantFault(t, err, fault.Unauthenticated, "invalid_mfa_token")
	// From now on the passkey is asked for; a second-factor challenge
	// enrols nothing.
	ce = e.challenge(t, "ann@example.com", "beta")
	if ce.Enrol || !slices.Equal(ce.Factors, []string{"webauthn"}) {
		t.Fatalf("challenge %+v", ce)
	}
	_, err = e.svc.BeginPasskeyEnrolment(ctx, ce.Token)
	wantFault(t, err, fault.Unauthenticated, "invalid_mfa_token")
	if _, err := e.svc.CompleteMFA(ctx, session.MFARequest{Token: ce.Token, Passkey: e.mfaAnswer(t, ce.Token, a)}); err != nil {
		t.Fatal(err)
	}
}
