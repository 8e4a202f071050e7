// Package e2e runs Tollgate and example services as real processes for the
// end-to-end tests (examples/e2e_test.go and examples/whoami/e2e_test.go):
// it builds the binaries, starts them on free loopback ports, waits until
// they are ready, talks to them over HTTP and stops them when a test ends.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Build builds the packages (import paths) in one go build, with the race
// detector when the running test has it, so that the processes are checked
// too. It returns each binary's path by its name, the last element of its
// import path.
func Build(t *testing.T, pkgs ...string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if raceEnabled() {
		args = append(args, "-race")
	}
	args = append(args, pkgs...)
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	bins := map[string]string{}
	for _, p := range pkgs {
		bins[path.Base(p)] = filepath.Join(dir, path.Base(p))
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

// Env is this process's environment without the variables whose
// "NAME=value" starts with one of drop, plus extra.
func Env(drop []string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !hasAnyPrefix(kv, drop) {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// Issuer is the issuer Tollgate is configured with: it listens on port 0,
// so the issuer cannot be derived from its address.
const Issuer = "http://tollgate.e2e"

// TollgateEnv configures Tollgate through the environment only: a fresh
// data directory, cheap password hashing, JSON logs (which StartTollgate
// reads), Issuer and, when natsURL is not "", the NATS bus under prefix and
// a usage stream of the test's own over <prefix>.usage.>, deleted when the
// test ends (tollgate serve creates it; the default usage.> would be shared
// with everything else on the server).
func TollgateEnv(t *testing.T, natsURL, prefix string) []string {
	env := []string{
		"TOLLGATE_DATA_DIR=" + t.TempDir(),
		"TOLLGATE_ARGON2_MEMORY_KIB=64", "TOLLGATE_ARGON2_ITERATIONS=1",
		"TOLLGATE_LOG_FORMAT=json",
		"TOLLGATE_ISSUER=" + Issuer,
	}
	if natsURL != "" {
		stream := "E2E_USAGE_" + prefix
		env = append(env, "TOLLGATE_NATS_URL="+natsURL, "TOLLGATE_NATS_PREFIX="+prefix,
			"TOLLGATE_USAGE_STREAM="+stream, "TOLLGATE_USAGE_SUBJECTS="+prefix+".usage.>")
		t.Cleanup(func() { deleteStream(t, natsURL, stream) })
	}
	return env
}

// deleteStream deletes a JetStream stream, if it exists.
func deleteStream(t *testing.T, natsURL, name string) {
	nc, err := natsgo.Connect(natsURL)
	if err != nil {
		t.Errorf("deleting stream %s: %v", name, err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err == nil {
		err = js.DeleteStream(context.Background(), name)
	}
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("deleting stream %s: %v", name, err)
	}
}

// Admin runs "tollgate admin args" with the environment env (see Env),
// giving password on its standard input, and returns its combined output.
func Admin(bin string, env []string, password string, args ...string) ([]byte, error) {
	cmd := exec.Command(bin, append([]string{"admin"}, args...)...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(password + "\n")
	return cmd.CombinedOutput()
}

// RandomHex returns n random bytes, hex-encoded.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Process is a started binary whose stdout is read line by line and whose
// output is kept for failure messages.
type Process struct {
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

// Start runs bin with args and exactly the environment env (see Env). The
// process is killed, if still running, when t ends, and its output logged
// if t failed.
func Start(t *testing.T, name, bin string, env []string, args ...string) *Process {
	t.Helper()
	p := &Process{name: name, cmd: exec.Command(bin, args...), lines: make(chan string, 64), output: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd.Env = env
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

// StartTollgate runs "tollgate serve" on a free loopback port with the
// environment env and returns the process and its base URL once it listens.
func StartTollgate(t *testing.T, bin string, env []string) (*Process, string) {
	t.Helper()
	tg := Start(t, "tollgate", bin, env, "serve", "--listen", "127.0.0.1:0")
	addr := tg.WaitLine(t, func(line string) (string, bool) {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "tollgate listening" {
			return rec.Addr, true
		}
		return "", false
	})
	return tg, "http://" + addr
}

// ListeningOn matches the "listening on URL" line an example service
// prints when it is ready, for WaitLine.
func ListeningOn(line string) (string, bool) {
	return strings.CutPrefix(line, "listening on ")
}

// Output is what the process has written so far, stdout and stderr.
func (p *Process) Output() string { return p.output.String() }

// WaitLine returns what match extracts from the first stdout line it
// accepts.
func (p *Process) WaitLine(t *testing.T, match func(line string) (string, bool)) string {
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

// Stop sends SIGTERM and expects a clean exit: status 0, which also means
// no data race was reported when the binaries have the race detector.
func (p *Process) Stop(t *testing.T) {
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

// Client talks to one of the servers, failing T on any surprise.
type Client struct {
	T    *testing.T
	Base string
}

// HTTPClient is the client every request of the tests goes through.
var HTTPClient = &http.Client{Timeout: 15 * time.Second}

// Reply is a decoded JSON answer.
type Reply map[string]any

// Str returns the non-empty string at path, or fails t.
func (r Reply) Str(t *testing.T, path ...string) string {
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

func (c *Client) do(req *http.Request) (int, []byte) {
	c.T.Helper()
	res, err := HTTPClient.Do(req)
	if err != nil {
		c.T.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, body
}

func (c *Client) expect(req *http.Request, status int) Reply {
	c.T.Helper()
	got, body := c.do(req)
	if got != status {
		c.T.Fatalf("%s %s: status %d, want %d: %s", req.Method, req.URL.Path, got, status, body)
	}
	var r Reply
	if len(body) > 0 {
		if err := json.Unmarshal(body, &r); err != nil {
			c.T.Fatalf("%s %s: %v: %s", req.Method, req.URL.Path, err, body)
		}
	}
	return r
}

// Send sends body as JSON (none when nil) with an optional bearer token.
func (c *Client) Send(method, path, token string, body any, status int) Reply {
	c.T.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.T.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.Base+path, rd)
	if err != nil {
		c.T.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return c.expect(req, status)
}

// Form posts a token request; basic is "id:secret" for HTTP Basic, or "".
func (c *Client) Form(path, basic string, v url.Values, status int) Reply {
	c.T.Helper()
	req, err := http.NewRequest("POST", c.Base+path, strings.NewReader(v.Encode()))
	if err != nil {
		c.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id, secret, ok := strings.Cut(basic, ":"); ok {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return c.expect(req, status)
}

// Bearer is an Authorization header with the bearer token tok.
func Bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// APIKeyHeader is an X-Api-Key header with key.
func APIKeyHeader(key string) http.Header { return http.Header{"X-Api-Key": {key}} }
