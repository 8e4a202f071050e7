package session_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/tollgate/tollgate/audit/audittest"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/token"
)

// withMFA gives the service its second factors, over the env's store.
func withMFA(t *testing.T) func(*env, *session.Deps) {
	return func(e *env, d *session.Deps) {
		sealer, err := token.NewSealer(make([]byte, token.MasterKeySize))
		if err != nil {
			t.Fatal(err)
		}
		d.MFA = session.MFAOptions{Store: e.st, Sealer: sealer}
	}
}

// withAudit queues the service's audit events in e.rec.
func withAudit(e *env, d *session.Deps) {
	e.rec = &audittest.Queue{}
	d.Audit = e.rec
}

// code is what an authenticator app with secret shows at the env's time,
// steps steps of 30 s later.
func (e *env) code(t *testing.T, secret string, steps int) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, e.clock.Now().Add(time.Duration(steps)*30*time.Second),
		totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrongCode is a well-formed code that differs from right.
func wrongCode(right string) string {
	b := []byte(right)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

// enrol gives u an authenticator app, signed in, and returns its secret
// and recovery codes. The clock moves on a step, so that the next code
// is not the confirming one.
func (e *env) enrol(t *testing.T, u identity.User) (string, []string) {
	t.Helper()
	ctx := context.Background()
	ac := actor(e.login(t, u.Email, ""))
	en, err := e.svc.StartTOTP(ctx, ac)
	if err != nil {
		t.Fatal(err)
	}
	uri, err := url.Parse(en.URI)
	if err != nil || uri.Scheme != "otpauth" || uri.Query().Get("secret") != en.Secret {
		t.Fatalf("otpauth URI %q: %v", en.URI, err)
	}
	codes, err := e.svc.ConfirmTOTP(ctx, ac, e.code(t, en.Secret, 0))
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	return en.Secret, codes
}

// challenge signs u in with the password and returns the challenge.
func (e *env) challenge(t *testing.T, email, tenant string) *session.ChallengeError {
	t.Helper()
	_, err := e.svc.Login(context.Background(), session.LoginRequest{Email: email, Password: testPassword, Tenant: tenant, Client: session.Client{IP: "192.0.2.9"}})
	var ce *session.ChallengeError
	if !errors.As(err, &ce) {
		t.Fatalf("login: %v, want a challenge", err)
	}
	return ce
}

func (e *env) requireMFA(t *testing.T, tn identity.Tenant) {
	t.Helper()
	tn, err := e.st.GetTenant(context.Background(), tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	tn.MFA = identity.MFARequired
	if err := e.st.UpdateTenant(context.Background(), tn); err != nil {
		t.Fatal(err)
	}
}
