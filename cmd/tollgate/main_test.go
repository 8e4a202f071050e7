package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/password"
)

// TestMain lets the test binary stand in for tollgate when serve starts its
// password hashing worker (os.Executable is the test binary here).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == hashWorkerCommand {
		if err := password.ServeWorker(os.Stdin, os.Stdout); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// syncBuffer collects a running command's output.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// run executes one CLI invocation in-process.
func run(t *testing.T, env map[string]string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut syncBuffer
	e := &environment{
		stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut,
		getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	}
	err := dispatch(context.Background(), e, rootCommand(), "tollgate", args)
	return out.String(), errOut.String(), err
}

// fastHashing keeps argon2id cheap in tests; every command gets it so that
// hashes written by admin commands verify under the server's parameters.
func testEnv(dir string) map[string]string {
	return map[string]string{
		"TOLLGATE_DATA_DIR":             dir,
		"TOLLGATE_ARGON2_MEMORY_KIB":    "64",
		"TOLLGATE_ARGON2_ITERATIONS":    "1",
		"TOLLGATE_LOG_FORMAT":           "json",
		"TOLLGATE_KEY_REFRESH_INTERVAL": "50ms",
	}
}

func TestHelpAndVersion(t *testing.T) {
	env := testEnv(t.TempDir())
	for _, args := range [][]string{{"--help"}, {"admin", "--help"}, {"admin", "user", "--help"}, {"migrate", "help"}} {
		out, _, err := run(t, env, "", args...)
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: %v %q", args, err, out)
		}
	}
	for _, args := range [][]string{{"serve", "--help"}, {"admin", "bootstrap", "-h"}} {
		_, stderr, err := run(t, env, "", args...)
		if !strings.Contains(stderr, "Usage:") || err == nil {
			t.Errorf("%v: %v %q", args, err, stderr)
		}
	}
	if _, _, err := run(t, env, "", "frobnicate"); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Errorf("unknown command: %v", err)
	}
	out, _, err := run(t, env, "", "version")
	if err != nil || !strings.HasPrefix(out, "tollgate dev") {
		t.Errorf("version: %v %q", err, out)
	}
}

func TestPrintConfigRedactsSecrets(t *testing.T) {
	env := testEnv(t.TempDir())
	env["TOLLGATE_MASTER_KEY"] = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg=="
	env["TOLLGATE_DATABASE_URL"] = "postgres://tg:hunter2@db.internal/tollgate"
	out, _, err := run(t, env, "", "serve", "--print-config", "--listen", "127.0.0.1:9999")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "hunter2") || strings.Contains(out, "c2VjcmV0") || !strings.Contains(out, "listen: 127.0.0.1:9999") {
		t.Fatalf("print-config:\n%s", out)
	}
}

func TestBootstrapRefusesBadInput(t *testing.T) {
	env := testEnv(t.TempDir())
	cases := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"no email", "long enough password\n", []string{"--tenant", "acme"}, "required"},
		{"bad slug", "long enough password\n", []string{"--email", "a@example.com", "--tenant", "A"}, "slug"},
		{"common password", "password123\n", []string{"--email", "a@example.com", "--tenant", "acme"}, "common"},
		{"short password", "short\n", []string{"--email", "a@example.com", "--tenant", "acme"}, "at least"},
		{"no terminal", "", []string{"--email", "a@example.com", "--tenant", "acme"}, "--password-stdin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"admin", "bootstrap"}, c.args...)
			if c.name != "no terminal" {
				args = append(args, "--password-stdin")
			}
			_, _, err := run(t, env, c.stdin, args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
	out, _, _ := run(t, env, "", "admin", "user", "list")
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("bad bootstraps left users:\n%s", out)
	}
}

// TestServeEndToEnd runs the real serve command with admin commands beside
// it, as an operator would.
func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	env := testEnv(dir)
	env["TOLLGATE_METRICS_TOKEN"] = testMetricsToken
	const pw = "a long and unusual passphrase"
	out, _, err := run(t, env, pw+"\n", "admin", "bootstrap", "--email", "Root@Example.com", "--tenant", "acme", "--password-stdin")
	if err != nil || !strings.Contains(out, "platform admin") {
		t.Fatalf("bootstrap: %v %q", err, out)
	}
	if _, _, err := run(t, env, pw+"\n", "admin", "bootstrap", "--email", "x@example.com", "--tenant", "other", "--password-stdin"); err == nil {
		t.Fatal("second bootstrap accepted")
	}
	legacy, _ := bcrypt.GenerateFromPassword([]byte("legacy password from 2019"), 4)
	if _, _, err := run(t, env, "", "admin", "user", "create", "--email", "old@example.com", "--password-hash", string(legacy)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, env, "", "admin", "user", "create", "--email", "bad@example.com", "--password-hash", "plaintext"); err == nil {
		t.Fatal("non-hash accepted as --password-hash")
	}
	if _, _, err := run(t, env, "", "admin", "tenant", "create", "--slug", "old-team", "--owner", "old@example.com"); err != nil {
		t.Fatal(err)
	}
	list, _, _ := run(t, env, "", "admin", "tenant", "list")
	if !strings.Contains(list, "acme") || !strings.Contains(list, "old-team") {
		t.Fatalf("tenant list:\n%s", list)
	}
	status, _, _ := run(t, env, "", "migrate", "status")
	if !strings.Contains(status, "up to date") {
		t.Fatalf("migrate status:\n%s", status)
	}

	// Serve on a free port; learn the address from the log.
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw2 := io.Pipe()
	e := &environment{stdin: strings.NewReader(""), stdout: pw2, stderr: io.Discard,
		getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	done := make(chan error, 1)
	go func() {
		done <- dispatch(ctx, e, rootCommand(), "tollgate", []string{"serve", "--listen", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"})
		pw2.Close()
	}()
	lines := bufio.NewScanner(pr)
	var addr, metricsAddr string
	for lines.Scan() {
		var rec map[string]any
		if json.Unmarshal(lines.Bytes(), &rec) == nil && rec["msg"] == "metrics listening" {
			metricsAddr = rec["addr"].(string)
		}
		if json.Unmarshal(lines.Bytes(), &rec) == nil && rec["msg"] == "tollgate listening" {
			addr = rec["addr"].(string)
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if addr == "" {
		cancel()
		t.Fatalf("server did not start: %v", <-done)
	}
	base := "http://" + addr

	// /metrics is on its own listener, behind the metrics token.
	scrape := func(url, token string) int {
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if metricsAddr == "" {
		t.Fatal("no metrics listener")
	}
	for _, c := range []struct {
		url, token string
		want       int
	}{
		{"http://" + metricsAddr + "/metrics", testMetricsToken, 200},
		{"http://" + metricsAddr + "/metrics", "", 401},
		{"http://" + metricsAddr + "/metrics", "wrong-token-0123456789", 401},
		{base + "/metrics", testMetricsToken, 404},
	} {
		if got := scrape(c.url, c.token); got != c.want {
			t.Fatalf("GET %s with token %q: %d, want %d", c.url, c.token, got, c.want)
		}
	}

	login := func(email, password string) int {
		body := `{"email":"` + email + `","password":"` + password + `"}`
		res, err := http.Post(base+"/v1/auth/login", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := login("root@example.com", pw); got != 200 {
		t.Fatalf("root login: %d", got)
	}
	// A legacy bcrypt hash verifies and is upgraded to argon2id.
	if got := login("old@example.com", "legacy password from 2019"); got != 200 {
		t.Fatalf("legacy login: %d", got)
	}
	st := openDB(t, dir)
	u, err := st.GetUserByEmail(context.Background(), "old@example.com")
	// The admin commands' acts are the operator's, in the audit log.
	platform, aerr := st.ReadAudit(context.Background(), "", 0, 10)
	st.Close()
	if aerr != nil || len(platform) != 2 || platform[0].Action != audit.ActionUserCreate || platform[1].Action != audit.ActionUserCreate ||
		platform[0].ActorID != "operator" || platform[0].CredentialKind != "command_line" || platform[1].UserAgent != "tollgate admin user create" {
		t.Fatalf("the platform stream after bootstrap and user create: %+v %v", platform, aerr)
	}
	if err != nil || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("legacy hash not upgraded: %v %q", err, u.PasswordHash)
	}
	if got := login("old@example.com", "legacy password from 2019"); got != 200 {
		t.Fatalf("login after upgrade: %d", got)
	}

	// A key rotated by the CLI reaches the running server.
	if _, _, err := run(t, env, "", "admin", "keys", "rotate"); err != nil {
		t.Fatal(err)
	}
	if !eventually(func() bool { return countKeys(t, base) == 2 }) {
		t.Fatalf("JWKS did not pick up the rotated key")
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v after shutdown", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "master.key")); err != nil {
		t.Fatalf("master key not generated: %v", err)
	}
}

const testMetricsToken = "scrape-token-0123456789"

func countKeys(t *testing.T, base string) int {
	res, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set struct{ Keys []any }
	_ = json.NewDecoder(res.Body).Decode(&set)
	return len(set.Keys)
}

// eventually polls cond for up to 20 seconds: long enough for a loaded CI
// machine, and it returns as soon as cond holds.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func TestWorkerEnvDropsSecrets(t *testing.T) {
	got := workerEnv([]string{"PATH=/bin", "TOLLGATE_MASTER_KEY=secret", "TOLLGATE_DATABASE_URL=postgres://x", "GOGC=100"})
	if strings.Join(got, " ") != "PATH=/bin GOGC=100" {
		t.Fatalf("worker env = %v", got)
	}
}
