package main_test

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
	bins := buildBinaries(t)
	natsURL := os.Getenv("TOLLGATE_TEST_NATS_URL")
	prefix := "e2e" + randomHex(8)
	const issuer = "http://tollgate.e2e"

	// Tollgate, configured through the environment only.
	tgEnv := []string{
		"TOLLGATE_DATA_DIR=" + t.TempDir(),
		"TOLLGATE_ARGON2_MEMORY_KIB=64", "TOLLGATE_ARGON2_ITERATIONS=1",
		"TOLLGATE_LOG_FORMAT=json",
		// The listen address is :0, so the issuer cannot be derived from it.
		"TOLLGATE_ISSUER=" + issuer,
	}
	if natsURL != "" {
		tgEnv = append(tgEnv, "TOLLGATE_NATS_URL="+natsURL, "TOLLGATE_NATS_PREFIX="+prefix)
	}
	const email, password = "root@example.com", "a long and unusual passphrase"
	bootstrap := exec.Command(bins.tollgate, "admin", "bootstrap", "--email", email, "--tenant", "acme", "--password-stdin")
	bootstrap.Env = processEnv(tgEnv...)
	bootstrap.Stdin = strings.NewReader(password + "\n")
	if out, err := bootstrap.CombinedOutput(); err != nil || !strings.Contains(string(out), "platform admin") {
		t.Fatalf("bootstrap: %v\n%s", err, out)
	}
	tg := start(t, "tollgate", bins.tollgate, tgEnv, "serve", "--listen", "127.0.0.1:0")
	tgURL := "http://" + tg.waitLine(t, func(line string) (string, bool) {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "tollgate listening" {
			return rec.Addr, true
		}
		return "", false
	})
	api := &client{t: t, base: tgURL}

	// An admin signs in and sets up a service, an agent and their keys.
	login := api.send("POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password}, http.StatusOK)
	session := login.str(t, "access_token")
	userID, tenantID := login.str(t, "actor", "id"), login.str(t, "actor", "tenant_id")
	sessionID := login.str(t, "session_id")

	svc := api.send("POST", "/v1/services", session, map[string]any{"name": "whoami", "description": "the example service"}, http.StatusCreated)
	clientID, clientSecret, serviceActor := svc.str(t, "client_id"), svc.str(t, "client_secret"), svc.str(t, "actor_id")

	agent := api.send("POST", "/v1/tenants/"+tenantID+"/agents", session, map[string]string{"name": "helper"}, http.StatusCreated)
	agentActor := agent.str(t, "actor_id")

	newKey := func(name, holder string, scopes ...string) (id, raw string) {
		body := map[string]any{"name": name, "scopes": scopes}
		if holder != "" {
			body["actor_id"] = holder
		}
		k := api.send("POST", "/v1/api-keys", session, body, http.StatusCreated)
		return k.str(t, "id"), k.str(t, "key")
	}
	humanKeyID, humanKey := newKey("laptop", "", "tenant:read", "tenant:write")
	_, memberKey := newKey("read-only", "", "tenant:read", "members:read")
	_, unusedKey := newKey("never-used", "", "tenant:read")
	agentKeyID, agentKey := newKey("helper-key", agentActor, "tenant:read", "agents:read")

	// The agent acts for the admin (RFC 8693), and the service gets a token
	// of its own.
	delegated := api.form("/oauth/token", "", url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":      {session},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"actor_token":        {agentKey},
		"actor_token_type":   {"urn:tollgate:params:oauth:token-type:api_key"},
	}, http.StatusOK).str(t, "access_token")
	serviceToken := api.form("/oauth/token", clientID+":"+clientSecret, url.Values{
		"grant_type": {"client_credentials"},
	}, http.StatusOK).str(t, "access_token")

	// whoami, registered as the service above.
	whoamiArgs := []string{"-addr", "127.0.0.1:0", "-tollgate", tgURL, "-issuer", issuer}
	if natsURL != "" {
		whoamiArgs = append(whoamiArgs, "-nats", natsURL, "-nats-prefix", prefix)
	}
	wh := start(t, "whoami", bins.whoami, []string{"TOLLGATE_CLIENT_ID=" + clientID, "TOLLGATE_CLIENT_SECRET=" + clientSecret}, whoamiArgs...)
	whoami := &client{t: t, base: wh.waitLine(t, func(line string) (string, bool) {
		return strings.CutPrefix(line, "listening on ")
	})}

	wantActor := func(t *testing.T, ac identity.ActorContext, actorID, actorType, credential, onBehalfOf string) {
		t.Helper()
		if ac.ActorID != actorID || ac.ActorType != actorType || ac.Credential != credential || ac.OnBehalfOf != onBehalfOf {
			t.Fatalf("got actor %q (%s) by %s on behalf of %q; want %q (%s) by %s on behalf of %q",
				ac.ActorID, ac.ActorType, ac.Credential, ac.OnBehalfOf, actorID, actorType, credential, onBehalfOf)
		}
	}
	t.Run("session", func(t *testing.T) {
		ac := whoami.actor(t, "/whoami", bearer(session))
		wantActor(t, ac, userID, identity.ActorHuman, identity.CredentialSession, "")
		if ac.TenantID != tenantID || ac.SessionID != sessionID || !slices.Equal(ac.Roles, []string{"owner"}) {
			t.Fatalf("tenant %q session %q roles %v", ac.TenantID, ac.SessionID, ac.Roles)
		}
		whoami.actor(t, "/admin", bearer(session))
	})
	t.Run("human API key", func(t *testing.T) {
		for _, h := range []http.Header{apiKeyHeader(humanKey), bearer(humanKey)} {
			ac := whoami.actor(t, "/whoami", h)
			wantActor(t, ac, userID, identity.ActorHuman, identity.CredentialAPIKey, "")
			if ac.CredentialID != humanKeyID || ac.TenantID != tenantID || !slices.Equal(ac.Permissions, []string{"tenant:read", "tenant:write"}) {
				t.Fatalf("credential %q tenant %q permissions %v", ac.CredentialID, ac.TenantID, ac.Permissions)
			}
		}
		whoami.actor(t, "/admin", apiKeyHeader(humanKey))
	})
	t.Run("member-scoped API key", func(t *testing.T) {
		wantActor(t, whoami.actor(t, "/whoami", apiKeyHeader(memberKey)), userID, identity.ActorHuman, identity.CredentialAPIKey, "")
		whoami.problem(t, "/admin", apiKeyHeader(memberKey), http.StatusForbidden, "permission_denied")
	})
	t.Run("agent API key", func(t *testing.T) {
		ac := whoami.actor(t, "/whoami", apiKeyHeader(agentKey))
		wantActor(t, ac, agentActor, identity.ActorAgent, identity.CredentialAPIKey, "")
		if ac.CredentialID != agentKeyID {
			t.Fatalf("credential %q, want %q", ac.CredentialID, agentKeyID)
		}
	})
	t.Run("delegated token", func(t *testing.T) {
		ac := whoami.actor(t, "/whoami", bearer(delegated))
		wantActor(t, ac, agentActor, identity.ActorAgent, identity.CredentialDelegation, userID)
		if ac.TenantID != tenantID || ac.SessionID != sessionID || !slices.Equal(ac.Permissions, []string{"agents:read", "tenant:read"}) {
			t.Fatalf("tenant %q session %q permissions %v", ac.TenantID, ac.SessionID, ac.Permissions)
		}
		whoami.problem(t, "/admin", bearer(delegated), http.StatusForbidden, "permission_denied")
	})
	t.Run("service token", func(t *testing.T) {
		wantActor(t, whoami.actor(t, "/whoami", bearer(serviceToken)), serviceActor, identity.ActorService, identity.CredentialClientCredentials, "")
	})
	t.Run("bad credentials", func(t *testing.T) {
		whoami.problem(t, "/whoami", nil, http.StatusUnauthorized, "missing_credential")
		whoami.problem(t, "/whoami", apiKeyHeader(humanKey+"x"), http.StatusUnauthorized, "invalid_api_key")
		whoami.problem(t, "/whoami", bearer(session+"x"), http.StatusUnauthorized, "invalid_token")
	})
	if t.Failed() {
		t.FailNow()
	}

	// Revoking a key whoami has cached: over the bus it is rejected within
	// seconds; without, once the cache entry expires (authn.DefaultCacheTTL).
	api.send("DELETE", "/v1/api-keys/"+humanKeyID, session, nil, http.StatusNoContent)
	deadline := 5 * time.Second
	if natsURL == "" {
		deadline = 10*time.Second + 20*time.Second // the cache TTL, and slack for a loaded machine
	}
	took := whoami.waitStatus(t, "/whoami", apiKeyHeader(humanKey), http.StatusUnauthorized, deadline)
	t.Logf("whoami rejected the revoked API key %v after the revocation (NATS: %v)", took.Round(time.Millisecond), natsURL != "")
	whoami.problem(t, "/whoami", apiKeyHeader(humanKey), http.StatusUnauthorized, "")

	if natsURL != "" {
		// A logout ends the session's tokens and those delegated from it.
		api.send("POST", "/v1/auth/logout", session, nil, http.StatusNoContent)
		whoami.waitStatus(t, "/whoami", bearer(session), http.StatusUnauthorized, deadline)
		whoami.problem(t, "/whoami", bearer(session), http.StatusUnauthorized, "token_revoked")
		whoami.problem(t, "/whoami", bearer(delegated), http.StatusUnauthorized, "token_revoked")
	}

	// With Tollgate gone, whoami fails closed on an API key it has not
	// seen: 503, not 401 and never 200. Tokens still verify with the keys
	// it already has.
	tg.stop(t)
	whoami.problem(t, "/whoami", apiKeyHeader(unusedKey), http.StatusServiceUnavailable, "unavailable")
	wantActor(t, whoami.actor(t, "/whoami", bearer(serviceToken)), serviceActor, identity.ActorService, identity.CredentialClientCredentials, "")
	wh.stop(t)
}

type binaries struct{ tollgate, whoami string }

// buildBinaries builds both commands in one go build, with the race
// detector when this test has it, so that the processes are checked too.
func buildBinaries(t *testing.T) binaries {
	t.Helper()
	dir := t.TempDir()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if raceEnabled() {
		args = append(args, "-race")
	}
	args = append(args, "github.com/tollgate/tollgate/cmd/tollgate", "github.com/tollgate/tollgate/examples/whoami")
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return binaries{tollgate: filepath.Join(dir, "tollgate"), whoami: filepath.Join(dir, "whoami")}
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
		if !strings.HasPrefix(kv, "TOLLGATE_") && !strings.HasPrefix(kv, "WHOAMI_") {
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

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func apiKeyHeader(key string) http.Header { return http.Header{"X-Api-Key": {key}} }

func (c *client) get(t *testing.T, path string, h http.Header) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(req.Header, h)
	res, err := httpClient.Do(req)
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
