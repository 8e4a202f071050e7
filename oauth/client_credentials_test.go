package oauth_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/oauth"
	"github.com/tollgate/tollgate/secret"
	"github.com/tollgate/tollgate/serviceaccount"
)

// wantServiceToken fails unless resp is a service token of svc obtained
// with the client secret secretID, granting scope, issued now for tokenTTL.
func wantServiceToken(t *testing.T, e *env, resp oauth.Response, svc serviceaccount.Service, secretID string, scope []string) {
	t.Helper()
	if resp.TokenType != "Bearer" || resp.IssuedTokenType != "" || resp.ExpiresIn != int64(tokenTTL/time.Second) {
		t.Fatalf("response %+v", resp)
	}
	c := e.claims(t, resp.AccessToken)
	now := e.clock.Now()
	if c.Subject != svc.ActorID() || c.ActorType != identity.ActorService || c.SessionID != secretID ||
		c.TenantID != "" || c.Act != nil || c.CredentialID != "" || len(c.Roles) != 0 {
		t.Fatalf("claims %+v", c)
	}
	if c.Issuer != issuer || !slices.Equal(c.Audience, []string{audience}) || c.ID == "" {
		t.Fatalf("iss %q aud %v jti %q", c.Issuer, c.Audience, c.ID)
	}
	if !c.IssuedAt.Equal(now) || !c.ExpiresAt.Equal(now.Add(tokenTTL)) {
		t.Fatalf("iat %v exp %v, want %v and %v", c.IssuedAt, c.ExpiresAt, now, now.Add(tokenTTL))
	}
	if !slices.Equal(c.Scope, scope) || resp.Scope != strings.Join(scope, " ") {
		t.Fatalf("scope %v (response %q), want %v", c.Scope, resp.Scope, scope)
	}
}

func TestClientCredentialsIssuesServiceTokens(t *testing.T) {
	e := newEnv(t)
	root := e.user(t, "root@example.com", true)
	svc, raw := e.service(t, root, "mail", serviceaccount.ScopeRateLimitCheck, serviceaccount.ScopeAuthzCheck)
	both := []string{serviceaccount.ScopeAuthzCheck, serviceaccount.ScopeRateLimitCheck}
	cases := []struct {
		name  string
		form  []string // extra form parameters
		basic bool
		want  []string
	}{
		{"the right secret in the form grants every scope of the service", nil, false, both},
		{"the right secret via HTTP Basic grants every scope of the service", nil, true, both},
		{"a narrower scope is granted as asked", []string{"scope", serviceaccount.ScopeRateLimitCheck}, false, []string{serviceaccount.ScopeRateLimitCheck}},
		{"asking for every scope in another order grants them sorted", []string{"scope", "ratelimit:check authz:check"}, false, both},
		{"a scope asked twice is granted once", []string{"scope", "authz:check authz:check"}, true, []string{serviceaccount.ScopeAuthzCheck}},
		{"an empty scope parameter grants no scope", []string{"scope", " "}, false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			form, b := ccPost(svc.ID, raw, c.form...), basic{}
			if c.basic {
				form, b = ccForm(c.form...), basic{svc.ID, raw, true}
			}
			resp := e.mustToken(t, form, b)
			wantServiceToken(t, e, resp, svc, secretID(t, raw, secret.ClientSecretPrefix), c.want)
		})
	}
}

func TestClientCredentialsRefuses(t *testing.T) {
	e := newEnv(t)
	root := e.user(t, "root@example.com", true)
	svc, raw := e.service(t, root, "mail", serviceaccount.ScopeAuthzCheck)
	other, otherRaw := e.service(t, root, "tools", serviceaccount.ScopeAuthzCheck)
	off, offRaw := e.service(t, root, "retired", serviceaccount.ScopeAuthzCheck)
	disabled := serviceaccount.Disabled
	if _, err := e.services.Update(context.Background(), sessionOf(root, ""), off.ID, serviceaccount.Patch{Status: &disabled}); err != nil {
		t.Fatal(err)
	}
	tampered := raw[:len(raw)-8] + "AAAAAAAA"
	if tampered == raw {
		tampered = raw[:len(raw)-8] + "BBBBBBBB"
	}
	unissued, _ := secret.Generate(secret.ClientSecretPrefix, secret.EnvLive, ids.New())
	e.wantRefused(t, []refusal{
		{"another service's secret is invalid_client", ccPost(svc.ID, otherRaw), basic{}, "invalid_client", 401, false},
		{"a wrong secret via HTTP Basic is invalid_client with a Basic challenge", ccForm(), basic{svc.ID, otherRaw, true}, "invalid_client", 401, true},
		{"a tampered secret is invalid_client", ccPost(svc.ID, tampered), basic{}, "invalid_client", 401, false},
		{"a secret never issued is invalid_client", ccPost(svc.ID, unissued), basic{}, "invalid_client", 401, false},
		{"a secret that is not a client secret is invalid_client", ccPost(svc.ID, "hunter2"), basic{}, "invalid_client", 401, false},
		{"an unknown client id is invalid_client", ccPost(ids.New(), raw), basic{}, "invalid_client", 401, false},
		{"a malformed client id is invalid_client", ccPost("mail", raw), basic{}, "invalid_client", 401, false},
		{"another service's client id with this secret is invalid_client", ccPost(other.ID, raw), basic{}, "invalid_client", 401, false},
		{"a disabled service is invalid_client", ccPost(off.ID, offRaw), basic{}, "invalid_client", 401, false},
		{"a scope the service does not hold is invalid_scope", ccPost(svc.ID, raw, "scope", serviceaccount.ScopeRateLimitCheck), basic{}, "invalid_scope", 400, false},
		{"a held and an unheld scope together are invalid_scope", ccPost(svc.ID, raw, "scope", "authz:check ratelimit:check"), basic{}, "invalid_scope", 400, false},
		{"a tenant permission is invalid_scope", ccPost(svc.ID, raw, "scope", string(identity.PermTenantRead)), basic{}, "invalid_scope", 400, false},
		{"an unknown scope is invalid_scope", ccPost(svc.ID, raw, "scope", "everything"), basic{}, "invalid_scope", 400, false},
	})
}

func TestClientCredentialsAfterSecretRotation(t *testing.T) {
	cases := []struct {
		name  string
		grace time.Duration
		// later is how long after the rotation the old secret is presented.
		later time.Duration
		oldOK bool
	}{
		{"the rotated-out secret works within the grace period", time.Hour, 59 * time.Minute, true},
		{"the rotated-out secret fails when the grace period ends", time.Hour, time.Hour, false},
		{"the rotated-out secret fails after the grace period", time.Hour, 2 * time.Hour, false},
		{"the rotated-out secret fails at once without a grace period", 0, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			root := e.user(t, "root@example.com", true)
			svc, oldRaw := e.service(t, root, "mail", serviceaccount.ScopeAuthzCheck)
			_, newRaw, err := e.services.RotateSecret(context.Background(), sessionOf(root, ""), svc.ID, c.grace)
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(c.later)
			resp, err := e.token(ccPost(svc.ID, oldRaw), basic{})
			if c.oldOK {
				if err != nil {
					t.Fatalf("old secret refused: %v", err)
				}
				// The token names the old secret, so revoking it ends the token.
				wantServiceToken(t, e, resp, svc, secretID(t, oldRaw, secret.ClientSecretPrefix), []string{serviceaccount.ScopeAuthzCheck})
			} else {
				wantOAuthError(t, err, "invalid_client", 401, false)
			}
			resp = e.mustToken(t, ccPost(svc.ID, newRaw), basic{})
			wantServiceToken(t, e, resp, svc, secretID(t, newRaw, secret.ClientSecretPrefix), []string{serviceaccount.ScopeAuthzCheck})
		})
	}
}
