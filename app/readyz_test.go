package app_test

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// TestReadyzFollowsRedis takes the replica's Redis away behind a TCP proxy:
// sign-ins fail closed and /readyz answers 503 ratelimit_unavailable; when
// Redis is back /readyz turns 200 by itself, without other traffic.
func TestReadyzFollowsRedis(t *testing.T) {
	redisURL := os.Getenv("TOLLGATE_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("TOLLGATE_TEST_REDIS_URL is not set; the readiness test needs a real Redis")
	}
	u, err := url.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	prefix := "tgready-" + randomHex(6)
	t.Cleanup(func() { deleteRedisKeys(t, redisURL, prefix) })

	cfg := readyConfig(t)
	cfg.RedisURL, cfg.RedisPrefix = u.String(), prefix
	r := startReplica(t, cfg, sqlitetest.Open(t), readyMasterKey())

	wantReady(t, r.url, 200, "")
	if got := signIn(t, r.url); got != http.StatusUnauthorized {
		t.Fatalf("sign-in with Redis up: %d, want 401 (no such account)", got)
	}

	proxy.down()
	if got := signIn(t, r.url); got != http.StatusServiceUnavailable {
		t.Fatalf("sign-in with Redis down: %d, want 503", got)
	}
	wantReady(t, r.url, 503, "ratelimit")
	// A steady outage does not flap, across several breaker cooldowns.
	for range 6 {
		time.Sleep(500 * time.Millisecond)
		wantReady(t, r.url, 503, "ratelimit")
	}

	proxy.up()
	deadline := time.Now().Add(10 * time.Second)
	for status(t, r.url+"/readyz") != 200 {
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not recover after Redis came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := signIn(t, r.url); got != http.StatusUnauthorized {
		t.Fatalf("sign-in after recovery: %d, want 401", got)
	}
}

// TestReadyzRedisDownAtStart: a replica whose Redis does not answer at
// start-up is not ready before any sign-in has failed.
func TestReadyzRedisDownAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg := readyConfig(t)
	cfg.RedisURL = "redis://" + addr + "/0"
	r := startReplica(t, cfg, sqlitetest.Open(t), readyMasterKey())
	wantReady(t, r.url, 503, "ratelimit")
}

// TestReadyzInProcessLimits: without Redis the counters are always ready.
func TestReadyzInProcessLimits(t *testing.T) {
	r := startReplica(t, readyConfig(t), sqlitetest.Open(t), readyMasterKey())
	wantReady(t, r.url, 200, "")
}

func readyConfig(t *testing.T) config.Config {
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Argon2MemoryKiB, cfg.Argon2Iterations = 64, 1
	cfg.Issuer = "http://tollgate.test"
	return cfg
}

func readyMasterKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

func status(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func wantReady(t *testing.T, base string, want int, dependency string) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Code, Dependency string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != want || body.Dependency != dependency {
		t.Fatalf("/readyz: %d %+v, want %d dependency %q", resp.StatusCode, body, want, dependency)
	}
	if want == 503 && body.Code != "ratelimit_unavailable" {
		t.Fatalf("/readyz code %q, want ratelimit_unavailable", body.Code)
	}
}

func signIn(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Post(base+"/v1/auth/login", "application/json",
		strings.NewReader(`{"email":"nobody@example.com","password":"not the password at all"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// proxy is a TCP proxy to Redis that can be taken down: while down it
// closes every connection it has and every one it accepts.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	isDown bool
	conns  map[net.Conn]struct{}
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.down() })
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *proxy) pipe(c net.Conn) {
	p.mu.Lock()
	down := p.isDown
	p.mu.Unlock()
	if down {
		c.Close()
		return
	}
	r, err := net.DialTimeout("tcp", p.target, time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[r] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(r, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, r); done <- struct{}{} }()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, r)
	p.mu.Unlock()
	c.Close()
	r.Close()
	<-done
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isDown = true
	for c := range p.conns {
		c.Close()
	}
}

func (p *proxy) up() {
	p.mu.Lock()
	p.isDown = false
	p.mu.Unlock()
}
