package examples_test

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/examples/internal/e2e"
)

// TestEcosystem runs Tollgate and the three example services (messaging,
// toolcore, agent-runtime) as separate processes on loopback, and walks a
// tenant through them: channel membership, tool execution by a delegated
// agent, agent management, revocation and failing closed.
//
// With TOLLGATE_TEST_NATS_URL set, every process shares a NATS bus under a
// random prefix, and a revoked API key must be refused by every service
// within a second; without it, once the services' introspection caches
// expire.
func TestEcosystem(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the tollgate binary and the example services")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not available to build the binaries")
	}
	const mod = "github.com/tollgate/tollgate/"
	bins := e2e.Build(t, mod+"cmd/tollgate", mod+"examples/messaging", mod+"examples/toolcore", mod+"examples/agent-runtime")
	natsURL := os.Getenv("TOLLGATE_TEST_NATS_URL")
	prefix := "e2e" + e2e.RandomHex(8)

	tgEnv := e2e.TollgateEnv(t, natsURL, prefix)
	const password = "a long and unusual passphrase"
	admin := func(args ...string) {
		t.Helper()
		if out, err := e2e.Admin(bins["tollgate"], processEnv(tgEnv...), password, args...); err != nil {
			t.Fatalf("tollgate admin %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// acme: an owner, an admin, a member and the member's colleague; an
	// outsider owns another tenant.
	admin("bootstrap", "--email", "owner@acme.test", "--tenant", "acme", "--password-stdin")
	for _, who := range []string{"admin@acme.test", "member@acme.test", "colleague@acme.test", "outsider@other.test"} {
		admin("user", "create", "--email", who, "--password-stdin")
	}
	admin("tenant", "create", "--slug", "other", "--owner", "outsider@other.test")

	tg, tgURL := e2e.StartTollgate(t, bins["tollgate"], processEnv(tgEnv...))
	api := &e2e.Client{T: t, Base: tgURL}
	login := func(email string) (token, actorID, tenantID string) {
		t.Helper()
		r := api.Send("POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password}, http.StatusOK)
		return r.Str(t, "access_token"), r.Str(t, "actor", "id"), r.Str(t, "actor", "tenant_id")
	}
	ownerTok, _, tenantID := login("owner@acme.test")
	for email, role := range map[string]string{"admin@acme.test": "admin", "member@acme.test": "member", "colleague@acme.test": "member"} {
		// By actor id: by address, a member is invited instead.
		actorID := api.Send("POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password}, http.StatusOK).Str(t, "actor", "id")
		api.Send("POST", "/v1/tenants/"+tenantID+"/members", ownerTok, map[string]any{"actor_id": actorID, "roles": []string{role}}, http.StatusCreated)
	}
	adminTok, _, _ := login("admin@acme.test")
	memberTok, memberID, memberTenant := login("member@acme.test")
	colleagueTok, _, _ := login("colleague@acme.test")
	outsiderTok, _, outsiderTenant := login("outsider@other.test")
	if memberTenant != tenantID || outsiderTenant == tenantID {
		t.Fatalf("member in tenant %q, outsider in %q; acme is %q", memberTenant, outsiderTenant, tenantID)
	}

	// One service account shared by the three services: it asks
	// (authz:check) and registers channels and tools (authz:write).
	svc := api.Send("POST", "/v1/services", ownerTok, map[string]any{
		"name": "examples", "scopes": []string{"authz:check", "authz:write"}, "tenants": []string{"*"},
	}, http.StatusCreated)
	svcEnv := []string{
		"TOLLGATE_URL=" + tgURL, "TOLLGATE_ISSUER=" + e2e.Issuer, "LISTEN=127.0.0.1:0",
		"TOLLGATE_CLIENT_ID=" + svc.Str(t, "client_id"), "TOLLGATE_CLIENT_SECRET=" + svc.Str(t, "client_secret"),
	}
	if natsURL != "" {
		svcEnv = append(svcEnv, "TOLLGATE_NATS_URL="+natsURL, "TOLLGATE_NATS_PREFIX="+prefix)
	}
	services := map[string]*client{}
	procs := map[string]*e2e.Process{}
	for _, name := range []string{"messaging", "toolcore", "agent-runtime"} {
		p := e2e.Start(t, name, bins[name], processEnv(svcEnv...))
		procs[name] = p
		services[name] = &client{&e2e.Client{T: t, Base: p.WaitLine(t, e2e.ListeningOn)}}
	}
	messaging, toolcore, runtime := services["messaging"], services["toolcore"], services["agent-runtime"]

	t.Run("channels", func(t *testing.T) {
		messaging.call(t, "PUT", "/channels/general", memberTok, map[string]any{"name": "general", "members": []string{memberID}}, http.StatusForbidden)
		messaging.call(t, "PUT", "/channels/general", adminTok, map[string]any{"name": "general", "members": []string{memberID}}, http.StatusCreated)
		messaging.call(t, "POST", "/channels/general/messages", memberTok, map[string]string{"text": "hello"}, http.StatusCreated)
		got := messaging.call(t, "GET", "/channels/general/messages", memberTok, nil, http.StatusOK)
		if msgs, _ := got["messages"].([]any); len(msgs) != 1 {
			t.Fatalf("messages: %v", got)
		}
		p := messaging.call(t, "POST", "/channels/general/messages", outsiderTok, map[string]string{"text": "hi"}, http.StatusForbidden)
		wantReasons(t, p, "default_deny")
		messaging.call(t, "POST", "/channels/general/messages", colleagueTok, map[string]string{"text": "hi"}, http.StatusForbidden)
		// The creator (channel_manager) manages it; the member does not.
		messaging.call(t, "PATCH", "/channels/general", memberTok, map[string]string{"name": "mine"}, http.StatusForbidden)
		messaging.call(t, "PATCH", "/channels/general", adminTok, map[string]string{"name": "general chat"}, http.StatusOK)

		// The owner's private board: the admin manages it (channel_admin),
		// seeing its settings but not its messages. Made public, every
		// member reads it, and still only those it lists send.
		messaging.call(t, "PUT", "/channels/board", ownerTok, map[string]any{"name": "board"}, http.StatusCreated)
		if got := messaging.call(t, "GET", "/channels/board", adminTok, nil, http.StatusOK); got["visibility"] != "private" {
			t.Fatalf("the board's settings: %v", got)
		}
		wantReasons(t, messaging.call(t, "GET", "/channels/board/messages", adminTok, nil, http.StatusForbidden), "default_deny")
		messaging.call(t, "PATCH", "/channels/board", adminTok, map[string]string{"visibility": "everyone"}, http.StatusBadRequest)
		messaging.call(t, "PATCH", "/channels/board", adminTok, map[string]string{"visibility": "public"}, http.StatusOK)
		messaging.call(t, "GET", "/channels/board/messages", colleagueTok, nil, http.StatusOK)
		wantReasons(t, messaging.call(t, "POST", "/channels/board/messages", colleagueTok, map[string]string{"text": "hi"}, http.StatusForbidden), "default_deny")
	})
	if t.Failed() {
		t.FailNow()
	}

	// The member's agent, its API key and a delegated token: the agent
	// acting for the member (RFC 8693).
	agent := api.Send("POST", "/v1/tenants/"+tenantID+"/agents", memberTok, map[string]string{"name": "helper"}, http.StatusCreated)
	agentID, agentActor := agent.Str(t, "id"), agent.Str(t, "actor_id")
	key := api.Send("POST", "/v1/api-keys", memberTok, map[string]any{"name": "helper-key", "actor_id": agentActor, "scopes": []string{"tenant:read"}}, http.StatusCreated)
	agentKeyID, agentKey := key.Str(t, "id"), key.Str(t, "key")
	delegated := api.Form("/oauth/token", "", url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":      {memberTok},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"actor_token":        {agentKey},
		"actor_token_type":   {"urn:tollgate:params:oauth:token-type:api_key"},
	}, http.StatusOK).Str(t, "access_token")

	t.Run("tools", func(t *testing.T) {
		search := map[string]any{"name": "search", "allowed_agents": []string{agentActor}, "roles": []string{"member"}}
		toolcore.call(t, "PUT", "/tools/search", memberTok, search, http.StatusForbidden)
		toolcore.call(t, "PUT", "/tools/search", adminTok, search, http.StatusOK)
		toolcore.call(t, "PUT", "/tools/deploy", adminTok, map[string]any{"name": "deploy", "allowed_agents": []string{}, "roles": []string{"admin"}}, http.StatusOK)

		listed := toolcore.call(t, "GET", "/tools", delegated, nil, http.StatusOK)
		if ids := toolIDs(listed); !slices.Equal(ids, []string{"search"}) {
			t.Fatalf("the agent's tools: %v", ids)
		}
		if ids := toolIDs(toolcore.call(t, "GET", "/tools", adminTok, nil, http.StatusOK)); !slices.Equal(ids, []string{"deploy", "search"}) {
			t.Fatalf("the admin's tools (an admin is a member too): %v", ids)
		}

		ran := runtime.call(t, "POST", "/run", delegated, map[string]any{"tool": "search", "input": map[string]string{"q": "tollgate"}}, http.StatusOK)
		if out, _ := ran["output"].(map[string]any); out["q"] != "tollgate" {
			t.Fatalf("run: %v", ran)
		}
		wantReasons(t, runtime.call(t, "POST", "/run", delegated, map[string]any{"tool": "deploy"}, http.StatusForbidden), "default_deny")
		if !strings.Contains(procs["agent-runtime"].Output(), `"msg":"usage.tool"`) {
			t.Fatalf("no usage.tool event was reported:\n%s", procs["agent-runtime"].Output())
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	t.Run("agent management", func(t *testing.T) {
		ask := func(tok string) e2e.Reply {
			return api.Send("POST", "/v1/authorize", tok, map[string]any{"action": "MANAGE_AGENT", "resource": map[string]string{"type": "agent", "id": agentID}}, http.StatusOK)
		}
		for tok, want := range map[string][2]string{adminTok: {"permit", "agent_admin"}, memberTok: {"permit", "agent_owner"}, colleagueTok: {"deny", "default_deny"}} {
			d := ask(tok)
			if d["decision"] != want[0] {
				t.Fatalf("MANAGE_AGENT: %v, want %s", d, want[0])
			}
			wantReasons(t, d, want[1])
		}
	})

	// Every service accepts the agent's key, until it is revoked.
	type probe struct {
		name         string
		svc          *client
		method, path string
		body         any
	}
	probes := []probe{
		{"messaging", messaging, "GET", "/channels/general/messages", nil},
		{"toolcore", toolcore, "GET", "/tools", nil},
		{"agent-runtime", runtime, "POST", "/run", map[string]string{"tool": "search"}},
	}
	for _, p := range probes {
		if got, body := p.svc.request(t, p.method, p.path, e2e.APIKeyHeader(agentKey), p.body); got == http.StatusUnauthorized || got >= 500 {
			t.Fatalf("%s %s with the agent's key: %d %s", p.method, p.path, got, body)
		}
	}
	api.Send("DELETE", "/v1/api-keys/"+agentKeyID, memberTok, nil, http.StatusNoContent)
	revoked := time.Now()
	deadline := time.Second
	if natsURL == "" {
		deadline = 10*time.Second + 20*time.Second // the introspection cache TTL, and slack
	}
	var wg sync.WaitGroup
	for _, p := range probes {
		wg.Go(func() {
			for {
				got, body := p.svc.request(t, p.method, p.path, e2e.APIKeyHeader(agentKey), p.body)
				switch {
				case got == http.StatusUnauthorized:
					t.Logf("%s refused the revoked key %v after the revocation (NATS: %v)", p.name, time.Since(revoked).Round(time.Millisecond), natsURL != "")
					return
				case got == 0 || got >= 500:
					t.Errorf("%s %s: %d %s", p.method, p.path, got, body)
					return
				case time.Since(revoked) > deadline:
					t.Errorf("%s %s: still %d %v after the revocation", p.method, p.path, got, deadline)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// Tollgate gone: every service fails closed, 503 — for a credential it
	// has not seen, and for a valid token whose question it has not asked.
	_, unusedKey := func() (string, string) {
		k := api.Send("POST", "/v1/api-keys", ownerTok, map[string]any{"name": "unused", "scopes": []string{"tenant:read"}}, http.StatusCreated)
		return k.Str(t, "id"), k.Str(t, "key")
	}()
	tg.Stop(t)
	for _, p := range probes {
		if got, body := p.svc.request(t, p.method, p.path, e2e.APIKeyHeader(unusedKey), p.body); got != http.StatusServiceUnavailable {
			t.Errorf("%s %s with an unseen key, Tollgate down: %d %s", p.method, p.path, got, body)
		}
	}
	for _, p := range []probe{
		{"messaging", messaging, "POST", "/channels/general/messages", map[string]string{"text": "anyone?"}},
		{"toolcore", toolcore, "PUT", "/tools/other", map[string]any{"name": "other"}},
		{"agent-runtime", runtime, "POST", "/run", map[string]string{"tool": "search"}},
	} {
		if got, body := p.svc.request(t, p.method, p.path, e2e.Bearer(ownerTok), p.body); got != http.StatusServiceUnavailable {
			t.Errorf("%s %s with a valid token, Tollgate down: %d %s", p.method, p.path, got, body)
		}
	}
	for _, name := range []string{"messaging", "toolcore", "agent-runtime"} {
		procs[name].Stop(t)
	}
}

func toolIDs(r e2e.Reply) []string {
	var ids []string
	list, _ := r["tools"].([]any)
	for _, v := range list {
		m, _ := v.(map[string]any)
		id, _ := m["id"].(string)
		ids = append(ids, id)
	}
	return ids
}

func wantReasons(t *testing.T, r e2e.Reply, want ...string) {
	t.Helper()
	var got []string
	list, _ := r["reasons"].([]any)
	for _, v := range list {
		s, _ := v.(string)
		got = append(got, s)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("reasons %v, want %v: %v", got, want, r)
	}
}

// processEnv is this process's environment without any Tollgate or service
// settings, which would change what is tested, plus extra.
func processEnv(extra ...string) []string {
	return e2e.Env([]string{"TOLLGATE_", "LISTEN="}, extra...)
}

// client talks to an example service; its request and call take the
// subtest's t, and request is usable from any goroutine.
type client struct{ *e2e.Client }

// request sends body as JSON (none when nil) with the headers h; a
// transport error is reported (t.Errorf, usable from any goroutine) as
// status 0.
func (c *client) request(t *testing.T, method, path string, h http.Header, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Error(err)
			return 0, nil
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.Base+path, rd)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	maps.Copy(req.Header, h)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e2e.HTTPClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return 0, nil
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

// call sends body with a bearer token and expects status; it returns the
// decoded answer (a problem document for errors).
func (c *client) call(t *testing.T, method, path, token string, body any, status int) e2e.Reply {
	t.Helper()
	got, out := c.request(t, method, path, e2e.Bearer(token), body)
	if got != status {
		t.Fatalf("%s %s%s: status %d, want %d: %s", method, c.Base, path, got, status, out)
	}
	var r e2e.Reply
	if len(out) > 0 {
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, out)
		}
	}
	return r
}
