package authn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
	"github.com/tollgate/tollgate/token"
)

// Test client credentials; both need URL-encoding in HTTP Basic.
const (
	testClientID     = "svc:messaging"
	testClientSecret = "s3cr=t/+ ü"
	testAudience     = "tollgate"
)

var discard = slog.New(slog.DiscardHandler)

// clock is a settable clock, safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// tollgate stands in for Tollgate's HTTP surface: a real JWK Set from a
// real Keyring over a real (SQLite) key store, the client credentials grant
// and the introspection endpoint with canned answers.
type tollgate struct {
	*httptest.Server
	kr    *token.Keyring
	clock *clock

	jwksHits, tokenHits, introHits atomic.Int32
	jwksDown, introDown            atomic.Bool
	// rejectBearers makes introspection refuse every service token.
	rejectBearers atomic.Bool
	// expiresIn is the lifetime of service tokens, in seconds.
	expiresIn atomic.Int64
	// introGate, when set, holds introspections until it is closed.
	introGate atomic.Pointer[chan struct{}]

	mu        sync.Mutex
	issued    int
	svcTokens map[string]bool            // valid service tokens
	answers   map[string]json.RawMessage // API key → 200 body
	seenKeys  []string                   // keys introspected, in order
}

func newTollgate(t testing.TB) *tollgate { return newTollgateAlg(t, token.AlgEdDSA) }

// newTollgateAlg is newTollgate with keys of alg.
func newTollgateAlg(t testing.TB, alg string) *tollgate {
	t.Helper()
	sealer, err := token.NewSealer(bytes.Repeat([]byte{7}, token.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	tg := &tollgate{clock: newClock(), svcTokens: map[string]bool{}, answers: map[string]json.RawMessage{}}
	tg.expiresIn.Store(300)
	tg.kr = token.NewKeyring(sqlitetest.Open(t), sealer, token.KeyringOptions{Algorithm: alg, Now: tg.clock.Now})
	if err := tg.kr.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/jwks.json", tg.jwks)
	mux.HandleFunc("POST /oauth/token", tg.token)
	mux.HandleFunc("POST /v1/auth/introspect", tg.introspect)
	tg.Server = httptest.NewServer(mux)
	t.Cleanup(tg.Close)
	return tg
}

func (tg *tollgate) jwks(w http.ResponseWriter, r *http.Request) {
	tg.jwksHits.Add(1)
	if tg.jwksDown.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	_, _ = w.Write(tg.kr.JWKS())
}

func problem401(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = fmt.Fprintf(w, `{"status":401,"code":%q}`, code)
}

func (tg *tollgate) token(w http.ResponseWriter, r *http.Request) {
	tg.tokenHits.Add(1)
	id, secret, ok := r.BasicAuth()
	id, err1 := url.QueryUnescape(id)
	secret, err2 := url.QueryUnescape(secret)
	if !ok || err1 != nil || err2 != nil || id != testClientID || secret != testClientSecret ||
		r.PostFormValue("grant_type") != "client_credentials" {
		problem401(w, "invalid_client")
		return
	}
	tg.mu.Lock()
	tg.issued++
	tok := fmt.Sprintf("svc-token-%d", tg.issued)
	tg.svcTokens[tok] = true
	tg.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":%d,"scope":"auth:introspect"}`,
		tok, tg.expiresIn.Load())
}

func (tg *tollgate) introspect(w http.ResponseWriter, r *http.Request) {
	tg.introHits.Add(1)
	if g := tg.introGate.Load(); g != nil {
		<-*g
	}
	if tg.introDown.Load() {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var body struct {
		Token string `json:"token"`
	}
	err := json.NewDecoder(r.Body).Decode(&body)
	tg.mu.Lock()
	valid := tg.svcTokens[bearer] && !tg.rejectBearers.Load()
	answer, known := tg.answers[body.Token]
	if err == nil {
		tg.seenKeys = append(tg.seenKeys, body.Token)
	}
	tg.mu.Unlock()
	switch {
	case !valid:
		problem401(w, "invalid_token")
	case err != nil || r.Header.Get("Content-Type") != "application/json":
		w.WriteHeader(http.StatusBadRequest)
	case !known:
		_, _ = w.Write([]byte(`{"active":false}`))
	default:
		_, _ = w.Write(answer)
	}
}

// answer makes key introspect as body.
func (tg *tollgate) answer(key string, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	tg.mu.Lock()
	tg.answers[key] = b
	tg.mu.Unlock()
}

// revokeServiceTokens makes every service token issued so far invalid, as a
// secret rotation would.
func (tg *tollgate) revokeServiceTokens() {
	tg.mu.Lock()
	clear(tg.svcTokens)
	tg.mu.Unlock()
}

// config is a Config for tg with client credentials.
func (tg *tollgate) config() Config {
	return Config{
		URL: tg.URL, Audience: testAudience, ClientID: testClientID, ClientSecret: testClientSecret,
		HTTPClient: tg.Client(), Log: discard,
	}
}

// authenticator returns an Authenticator on tg's clock, closed with the test.
func (tg *tollgate) authenticator(t testing.TB, cfg Config) *Authenticator {
	t.Helper()
	a, err := newAuthenticator(context.Background(), cfg, tg.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// claims returns valid session claims issued now.
func (tg *tollgate) claims() token.Claims {
	now := tg.clock.Now()
	return token.Claims{
		Issuer: tg.URL, Subject: "user:93", Audience: []string{testAudience},
		ExpiresAt: now.Add(15 * time.Minute), IssuedAt: now, NotBefore: now,
		ID: fmt.Sprint("jti-", now.UnixNano()), SessionID: "sess-1", TenantID: "tenant-1",
		Roles: []string{"admin"}, ActorType: "human", Scope: []string{"tenant:read", "tenant:write"},
	}
}

func (tg *tollgate) sign(t testing.TB, c token.Claims) string {
	t.Helper()
	raw, err := tg.kr.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// wantError asserts err is an *Error with status and code.
func wantError(t testing.TB, err error, status int, code string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Status != status || e.Code != code {
		t.Fatalf("got %v, want %d %s", err, status, code)
	}
}

// waitFor polls cond: events arrive on the bus's goroutine.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
