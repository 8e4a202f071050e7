package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
	"github.com/tollgate/tollgate/token"
)

// tollgate serves a real JWK Set; the SDK's own tests cover API keys.
type tollgate struct {
	*httptest.Server
	kr *token.Keyring
}

func newTollgate(t *testing.T) *tollgate {
	sealer, err := token.NewSealer(bytes.Repeat([]byte{1}, token.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	kr := token.NewKeyring(sqlitetest.Open(t), sealer, token.KeyringOptions{})
	if err := kr.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	tg := &tollgate{kr: kr}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(kr.JWKS())
	}))
	t.Cleanup(tg.Close)
	return tg
}

func (tg *tollgate) token(t *testing.T, scope ...string) string {
	now := time.Now()
	raw, err := tg.kr.Sign(token.Claims{
		Issuer: tg.URL, Subject: "user:93", Audience: []string{"tollgate"}, ExpiresAt: now.Add(5 * time.Minute),
		IssuedAt: now, ID: fmt.Sprint(now.UnixNano()), SessionID: "sess-1", TenantID: "tenant-1",
		Roles: []string{"member"}, ActorType: identity.ActorHuman, Scope: scope,
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// firstLine reads the "listening on" line and returns the base URL.
func firstLine(t *testing.T, r io.Reader) string {
	t.Helper()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the first line: %v", err)
	}
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("first line %q", line)
	}
	return base
}

func get(t *testing.T, url, bearer string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func TestWhoami(t *testing.T) {
	tg := newTollgate(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	env := map[string]string{"TOLLGATE_URL": tg.URL}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, pw, io.Discard)
		pw.Close()
	}()
	base := firstLine(t, pr)
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	member, admin := tg.token(t, "tenant:read"), tg.token(t, "tenant:read", "tenant:write")
	tests := []struct {
		path, bearer string
		status       int
		code         string // problem code, or "" for a JSON ActorContext
	}{
		{"/healthz", "", 200, ""},
		{"/whoami", "", 401, "missing_credential"},
		{"/whoami", "garbage", 401, "invalid_token"},
		{"/whoami", member, 200, ""},
		{"/admin", "", 401, "missing_credential"},
		{"/admin", member, 403, "permission_denied"},
		{"/admin", admin, 200, ""},
		{"/nowhere", "", 401, "missing_credential"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.path, " ", tt.status), func(t *testing.T) {
			status, body := get(t, base+tt.path, tt.bearer)
			if status != tt.status {
				t.Fatalf("status %d: %s", status, body)
			}
			switch {
			case tt.path == "/healthz":
			case tt.code != "":
				var p struct{ Code string }
				if err := json.Unmarshal(body, &p); err != nil || p.Code != tt.code {
					t.Fatalf("problem %s, want %s", body, tt.code)
				}
			default:
				var ac identity.ActorContext
				if err := json.Unmarshal(body, &ac); err != nil || ac.ActorID != "user:93" || ac.Credential != "session" {
					t.Fatalf("%v: %s", err, body)
				}
			}
		})
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestParseConfig(t *testing.T) {
	env := map[string]string{
		"TOLLGATE_URL": "http://tg:1", "TOLLGATE_CLIENT_ID": "id", "TOLLGATE_CLIENT_SECRET": "secret",
		"TOLLGATE_NATS_URL": "nats://n:4222",
	}
	c, err := parseConfig([]string{"-addr", ":1", "-audience", ""}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := config{
		tollgate: "http://tg:1", clientID: "id", clientSecret: "secret", natsURL: "nats://n:4222",
		natsPrefix: "tollgate", addr: ":1",
	}
	if c != want {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
	c, err = parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil || c.addr != "127.0.0.1:8090" || c.tollgate != "http://127.0.0.1:9200" || c.audience != "tollgate" {
		t.Fatalf("defaults %+v, %v", c, err)
	}
	for _, args := range [][]string{{"-nope"}, {"extra"}} {
		if _, err := parseConfig(args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

// The built binary prints its address, serves, and exits cleanly on
// SIGTERM.
func TestBinaryGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	tg := newTollgate(t)
	bin := filepath.Join(t.TempDir(), "whoami")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-tollgate", tg.URL)
	cmd.Env = append(os.Environ(), "TOLLGATE_CLIENT_ID=", "TOLLGATE_CLIENT_SECRET=", "TOLLGATE_NATS_URL=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	base := firstLine(t, stdout)
	if status, body := get(t, base+"/whoami", tg.token(t)); status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Fatalf("no shutdown in the log:\n%s", stderr.String())
	}
}
