package session_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/internal/passkeytest"
	"github.com/tollgate/tollgate/session"
)

// The relying party of these tests: a front end at app.tollgate.test.
const (
	rpID     = "tollgate.test"
	rpOrigin = "https://app.tollgate.test"
)

// withPasskeys gives the service second factors and passkeys.
func withPasskeys(t *testing.T) func(*env, *session.Deps) {
	return func(e *env, d *session.Deps) {
		withMFA(t)(e, d)
		rp, err := session.NewRelyingParty(rpID, "Tollgate", []string{rpOrigin})
		if err != nil {
			t.Fatal(err)
		}
		d.Passkeys = session.PasskeyOptions{Store: e.st, RP: rp}
	}
}

// asJSON is options as the HTTP API sends them to the browser.
func asJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// register gives the session ac a new passkey held by a fresh
// authenticator, and returns both.
func (e *env) register(t *testing.T, ac identity.ActorContext, name string) (*passkeytest.Authenticator, session.Passkey) {
	t.Helper()
	a := passkeytest.New(rpOrigin)
	p, err := e.registerWith(ac, a, name)
	if err != nil {
		t.Fatalf("registering a passkey: %v", err)
	}
	return a, p
}

func (e *env) registerWith(ac identity.ActorContext, a *passkeytest.Authenticator, name string) (session.Passkey, error) {
	ctx := context.Background()
	opts, err := e.svc.BeginPasskeyRegistration(ctx, ac)
	if err != nil {
		return session.Passkey{}, err
	}
	b, _ := json.Marshal(opts)
	resp, err := a.Register(b)
	if err != nil {
		return session.Passkey{}, err
	}
	return e.svc.FinishPasskeyRegistration(ctx, ac, name, resp)
}

// passwordless begins a passwordless sign-in and answers it with a.
func (e *env) passwordless(t *testing.T, a *passkeytest.Authenticator) []byte {
	t.Helper()
	opts, err := e.svc.BeginPasskeyLogin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Assert(asJSON(t, opts))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// mfaAnswer begins the passkey ceremony of a challenge and answers it
// with a.
func (e *env) mfaAnswer(t *testing.T, token string, a *passkeytest.Authenticator) []byte {
	t.Helper()
	opts, err := e.svc.BeginPasskeyMFA(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Assert(asJSON(t, opts))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
