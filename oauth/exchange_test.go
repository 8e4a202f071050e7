package oauth_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/oauth"
	"github.com/tollgate/tollgate/secret"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/token"
)

// delegated is what a delegated token must say.
type delegated struct {
	subject identity.User
	tenant  identity.Tenant
	roles   []string
	session session.Tokens
	agent   identity.Agent
	key     apikey.Key
	scope   []string
	exp     time.Time
}

// wantDelegated fails unless resp is a token delegating w.subject's rights
// in w.tenant to w.agent through w.key, issued now and ending at w.exp.
func wantDelegated(t *testing.T, e *env, resp oauth.Response, w delegated) *token.Claims {
	t.Helper()
	now := e.clock.Now()
	if resp.TokenType != "Bearer" || resp.IssuedTokenType != oauth.TokenTypeAccessToken ||
		resp.ExpiresIn != int64(w.exp.Sub(now)/time.Second) || resp.Scope != strings.Join(w.scope, " ") {
		t.Fatalf("response %+v, want expires_in %d scope %q", resp, int64(w.exp.Sub(now)/time.Second), strings.Join(w.scope, " "))
	}
	c := e.claims(t, resp.AccessToken)
	if c.Subject != w.subject.ActorID() || c.ActorType != identity.ActorAgent || c.TenantID != w.tenant.ID ||
		c.SessionID != w.session.SessionID || c.CredentialID != w.key.ID || !slices.Equal(c.Roles, w.roles) {
		t.Fatalf("claims %+v", c)
	}
	if c.Act == nil || *c.Act != (token.Actor{Subject: w.agent.ActorID(), Owner: w.agent.OwnerID}) {
		t.Fatalf("act %+v, want %s owned by %s", c.Act, w.agent.ActorID(), w.agent.OwnerID)
	}
	if c.Issuer != issuer || !slices.Equal(c.Audience, []string{audience}) || c.ID == "" {
		t.Fatalf("iss %q aud %v jti %q", c.Issuer, c.Audience, c.ID)
	}
	if !c.IssuedAt.Equal(now) || !c.ExpiresAt.Equal(w.exp) {
		t.Fatalf("iat %v exp %v, want %v and %v", c.IssuedAt, c.ExpiresAt, now, w.exp)
	}
	if !slices.Equal(c.Scope, w.scope) {
		t.Fatalf("scope %v, want %v", c.Scope, w.scope)
	}
	return c
}

func TestTokenExchangeDelegatesToAnAgent(t *testing.T) {
	e := newEnv(t)
	w := newWorld(t, e)
	ann, dave := e.login(t, w.ann, "alpha"), e.login(t, w.dave, "alpha")
	annKey, annRaw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read", "members:write", "owners:write", "agents:read")
	carlKey, carlRaw := e.agentKey(t, w.carl, w.carlBot, nil, "tenant:read", "agents:read")
	exp := e.clock.Now().Add(tokenTTL)
	cases := []struct {
		name string
		form url.Values
		want delegated
	}{
		{"an owner delegates to her own agent everything both hold", exchange(ann.AccessToken, annRaw),
			delegated{w.ann, w.alpha, []string{"owner"}, ann, w.annBot, annKey, []string{"agents:read", "members:write", "owners:write", "tenant:read"}, exp}},
		{"a narrower scope is granted as asked", exchange(ann.AccessToken, annRaw, "scope", "tenant:read agents:read tenant:read"),
			delegated{w.ann, w.alpha, []string{"owner"}, ann, w.annBot, annKey, []string{"agents:read", "tenant:read"}, exp}},
		{"a JWT subject token type and an access token as requested type are accepted",
			exchange(ann.AccessToken, annRaw, "subject_token_type", oauth.TokenTypeJWT, "requested_token_type", oauth.TokenTypeAccessToken),
			delegated{w.ann, w.alpha, []string{"owner"}, ann, w.annBot, annKey, []string{"agents:read", "members:write", "owners:write", "tenant:read"}, exp}},
		{"a holder of agents:write delegates to another member's agent", exchange(dave.AccessToken, carlRaw),
			delegated{w.dave, w.alpha, []string{"admin"}, dave, w.carlBot, carlKey, []string{"agents:read", "tenant:read"}, exp}},
		{"the scope is narrowed to the person's rights", exchange(dave.AccessToken, annRaw),
			delegated{w.dave, w.alpha, []string{"admin"}, dave, w.annBot, annKey, []string{"agents:read", "members:write", "tenant:read"}, exp}},
		{"an empty scope parameter delegates no scope", exchange(ann.AccessToken, annRaw, "scope", " "),
			delegated{w.ann, w.alpha, []string{"owner"}, ann, w.annBot, annKey, nil, exp}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantDelegated(t, e, e.mustToken(t, c.form, basic{}), c.want)
		})
	}
}

func TestTokenExchangeLifetime(t *testing.T) {
	cases := []struct {
		name string
		// keyLife is the agent key's lifetime (0: it never expires).
		keyLife time.Duration
		// later is how long after the person's sign-in the exchange is made.
		later time.Duration
		// want is the delegated token's end after the sign-in; 0 refuses.
		want time.Duration
	}{
		{"the token lasts TokenTTL when the subject token lasts longer", 0, time.Minute, time.Minute + tokenTTL},
		{"the token ends with a subject token that ends before TokenTTL", 0, 12 * time.Minute, accessTTL},
		{"the token ends with an agent key that expires before both", 4 * time.Minute, time.Minute, 4 * time.Minute},
		{"an agent key expiring after the subject token does not lengthen it", 20 * time.Minute, 12 * time.Minute, accessTTL},
		{"a subject token with under a second left is refused", 0, accessTTL - 500*time.Millisecond, 0},
		{"a subject token expired but within the verifier's leeway is refused", 0, accessTTL + 30*time.Second, 0},
		{"an expired subject token is refused", 0, accessTTL + token.DefaultLeeway + time.Second, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			w := newWorld(t, e)
			start := e.clock.Now()
			var expires *time.Time
			if c.keyLife > 0 {
				at := start.Add(c.keyLife)
				expires = &at
			}
			key, raw := e.agentKey(t, w.ann, w.annBot, expires, "tenant:read")
			ann := e.login(t, w.ann, "alpha")
			e.clock.Advance(c.later)
			resp, err := e.token(exchange(ann.AccessToken, raw), basic{})
			if c.want == 0 {
				wantOAuthError(t, err, "invalid_grant", 400, false)
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			wantDelegated(t, e, resp, delegated{w.ann, w.alpha, []string{"owner"}, ann, w.annBot, key, []string{"tenant:read"}, start.Add(c.want)})
		})
	}
}

func TestTokenExchangeRefuses(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		// request builds the request, changing the world as it needs.
		request func(t *testing.T, e *env, w world) url.Values
		code    string
		status  int
	}{
		{"a subject token that is not a token is invalid_grant", func(t *testing.T, e *env, w world) url.Values {
			_, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read")
			return exchange("not.a.token", raw)
		}, "invalid_grant", 400},
		{"a person's API key as subject token is invalid_grant", func(t *testing.T, e *env, w world) url.Values {
			_, own := e.ownKey(t, w.ann, w.alpha, "tenant:read")
			_, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read")
			return exchange(own, raw)
		}, "invalid_grant", 400},
		{"a service token as subject token is invalid_grant", func(t *testing.T, e *env, w world) url.Values {
			svc, secretRaw := e.service(t, w.root, "mail", serviceaccount.ScopeAuthzCheck)
			st := e.mustToken(t, ccPost(svc.ID, secretRaw), basic{})
			_, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read")
			return exchange(st.AccessToken, raw)
		}, "invalid_grant", 400},
		{"a delegated token as subject token is invalid_grant", func(t *testing.T, e *env, w world) url.Values {
			_, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read")
			d := e.mustToken(t, exchange(e.login(t, w.ann, "alpha").AccessToken, raw), basic{})
			return exchange(d.AccessToken, raw)
		}, "invalid_grant", 400},
		{"a session outside any tenant is invalid_grant", func(t *testing.T, e *env, w world) url.Values {
			_, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read")
			return exchange(e.login(t, w.erin, "").AccessToken, raw)
		}, "invalid_grant", 400},
		{"a revoked subject session is invalid_grant", func(t *testing.T, e *env, w world) url.Values {
			_, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read")
			ann := e.login(t, w.ann, "alpha")
			ac, err := e.r.Resolve(ctx, ann.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.sessions.Logout(ctx, ac, false); err != nil {
				t.Fatal(err)
			}
			return exchange(ann.AccessToken, raw)
		}, "invalid_grant", 400},
		{"an actor token that is not an API key is invalid_grant", func(t *testing.T, e *env, w world) url.Values {
			return exchange(e.login(t, w.ann, "alpha").AccessToken, "not-a-key")
		}, "invalid_grant", 400},
		{"an API key never issued as actor token is invalid_grant", func(t *testing.T, e *env, w world) url.Values {
			raw, _ := secret.Generate(secret.KeyPrefix, secret.EnvLive, ids.New())
			return exchange(e.login(t, w.ann, "alpha").AccessToken, raw)
		}, "invalid_grant", 400},
		{"a person's own API key as actor token is invalid_grant", func(t *testing.T, e *env, w world) url.Values {
			_, own := e.ownKey(t, w.ann, w.alpha, "tenant:read")
			return exchange(e.login(t, w.ann, "alpha").AccessToken, own)
		}, "invalid_grant", 400},
		{"a session token as actor token is invalid_grant", func(t *testing.T, e *env, w world) url.Values {
			return exchange(e.login(t, w.ann, "alpha").AccessToken, e.login(t, w.dave, "alpha").AccessToken)
		}, "invalid_grant", 400},
		{"a revoked agent key is invalid_grant", func(t *testing.T, e *env, w world) url.Values {
			k, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read")
			if err := e.apikeys.Revoke(ctx, sessionOf(w.ann, w.alpha.ID), k.ID); err != nil {
				t.Fatal(err)
			}
			return exchange(e.login(t, w.ann, "alpha").AccessToken, raw)
		}, "invalid_grant", 400},
		{"an expired agent key is invalid_grant", func(t *testing.T, e *env, w world) url.Values {
			at := e.clock.Now().Add(time.Minute)
			_, raw := e.agentKey(t, w.ann, w.annBot, &at, "tenant:read")
			e.clock.Advance(2 * time.Minute)
			return exchange(e.login(t, w.ann, "alpha").AccessToken, raw)
		}, "invalid_grant", 400},
		{"a disabled agent is invalid_grant", func(t *testing.T, e *env, w world) url.Values {
			_, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read")
			off := identity.AgentDisabled
			if _, err := e.idents.UpdateAgent(ctx, identity.Caller{ActorID: w.ann.ActorID()}, w.alpha.ID, w.annBot.ID, identity.AgentPatch{Status: &off}); err != nil {
				t.Fatal(err)
			}
			e.deliver()
			return exchange(e.login(t, w.ann, "alpha").AccessToken, raw)
		}, "invalid_grant", 400},
		{"a deleted agent is invalid_grant", func(t *testing.T, e *env, w world) url.Values {
			_, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read")
			if err := e.idents.DeleteAgent(ctx, identity.Caller{ActorID: w.ann.ActorID()}, w.alpha.ID, w.annBot.ID); err != nil {
				t.Fatal(err)
			}
			e.deliver()
			return exchange(e.login(t, w.ann, "alpha").AccessToken, raw)
		}, "invalid_grant", 400},
		{"an agent deleted while its key is still cached is invalid_grant", func(t *testing.T, e *env, w world) url.Values {
			_, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read")
			if _, err := e.r.Resolve(ctx, raw); err != nil { // caches the key
				t.Fatal(err)
			}
			if err := e.idents.DeleteAgent(ctx, identity.Caller{ActorID: w.ann.ActorID()}, w.alpha.ID, w.annBot.ID); err != nil {
				t.Fatal(err)
			}
			// The revocation has not reached this replica yet.
			return exchange(e.login(t, w.ann, "alpha").AccessToken, raw)
		}, "invalid_grant", 400},
		{"an agent whose owner is disabled is invalid_grant", func(t *testing.T, e *env, w world) url.Values {
			_, raw := e.agentKey(t, w.carl, w.carlBot, nil, "tenant:read")
			if _, err := e.idents.SetUserStatus(ctx, identity.Caller{ActorID: w.root.ActorID()}, w.carl.ID, identity.UserDisabled); err != nil {
				t.Fatal(err)
			}
			e.deliver()
			// ann (agents:write) runs carl's agent.
			return exchange(e.login(t, w.ann, "alpha").AccessToken, raw)
		}, "invalid_grant", 400},
		{"a subject token of a suspended tenant is invalid_grant", func(t *testing.T, e *env, w world) url.Values {
			_, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read")
			subject := e.login(t, w.ann, "alpha").AccessToken
			off := identity.TenantSuspended
			if _, err := e.idents.UpdateTenant(ctx, identity.Caller{ActorID: w.root.ActorID()}, w.alpha.ID, identity.TenantPatch{Status: &off}); err != nil {
				t.Fatal(err)
			}
			e.deliver()
			return exchange(subject, raw)
		}, "invalid_grant", 400},
		{"the person's own agent in another of their tenants is invalid_grant", func(t *testing.T, e *env, w world) url.Values {
			_, raw := e.agentKey(t, w.carl, w.carlBeta, nil, "tenant:read")
			return exchange(e.login(t, w.carl, "alpha").AccessToken, raw)
		}, "invalid_grant", 400},
		{"an agent of another tenant is invalid_grant", func(t *testing.T, e *env, w world) url.Values {
			_, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read")
			return exchange(e.login(t, w.bob, "gamma").AccessToken, raw)
		}, "invalid_grant", 400},
		{"another member's agent without agents:write is unauthorized_client", func(t *testing.T, e *env, w world) url.Values {
			_, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read")
			return exchange(e.login(t, w.carl, "alpha").AccessToken, raw)
		}, "unauthorized_client", 400},
		{"a scope the agent's key lacks is invalid_scope", func(t *testing.T, e *env, w world) url.Values {
			_, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read")
			return exchange(e.login(t, w.ann, "alpha").AccessToken, raw, "scope", "tenant:read members:write")
		}, "invalid_scope", 400},
		{"a scope the person lacks is invalid_scope", func(t *testing.T, e *env, w world) url.Values {
			_, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read", "owners:write")
			return exchange(e.login(t, w.dave, "alpha").AccessToken, raw, "scope", "owners:write")
		}, "invalid_scope", 400},
		{"an unknown scope is invalid_scope", func(t *testing.T, e *env, w world) url.Values {
			_, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read")
			return exchange(e.login(t, w.ann, "alpha").AccessToken, raw, "scope", "root")
		}, "invalid_scope", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			w := newWorld(t, e)
			form := c.request(t, e, w)
			resp, err := e.token(form, basic{})
			wantOAuthError(t, err, c.code, c.status, false)
			if resp.AccessToken != "" {
				t.Fatalf("a token with the error: %+v", resp)
			}
		})
	}
}

// TestTokenExchangeChecksClientAuthentication: RFC 6749 §2.3 — a client
// that presents credentials is authenticated whatever the grant, so wrong
// ones fail a token exchange that would otherwise succeed.
func TestTokenExchangeChecksClientAuthentication(t *testing.T) {
	e := newEnv(t)
	w := newWorld(t, e)
	svc, secretRaw := e.service(t, w.root, "runtime", serviceaccount.ScopeAuthzCheck)
	_, otherRaw := e.service(t, w.root, "tools", serviceaccount.ScopeAuthzCheck)
	_, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read")
	ann := e.login(t, w.ann, "alpha")
	wrong := secretRaw[:len(secretRaw)-4] + "0000"
	cases := []struct {
		name      string
		form      url.Values
		basic     basic
		challenge bool
	}{
		{"a wrong client secret via HTTP Basic", exchange(ann.AccessToken, raw), basic{svc.ID, otherRaw, true}, true},
		{"a tampered client secret via HTTP Basic", exchange(ann.AccessToken, raw), basic{svc.ID, wrong, true}, true},
		{"a wrong client secret in the form", exchange(ann.AccessToken, raw, "client_id", svc.ID, "client_secret", otherRaw), basic{}, false},
		{"an unknown client in the form", exchange(ann.AccessToken, raw, "client_id", ids.New(), "client_secret", secretRaw), basic{}, false},
	}
	// The right credentials, or none, leave the exchange as it is.
	for name, b := range map[string]basic{"the right client via HTTP Basic": {svc.ID, secretRaw, true}, "no client": {}} {
		if resp, err := e.token(exchange(ann.AccessToken, raw), b); err != nil || resp.AccessToken == "" {
			t.Fatalf("%s: %+v, %v", name, resp, err)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := e.token(c.form, c.basic)
			wantOAuthError(t, err, "invalid_client", 401, c.challenge)
			if resp.AccessToken != "" {
				t.Fatalf("a token with the error: %+v", resp)
			}
		})
	}
}

func TestTokenRefusesUnsupportedGrantTypes(t *testing.T) {
	e := newEnv(t)
	for _, grant := range []string{"", "password", "authorization_code", "refresh_token", "implicit",
		"urn:ietf:params:oauth:grant-type:jwt-bearer", "Client_Credentials", oauth.GrantTokenExchange + " "} {
		t.Run("grant type "+grant+" is unsupported_grant_type", func(t *testing.T) {
			resp, err := e.ep.Token(context.Background(), oauth.Request{GrantType: grant, ClientID: ids.New(), ClientSecret: "s"})
			wantOAuthError(t, err, "unsupported_grant_type", 400, false)
			if resp.AccessToken != "" {
				t.Fatalf("a token with the error: %+v", resp)
			}
		})
	}
}

// TestTokenRefusesMalformedRequests runs malformed requests through the
// endpoint as the HTTP handler does: they fail with RFC 6749 §5.2 codes
// before any credential is looked at.
func TestTokenRefusesMalformedRequests(t *testing.T) {
	e := newEnv(t)
	w := newWorld(t, e)
	svc, secretRaw := e.service(t, w.root, "mail", serviceaccount.ScopeAuthzCheck)
	_, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read")
	ann := e.login(t, w.ann, "alpha")
	e.wantRefused(t, []refusal{
		{"no grant type is invalid_request", url.Values{"client_id": {svc.ID}, "client_secret": {secretRaw}}, basic{}, "invalid_request", 400, false},
		{"an unknown grant type is unsupported_grant_type", ccPost(svc.ID, secretRaw, "grant_type", "password"), basic{}, "unsupported_grant_type", 400, false},
		{"a repeated parameter is invalid_request", func() url.Values {
			f := ccPost(svc.ID, secretRaw)
			f.Add("scope", "authz:check")
			f.Add("scope", "authz:check")
			return f
		}(), basic{}, "invalid_request", 400, false},
		{"client credentials without a secret are invalid_client", ccForm("client_id", svc.ID), basic{}, "invalid_client", 401, false},
		{"Basic and a form secret together are invalid_request", ccForm("client_secret", secretRaw), basic{svc.ID, secretRaw, true}, "invalid_request", 400, false},
		{"an exchange without subject_token is invalid_request", exchange(ann.AccessToken, raw, "subject_token", ""), basic{}, "invalid_request", 400, false},
		{"an exchange without actor_token is invalid_request", exchange(ann.AccessToken, raw, "actor_token", ""), basic{}, "invalid_request", 400, false},
		{"an exchange with a wrong actor_token_type is invalid_request", exchange(ann.AccessToken, raw, "actor_token_type", oauth.TokenTypeJWT), basic{}, "invalid_request", 400, false},
		{"an exchange for a refresh token is invalid_request", exchange(ann.AccessToken, raw, "requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"), basic{}, "invalid_request", 400, false},
	})
}

// TestTokenClientCredentialsWithoutCredentials: a request that skipped
// ParseRequest's checks still fails client authentication.
func TestTokenClientCredentialsWithoutCredentials(t *testing.T) {
	e := newEnv(t)
	for _, r := range []oauth.Request{
		{GrantType: oauth.GrantClientCredentials},
		{GrantType: oauth.GrantClientCredentials, ClientID: ids.New()},
		{GrantType: oauth.GrantClientCredentials, ClientSecret: "tgcs_live_x", BasicAuth: true},
	} {
		_, err := e.ep.Token(context.Background(), r)
		wantOAuthError(t, err, "invalid_client", 401, r.BasicAuth)
	}
}
