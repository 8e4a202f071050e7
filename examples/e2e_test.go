package examples_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	bins := buildBinaries(t)
	natsURL := os.Getenv("TOLLGATE_TEST_NATS_URL")
	prefix := "e2e" + randomHex(8)
	const issuer = "http://tollgate.e2e"

	tgEnv := []string{
		"TOLLGATE_DATA_DIR=" + t.TempDir(),
		"TOLLGATE_ARGON2_MEMORY_KIB=64", "TOLLGATE_ARGON2_ITERATIONS=1",
		"TOLLGATE_LOG_FORMAT=json",
		"TOLLGATE_ISSUER=" + issuer,
	}
	if natsURL != "" {
		tgEnv = append(tgEnv, "TOLLGATE_NATS_URL="+natsURL, "TOLLGATE_NATS_PREFIX="+prefix)
	}
	const password = "a long and unusual passphrase"
	admin := func(args ...string) {
		t.Helper()
		cmd := exec.Command(bins["tollgate"], append([]string{"admin"}, args...)...)
		cmd.Env = processEnv(tgEnv...)
		cmd.Stdin = strings.NewReader(password + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
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

	tg := start(t, "tollgate", bins["tollgate"], tgEnv, "serve", "--listen", "127.0.0.1:0")
	tgURL := "http://" + tg.waitLine(t, func(line string) (string, bool) {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "tollgate listening" {
			return rec.Addr, true
		}
		return "", false
	})
	api := &client{t: t, base: tgURL}
	login := func(email string) (token, actorID, tenantID string) {
		t.Helper()
		r := api.send("POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password}, http.StatusOK)
		return r.str(t, "access_token"), r.str(t, "actor", "id"), r.str(t, "actor", "tenant_id")
	}
	ownerTok, _, tenantID := login("owner@acme.test")
	for email, role := range map[string]string{"admin@acme.test": "admin", "member@acme.test": "member", "colleague@acme.test": "member"} {
		api.send("POST", "/v1/tenants/"+tenantID+"/members", ownerTok, map[string]any{"email": email, "roles": []string{role}}, http.StatusCreated)
	}
	adminTok, _, _ := login("admin@acme.test")
	memberTok, memberID, memberTenant := login("member@acme.test")
	colleagueTok, _, _ := login("colleague@acme.test")
	outsiderTok, _, outsiderTenant := login("outsider@other.test")
	if memberTenant != tenantID || outsiderTenant == tenantID {
		t.Fatalf("member in tenant %q, outsider in %q; acme is %q", memberTenant, outsiderTenant, tenantID)
	}

	// One service account, authz:check, shared by the three services.
	svc := api.send("POST", "/v1/services", ownerTok, map[string]any{"name": "examples", "scopes": []string{"authz:check"}}, http.StatusCreated)
	svcEnv := []string{
		"TOLLGATE_URL=" + tgURL, "TOLLGATE_ISSUER=" + issuer, "LISTEN=127.0.0.1:0",
		"TOLLGATE_CLIENT_ID=" + svc.str(t, "client_id"), "TOLLGATE_CLIENT_SECRET=" + svc.str(t, "client_secret"),
	}
	if natsURL != "" {
		svcEnv = append(svcEnv, "TOLLGATE_NATS_URL="+natsURL, "TOLLGATE_NATS_PREFIX="+prefix)
	}
	services := map[string]*client{}
	procs := map[string]*process{}
	for _, name := range []string{"messaging", "toolcore", "agent-runtime"} {
		p := start(t, name, bins[name], svcEnv)
		procs[name] = p
		services[name] = &client{t: t, base: p.waitLine(t, func(line string) (string, bool) {
			return strings.CutPrefix(line, "listening on ")
		})}
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
		// The admin (channel_admin) and the creator manage it; the member does not.
		messaging.call(t, "PATCH", "/channels/general", memberTok, map[string]string{"name": "mine"}, http.StatusForbidden)
		messaging.call(t, "PATCH", "/channels/general", adminTok, map[string]string{"name": "general chat"}, http.StatusOK)
	})
	if t.Failed() {
		t.FailNow()
	}

	// The member's agent, its API key and a delegated token: the agent
	// acting for the member (RFC 8693).
	agent := api.send("POST", "/v1/tenants/"+tenantID+"/agents", memberTok, map[string]string{"name": "helper"}, http.StatusCreated)
	agentID, agentActor := agent.str(t, "id"), agent.str(t, "actor_id")
	key := api.send("POST", "/v1/api-keys", memberTok, map[string]any{"name": "helper-key", "actor_id": agentActor, "scopes": []string{"tenant:read"}}, http.StatusCreated)
	agentKeyID, agentKey := key.str(t, "id"), key.str(t, "key")
	delegated := api.form("/oauth/token", "", url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":      {memberTok},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"actor_token":        {agentKey},
		"actor_token_type":   {"urn:tollgate:params:oauth:token-type:api_key"},
	}, http.StatusOK).str(t, "access_token")

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
		if !strings.Contains(procs["agent-runtime"].output.String(), `"msg":"usage.tool"`) {
			t.Fatalf("no usage.tool event was reported:\n%s", procs["agent-runtime"].output.String())
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	t.Run("agent management", func(t *testing.T) {
		ask := func(tok string) reply {
			return api.send("POST", "/v1/authorize", tok, map[string]any{"action": "MANAGE_AGENT", "resource": map[string]string{"type": "agent", "id": agentID}}, http.StatusOK)
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
		if got, body := p.svc.request(t, p.method, p.path, apiKeyHeader(agentKey), p.body); got == http.StatusUnauthorized || got >= 500 {
			t.Fatalf("%s %s with the agent's key: %d %s", p.method, p.path, got, body)
		}
	}
	api.send("DELETE", "/v1/api-keys/"+agentKeyID, memberTok, nil, http.StatusNoContent)
	revoked := time.Now()
	deadline := time.Second
	if natsURL == "" {
		deadline = 10*time.Second + 20*time.Second // the introspection cache TTL, and slack
	}
	var wg sync.WaitGroup
	for _, p := range probes {
		wg.Go(func() {
			for {
				got, body := p.svc.request(t, p.method, p.path, apiKeyHeader(agentKey), p.body)
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
		k := api.send("POST", "/v1/api-keys", ownerTok, map[string]any{"name": "unused", "scopes": []string{"tenant:read"}}, http.StatusCreated)
		return k.str(t, "id"), k.str(t, "key")
	}()
	tg.stop(t)
	for _, p := range probes {
		if got, body := p.svc.request(t, p.method, p.path, apiKeyHeader(unusedKey), p.body); got != http.StatusServiceUnavailable {
			t.Errorf("%s %s with an unseen key, Tollgate down: %d %s", p.method, p.path, got, body)
		}
	}
	for _, p := range []probe{
		{"messaging", messaging, "POST", "/channels/general/messages", map[string]string{"text": "anyone?"}},
		{"toolcore", toolcore, "PUT", "/tools/other", map[string]any{"name": "other"}},
		{"agent-runtime", runtime, "POST", "/run", map[string]string{"tool": "search"}},
	} {
		if got, body := p.svc.request(t, p.method, p.path, bearer(ownerTok), p.body); got != http.StatusServiceUnavailable {
			t.Errorf("%s %s with a valid token, Tollgate down: %d %s", p.method, p.path, got, body)
		}
	}
	for _, name := range []string{"messaging", "toolcore", "agent-runtime"} {
		procs[name].stop(t)
	}
}

func toolIDs(r reply) []string {
	var ids []string
	list, _ := r["tools"].([]any)
	for _, v := range list {
		m, _ := v.(map[string]any)
		id, _ := m["id"].(string)
		ids = append(ids, id)
	}
	return ids
}

func wantReasons(t *testing.T, r reply, want ...string) {
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

// buildBinaries builds tollgate and the examples in one go build, with the
// race detector when this test has it.
func buildBinaries(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if raceEnabled() {
		args = append(args, "-race")
	}
	const mod = "github.com/tollgate/tollgate/"
	names := []string{"tollgate", "messaging", "toolcore", "agent-runtime"}
	args = append(args, mod+"cmd/tollgate", mod+"examples/messaging", mod+"examples/toolcore", mod+"examples/agent-runtime")
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	bins := map[string]string{}
	for _, n := range names {
		bins[n] = filepath.Join(dir, n)
	}
	return bins
}
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// processEnv is this process's environment without any Tollgate or whoami
// settings, which would change what is tested, plus extra.
func processEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TOLLGATE_") && !strings.HasPrefix(kv, "LISTEN=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// process is a started binary whose stdout is read line by line and whose
// output is kept for failure messages.
type process struct {
	name   string
	cmd    *exec.Cmd
	lines  chan string
	output *lockedBuffer
	exited chan struct{}
	err    error // set before exited is closed
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func start(t *testing.T, name, bin string, env []string, args ...string) *process {
	t.Helper()
	p := &process{name: name, cmd: exec.Command(bin, args...), lines: make(chan string, 64), output: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd.Env = processEnv(env...)
	p.cmd.Stderr = p.output
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			_, _ = p.output.Write([]byte(line + "\n"))
			select {
			case p.lines <- line:
			default: // nobody is waiting for lines any more
			}
		}
		_, _ = io.Copy(p.output, stdout)
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.output.String())
		}
	})
	return p
}

// waitLine returns what match extracts from the first stdout line it
// accepts.
func (p *process) waitLine(t *testing.T, match func(line string) (string, bool)) string {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line := <-p.lines:
			if v, ok := match(line); ok {
				return v
			}
		case <-p.exited:
			t.Fatalf("%s exited before it was ready: %v\n%s", p.name, p.err, p.output.String())
		case <-timeout:
			t.Fatalf("%s did not get ready in time\n%s", p.name, p.output.String())
		}
	}
}

// stop sends SIGTERM and expects a clean exit: status 0, which also means
// no data race was reported when the binaries have the race detector.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not exit after SIGTERM", p.name)
	}
	if p.err != nil {
		t.Fatalf("%s exited with %v\n%s", p.name, p.err, p.output.String())
	}
}

// client talks to one of the two servers.
type client struct {
	t    *testing.T
	base string
}

var httpClient = &http.Client{Timeout: 15 * time.Second}

// reply is a decoded JSON answer.
type reply map[string]any

func (r reply) str(t *testing.T, path ...string) string {
	t.Helper()
	var v any = map[string]any(r)
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	s, _ := v.(string)
	if s == "" {
		t.Fatalf("no %s in %v", strings.Join(path, "."), r)
	}
	return s
}

func (c *client) do(req *http.Request) (int, []byte) {
	c.t.Helper()
	res, err := httpClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, body
}

func (c *client) expect(req *http.Request, status int) reply {
	c.t.Helper()
	got, body := c.do(req)
	if got != status {
		c.t.Fatalf("%s %s: status %d, want %d: %s", req.Method, req.URL.Path, got, status, body)
	}
	var r reply
	if len(body) > 0 {
		if err := json.Unmarshal(body, &r); err != nil {
			c.t.Fatalf("%s %s: %v: %s", req.Method, req.URL.Path, err, body)
		}
	}
	return r
}

// send sends body as JSON (none when nil) with an optional bearer token.
func (c *client) send(method, path, token string, body any, status int) reply {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return c.expect(req, status)
}

// form posts a token request; basic is "id:secret" for HTTP Basic, or "".
func (c *client) form(path, basic string, v url.Values, status int) reply {
	c.t.Helper()
	req, err := http.NewRequest("POST", c.base+path, strings.NewReader(v.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id, secret, ok := strings.Cut(basic, ":"); ok {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return c.expect(req, status)
}

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
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	maps.Copy(req.Header, h)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := httpClient.Do(req)
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
func (c *client) call(t *testing.T, method, path, token string, body any, status int) reply {
	t.Helper()
	got, out := c.request(t, method, path, bearer(token), body)
	if got != status {
		t.Fatalf("%s %s%s: status %d, want %d: %s", method, c.base, path, got, status, out)
	}
	var r reply
	if len(out) > 0 {
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, out)
		}
	}
	return r
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func apiKeyHeader(key string) http.Header { return http.Header{"X-Api-Key": {key}} }
