package main_test

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/examples/internal/e2e"
	"github.com/tollgate/tollgate/identity"
)

// TestEndToEnd runs the shipped binaries as an operator and a service owner
// would: tollgate serve on a fresh data directory, whoami in front of it as
// a registered service, and every kind of credential going through both.
//
// With TOLLGATE_TEST_NATS_URL set, both processes share a NATS bus under a
// random prefix, and revocations must reach whoami within seconds; without
// it, whoami learns of a revoked API key when its introspection cache
// expires.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the tollgate and whoami binaries")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not available to build the binaries")
	}
	bins := e2e.Build(t, "github.com/tollgate/tollgate/cmd/tollgate", "github.com/tollgate/tollgate/examples/whoami")
	natsURL := os.Getenv("TOLLGATE_TEST_NATS_URL")
	prefix := "e2e" + e2e.RandomHex(8)

	tgEnv := e2e.TollgateEnv(t, natsURL, prefix)
	const email, password = "root@example.com", "a long and unusual passphrase"
	if out, err := e2e.Admin(bins["tollgate"], processEnv(tgEnv...), password, "bootstrap", "--email", email, "--tenant", "acme", "--password-stdin"); err != nil || !strings.Contains(string(out), "platform admin") {
		t.Fatalf("bootstrap: %v\n%s", err, out)
	}
	tg, tgURL := e2e.StartTollgate(t, bins["tollgate"], processEnv(tgEnv...))
	api := &e2e.Client{T: t, Base: tgURL}

	// An admin signs in and sets up a service, an agent and their keys.
	login := api.Send("POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password}, http.StatusOK)
	session := login.Str(t, "access_token")
	userID, tenantID := login.Str(t, "actor", "id"), login.Str(t, "actor", "tenant_id")
	sessionID := login.Str(t, "session_id")

	svc := api.Send("POST", "/v1/services", session, map[string]any{"name": "whoami", "description": "the example service", "tenants": []string{"*"}}, http.StatusCreated)
	clientID, clientSecret, serviceActor := svc.Str(t, "client_id"), svc.Str(t, "client_secret"), svc.Str(t, "actor_id")

	agent := api.Send("POST", "/v1/tenants/"+tenantID+"/agents", session, map[string]string{"name": "helper"}, http.StatusCreated)
	agentActor := agent.Str(t, "actor_id")

	newKey := func(name, holder string, scopes ...string) (id, raw string) {
		body := map[string]any{"name": name, "scopes": scopes}
		if holder != "" {
			body["actor_id"] = holder
		}
		k := api.Send("POST", "/v1/api-keys", session, body, http.StatusCreated)
		return k.Str(t, "id"), k.Str(t, "key")
	}
	humanKeyID, humanKey := newKey("laptop", "", "tenant:read", "tenant:write")
	_, memberKey := newKey("read-only", "", "tenant:read", "members:read")
	_, unusedKey := newKey("never-used", "", "tenant:read")
	agentKeyID, agentKey := newKey("helper-key", agentActor, "tenant:read", "agents:read")

	// The agent acts for the admin (RFC 8693), and the service gets a token
	// of its own.
	delegated := api.Form("/oauth/token", "", url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":      {session},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"actor_token":        {agentKey},
		"actor_token_type":   {"urn:tollgate:params:oauth:token-type:api_key"},
	}, http.StatusOK).Str(t, "access_token")
	serviceToken := api.Form("/oauth/token", clientID+":"+clientSecret, url.Values{
		"grant_type": {"client_credentials"},
	}, http.StatusOK).Str(t, "access_token")

	// whoami, registered as the service above.
	whoamiArgs := []string{"-addr", "127.0.0.1:0", "-tollgate", tgURL, "-issuer", e2e.Issuer}
	if natsURL != "" {
		whoamiArgs = append(whoamiArgs, "-nats", natsURL, "-nats-prefix", prefix)
	}
	wh := e2e.Start(t, "whoami", bins["whoami"], processEnv("TOLLGATE_CLIENT_ID="+clientID, "TOLLGATE_CLIENT_SECRET="+clientSecret), whoamiArgs...)
	whoami := &client{&e2e.Client{T: t, Base: wh.WaitLine(t, e2e.ListeningOn)}}

	wantActor := func(t *testing.T, ac identity.ActorContext, actorID, actorType, credential, onBehalfOf string) {
		t.Helper()
		if ac.ActorID != actorID || ac.ActorType != actorType || ac.Credential != credential || ac.OnBehalfOf != onBehalfOf {
			t.Fatalf("got actor %q (%s) by %s on behalf of %q; want %q (%s) by %s on behalf of %q",
				ac.ActorID, ac.ActorType, ac.Credential, ac.OnBehalfOf, actorID, actorType, credential, onBehalfOf)
		}
	}
	t.Run("session", func(t *testing.T) {
		ac := whoami.actor(t, "/whoami", e2e.Bearer(session))
		wantActor(t, ac, userID, identity.ActorHuman, identity.CredentialSession, "")
		if ac.TenantID != tenantID || ac.SessionID != sessionID || !slices.Equal(ac.Roles, []string{"owner"}) {
			t.Fatalf("tenant %q session %q roles %v", ac.TenantID, ac.SessionID, ac.Roles)
		}
		whoami.actor(t, "/admin", e2e.Bearer(session))
	})
	t.Run("human API key", func(t *testing.T) {
		for _, h := range []http.Header{e2e.APIKeyHeader(humanKey), e2e.Bearer(humanKey)} {
			ac := whoami.actor(t, "/whoami", h)
			wantActor(t, ac, userID, identity.ActorHuman, identity.CredentialAPIKey, "")
			if ac.CredentialID != humanKeyID || ac.TenantID != tenantID || !slices.Equal(ac.Permissions, []string{"tenant:read", "tenant:write"}) {
				t.Fatalf("credential %q tenant %q permissions %v", ac.CredentialID, ac.TenantID, ac.Permissions)
			}
		}
		whoami.actor(t, "/admin", e2e.APIKeyHeader(humanKey))
	})
	t.Run("member-scoped API key", func(t *testing.T) {
		wantActor(t, whoami.actor(t, "/whoami", e2e.APIKeyHeader(memberKey)), userID, identity.ActorHuman, identity.CredentialAPIKey, "")
		whoami.problem(t, "/admin", e2e.APIKeyHeader(memberKey), http.StatusForbidden, "permission_denied")
	})
	t.Run("agent API key", func(t *testing.T) {
		ac := whoami.actor(t, "/whoami", e2e.APIKeyHeader(agentKey))
		wantActor(t, ac, agentActor, identity.ActorAgent, identity.CredentialAPIKey, "")
		if ac.CredentialID != agentKeyID {
			t.Fatalf("credential %q, want %q", ac.CredentialID, agentKeyID)
		}
	})
	t.Run("delegated token", func(t *testing.T) {
		ac := whoami.actor(t, "/whoami", e2e.Bearer(delegated))
		wantActor(t, ac, agentActor, identity.ActorAgent, identity.CredentialDelegation, userID)
		if ac.TenantID != tenantID || ac.SessionID != sessionID || !slices.Equal(ac.Permissions, []string{"agents:read", "tenant:read"}) {
			t.Fatalf("tenant %q session %q permissions %v", ac.TenantID, ac.SessionID, ac.Permissions)
		}
		whoami.problem(t, "/admin", e2e.Bearer(delegated), http.StatusForbidden, "permission_denied")
	})
	t.Run("service token", func(t *testing.T) {
		wantActor(t, whoami.actor(t, "/whoami", e2e.Bearer(serviceToken)), serviceActor, identity.ActorService, identity.CredentialClientCredentials, "")
	})
	t.Run("bad credentials", func(t *testing.T) {
		whoami.problem(t, "/whoami", nil, http.StatusUnauthorized, "missing_credential")
		whoami.problem(t, "/whoami", e2e.APIKeyHeader(humanKey+"x"), http.StatusUnauthorized, "invalid_api_key")
		whoami.problem(t, "/whoami", e2e.Bearer(session+"x"), http.StatusUnauthorized, "invalid_token")
	})
	if t.Failed() {
		t.FailNow()
	}

	// Revoking a key whoami has cached: over the bus it is rejected within
	// seconds; without, once the cache entry expires (authn.DefaultCacheTTL).
	api.Send("DELETE", "/v1/api-keys/"+humanKeyID, session, nil, http.StatusNoContent)
	deadline := 5 * time.Second
	if natsURL == "" {
		deadline = 10*time.Second + 20*time.Second // the cache TTL, and slack for a loaded machine
	}
	took := whoami.waitStatus(t, "/whoami", e2e.APIKeyHeader(humanKey), http.StatusUnauthorized, deadline)
	t.Logf("whoami rejected the revoked API key %v after the revocation (NATS: %v)", took.Round(time.Millisecond), natsURL != "")
	whoami.problem(t, "/whoami", e2e.APIKeyHeader(humanKey), http.StatusUnauthorized, "")

	if natsURL != "" {
		// A logout ends the session's tokens and those delegated from it.
		api.Send("POST", "/v1/auth/logout", session, nil, http.StatusNoContent)
		whoami.waitStatus(t, "/whoami", e2e.Bearer(session), http.StatusUnauthorized, deadline)
		whoami.problem(t, "/whoami", e2e.Bearer(session), http.StatusUnauthorized, "token_revoked")
		whoami.problem(t, "/whoami", e2e.Bearer(delegated), http.StatusUnauthorized, "token_revoked")
	}

	// With Tollgate gone, whoami fails closed on an API key it has not
	// seen: 503, not 401 and never 200. Tokens still verify with the keys
	// it already has.
	tg.Stop(t)
	whoami.problem(t, "/whoami", e2e.APIKeyHeader(unusedKey), http.StatusServiceUnavailable, "unavailable")
	wantActor(t, whoami.actor(t, "/whoami", e2e.Bearer(serviceToken)), serviceActor, identity.ActorService, identity.CredentialClientCredentials, "")
	wh.Stop(t)
}

// processEnv is this process's environment without any Tollgate or whoami
// settings, which would change what is tested, plus extra.
func processEnv(extra ...string) []string {
	return e2e.Env([]string{"TOLLGATE_", "WHOAMI_"}, extra...)
}

// client talks to whoami, which answers with actor contexts and problem
// documents.
type client struct{ *e2e.Client }

func (c *client) get(t *testing.T, path string, h http.Header) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", c.Base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(req.Header, h)
	res, err := e2e.HTTPClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, body
}

// actor expects a 200 with an ActorContext.
func (c *client) actor(t *testing.T, path string, h http.Header) identity.ActorContext {
	t.Helper()
	status, body := c.get(t, path, h)
	var ac identity.ActorContext
	if status != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", path, status, body)
	}
	if err := json.Unmarshal(body, &ac); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
	return ac
}

// problem expects a problem document with status and, unless "", code.
func (c *client) problem(t *testing.T, path string, h http.Header, status int, code string) {
	t.Helper()
	got, body := c.get(t, path, h)
	var p struct{ Code string }
	_ = json.Unmarshal(body, &p)
	if got != status || (code != "" && p.Code != code) {
		t.Fatalf("GET %s: status %d code %q, want %d %q: %s", path, got, p.Code, status, code, body)
	}
}

// waitStatus polls path until it answers status, for at most deadline, and
// returns how long that took. Anything but 200 or status fails at once.
func (c *client) waitStatus(t *testing.T, path string, h http.Header, status int, deadline time.Duration) time.Duration {
	t.Helper()
	begin := time.Now()
	for {
		got, body := c.get(t, path, h)
		switch {
		case got == status:
			return time.Since(begin)
		case got != http.StatusOK:
			t.Fatalf("GET %s: status %d while waiting for %d: %s", path, got, status, body)
		case time.Since(begin) > deadline:
			t.Fatalf("GET %s: still %d after %v, want %d", path, got, deadline, status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
