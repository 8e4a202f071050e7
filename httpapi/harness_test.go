package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/app"
	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/postgres/pgtest"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// testPassword satisfies the password policy.
const testPassword = "correct horse battery staple"

// backends lists the stores every end-to-end test runs against. PostgreSQL
// joins when TOLLGATE_TEST_POSTGRES_URL is set (pgtest skips otherwise).
var backends = []struct {
	name string
	open func(t testing.TB) store.Store
}{
	{"sqlite", func(t testing.TB) store.Store { return sqlitetest.Open(t) }},
	{"postgres", func(t testing.TB) store.Store { return pgtest.Open(t) }},
}

// forEachBackend runs fn once per backend, each with its own server.
func forEachBackend(t *testing.T, fn func(t *testing.T, ts *testServer)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, newTestServer(t, b.open(t)))
		})
	}
}

// testConfig is the default configuration with cheap password hashing and
// rate limits that many sign-ins from one loopback address never reach;
// the rate-limit tests set their own.
func testConfig(t testing.TB) config.Config {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Argon2MemoryKiB, cfg.Argon2Iterations = 64, 1
	cfg.RateLimitIP, cfg.RateLimitLogin, cfg.RateLimitLoginAccount = "100000/1h", "100000/1h", "100000/1h"
	cfg.RateLimitLoginAccountIP = "100000/1h"
	cfg.RateLimitToken, cfg.RateLimitTenant, cfg.RateLimitActor = "100000/1h", "100000/1h", "100000/1h"
	cfg.Issuer = "http://tollgate.test"
	// Queued audit events (sign-ins, decisions) land when a test flushes
	// them (App.FlushAudit) or at Close, never at a moment of the timer's
	// choosing between a test's two reads of the streams.
	cfg.AuditFlushInterval = time.Minute
	return cfg
}

type testServer struct {
	t         testing.TB
	app       *app.App
	url       string
	masterKey []byte
	// store is the backend, for setting up what the API cannot, such as
	// credentials that have already expired.
	store store.Store
}

func newTestServer(t testing.TB, st store.Store) *testServer {
	t.Helper()
	mk := make([]byte, 32)
	_, _ = rand.Read(mk)
	return newTestServerWithKey(t, st, mk)
}

// newTestServerWithKey builds a replica with a given master key, so that
// several replicas can share one store's signing keys.
func newTestServerWithKey(t testing.TB, st store.Store, masterKey []byte) *testServer {
	t.Helper()
	return startTestServer(t, st, testConfig(t), masterKey)
}

// newTestServerWithConfig builds a server whose configuration is testConfig
// changed by edit, such as the tight rate limits of the rate-limit tests.
func newTestServerWithConfig(t testing.TB, st store.Store, edit func(*config.Config)) *testServer {
	t.Helper()
	cfg := testConfig(t)
	edit(&cfg)
	mk := make([]byte, 32)
	_, _ = rand.Read(mk)
	return startTestServer(t, st, cfg, mk)
}

// forEachBackendWithConfig is forEachBackend with servers configured by
// edit.
func forEachBackendWithConfig(t *testing.T, edit func(*config.Config), fn func(t *testing.T, ts *testServer)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, newTestServerWithConfig(t, b.open(t), edit))
		})
	}
}

// startTestServer runs an app with cfg on st behind an HTTP test server.
func startTestServer(t testing.TB, st store.Store, cfg config.Config, masterKey []byte) *testServer {
	t.Helper()
	return startLoggingTestServer(t, st, cfg, masterKey, nil)
}

// startLoggingTestServer is startTestServer with the app logging to log.
func startLoggingTestServer(t testing.TB, st store.Store, cfg config.Config, masterKey []byte, log *slog.Logger) *testServer {
	t.Helper()
	a, err := app.New(context.Background(), cfg, st, masterKey, log)
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-registered first: the server stops taking requests,
	// then the app flushes and lets go of its bus, then the store closes.
	t.Cleanup(func() {
		if err := a.Close(context.Background()); err != nil {
			t.Errorf("closing the app: %v", err)
		}
	})
	hs := httptest.NewServer(a.API)
	t.Cleanup(hs.Close)
	return &testServer{t: t, app: a, url: hs.URL, masterKey: masterKey, store: st}
}

// user creates a user directly through the identity service.
func (ts *testServer) user(email string, platformAdmin bool) identity.User {
	ts.t.Helper()
	h, err := ts.app.Hasher.Hash(context.Background(), testPassword)
	if err != nil {
		ts.t.Fatal(err)
	}
	u, err := ts.app.Identity.CreateUser(context.Background(), identity.NewUser{Email: email, PasswordHash: h, PlatformAdmin: platformAdmin})
	if err != nil {
		ts.t.Fatal(err)
	}
	return u
}

// response is a decoded reply.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r response) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

// do sends body (a string is sent verbatim, anything else as JSON) with
// token, when not "", as a bearer credential.
func (ts *testServer) do(method, path, token string, body any) response {
	ts.t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return ts.send(method, path, h, body)
}

// withKey sends body like do, with key in the X-API-Key header.
func (ts *testServer) withKey(method, path, key string, body any) response {
	ts.t.Helper()
	return ts.send(method, path, http.Header{"X-Api-Key": {key}}, body)
}

// postForm posts form as application/x-www-form-urlencoded with the
// headers h (which may be nil).
func (ts *testServer) postForm(path string, h http.Header, form url.Values) response {
	ts.t.Helper()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return ts.send("POST", path, h, form.Encode())
}

// basicAuth is an Authorization header of HTTP Basic credentials, encoded
// as RFC 6749 §2.3.1 asks of OAuth clients.
func basicAuth(user, pass string) http.Header {
	raw := url.QueryEscape(user) + ":" + url.QueryEscape(pass)
	return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(raw))}}
}

// send sends body as do does, with the headers h. A body goes as JSON
// unless h sets a Content-Type.
func (ts *testServer) send(method, path string, h http.Header, body any) response {
	ts.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			ts.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, ts.url+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	if rd != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// open sends a request whose answer, when 200, is a stream that does not
// end: it reads the body only of other answers, and closes the stream.
func (ts *testServer) open(method, path string, h http.Header) response {
	ts.t.Helper()
	req, err := http.NewRequest(method, ts.url+path, nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	req.Header = h.Clone()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer res.Body.Close()
	out := response{status: res.StatusCode, header: res.Header}
	if res.StatusCode != http.StatusOK {
		out.raw, _ = io.ReadAll(res.Body)
		_ = json.Unmarshal(out.raw, &out.body)
	}
	return out
}

// metric returns the value of one series on /metrics, e.g.
// `tollgate_credential_rejections_total{code="invalid_api_key",kind="api_key"}`,
// or 0 when it has not been recorded yet.
func (ts *testServer) metric(series string) float64 {
	ts.t.Helper()
	r := ts.do("GET", "/metrics", "", nil)
	if r.status != http.StatusOK {
		ts.t.Fatalf("/metrics: %d", r.status)
	}
	for line := range strings.Lines(string(r.raw)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				ts.t.Fatalf("metric %s: %v", series, err)
			}
			return f
		}
	}
	return 0
}

// platformAdmin creates a platform admin with no tenant and signs them in.
func (ts *testServer) platformAdmin(email string) (identity.User, string) {
	ts.t.Helper()
	u := ts.user(email, true)
	return u, ts.login(email, "").str("access_token")
}

// items returns a list response's items as objects.
func (r response) items() []map[string]any {
	list, _ := r.body["items"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, it := range list {
		m, _ := it.(map[string]any)
		out = append(out, m)
	}
	return out
}

// listAll walks the list at path two items a page and returns the field of
// every item in order, failing unless every page is 200 and within the
// limit, and if an item carries a secret ("key"), as no list may.
func listAll(t *testing.T, ts *testServer, token, path, field string) []string {
	t.Helper()
	sep := map[bool]string{true: "&", false: "?"}[strings.Contains(path, "?")]
	var out []string
	for cursor, pages := "", 0; ; pages++ {
		r := ts.do("GET", path+sep+"limit=2&cursor="+url.QueryEscape(cursor), token, nil)
		expect(t, r, http.StatusOK, "")
		for _, it := range r.items() {
			if _, has := it["key"]; has || len(r.items()) > 2 {
				t.Fatalf("a page with a secret or over the limit: %s", r.raw)
			}
			out = append(out, it[field].(string))
		}
		if cursor = r.str("next_cursor"); cursor == "" {
			return out
		}
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
	}
}

// strs returns a JSON array of strings held under key.
func (r response) strs(key string) []string {
	list, _ := r.body[key].([]any)
	out := make([]string, 0, len(list))
	for _, v := range list {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// jwtClaims decodes a JWT's payload without verifying it: the server
// verifies; tests only read what it signed.
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return c
}

// login signs in and returns the token response; it fails the test unless 200.
func (ts *testServer) login(email, tenant string) response {
	ts.t.Helper()
	body := map[string]any{"email": email, "password": testPassword}
	if tenant != "" {
		body["tenant"] = tenant
	}
	r := ts.do("POST", "/v1/auth/login", "", body)
	if r.status != http.StatusOK {
		ts.t.Fatalf("login %s: %d %s", email, r.status, r.raw)
	}
	return r
}

// expect fails unless r has the status and, when code is not "", the
// problem code.
func expect(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.raw)
	}
	if code != "" {
		if got := r.str("code"); got != code {
			t.Fatalf("code = %q, want %q; body %s", got, code, r.raw)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("content type = %q, want application/problem+json", ct)
		}
	}
}

// world is a small tenant set-up most tests start from: tenant A with an
// owner, an admin and a member; tenant B with its own owner.
type world struct {
	ts                         *testServer
	tenantA, tenantB           string
	owner, admin, member, outB identity.User
	ownerTok, adminTok         string
	memberTok, outBTok         string
}

func newWorld(t *testing.T, ts *testServer) *world {
	t.Helper()
	w := &world{ts: ts}
	w.owner = ts.user("owner@a.example", false)
	w.admin = ts.user("admin@a.example", false)
	w.member = ts.user("member@a.example", false)
	w.outB = ts.user("owner@b.example", false)
	ctx := context.Background()
	ta, err := ts.app.Identity.CreateTenant(ctx, w.owner.ActorID(), identity.NewTenant{Slug: "tenant-a", Name: "A"})
	if err != nil {
		t.Fatal(err)
	}
	tb, err := ts.app.Identity.CreateTenant(ctx, w.outB.ActorID(), identity.NewTenant{Slug: "tenant-b", Name: "B"})
	if err != nil {
		t.Fatal(err)
	}
	w.tenantA, w.tenantB = ta.ID, tb.ID
	c := identity.Caller{ActorID: w.owner.ActorID()}
	for _, m := range []struct {
		u    identity.User
		role string
	}{{w.admin, "admin"}, {w.member, "member"}} {
		if _, err := ts.app.Identity.AddMember(ctx, c, w.tenantA, identity.NewMember{ActorID: m.u.ActorID(), Roles: []string{m.role}}); err != nil {
			t.Fatal(err)
		}
	}
	w.ownerTok = ts.login(w.owner.Email, w.tenantA).str("access_token")
	w.adminTok = ts.login(w.admin.Email, w.tenantA).str("access_token")
	w.memberTok = ts.login(w.member.Email, w.tenantA).str("access_token")
	w.outBTok = ts.login(w.outB.Email, w.tenantB).str("access_token")
	return w
}

// createKey creates an API key as token, failing unless 201, and returns
// the key's id and secret.
func createKey(t *testing.T, ts *testServer, token string, body map[string]any) (id, key string) {
	t.Helper()
	r := ts.do("POST", "/v1/api-keys", token, body)
	expect(t, r, http.StatusCreated, "")
	if r.str("id") == "" || r.str("key") == "" {
		t.Fatalf("create key: %s", r.raw)
	}
	return r.str("id"), r.str("key")
}

// createAgent creates an agent in tenantID as token, failing unless 201,
// and returns its id.
func createAgent(t *testing.T, ts *testServer, token, tenantID, name string) string {
	t.Helper()
	r := ts.do("POST", "/v1/tenants/"+tenantID+"/agents", token, map[string]any{"name": name})
	expect(t, r, http.StatusCreated, "")
	return r.str("id")
}

// addMember creates a user and adds them to tenantID with roles, as token,
// and returns the user and a session token in that tenant.
func addMember(t *testing.T, ts *testServer, token, tenantID, email string, roles ...string) (identity.User, string) {
	t.Helper()
	u := ts.user(email, false)
	expect(t, ts.do("POST", "/v1/tenants/"+tenantID+"/members", token,
		map[string]any{"actor_id": u.ActorID(), "roles": roles}), http.StatusCreated, "")
	return u, ts.login(email, tenantID).str("access_token")
}

// Token exchange parameters of RFC 8693 as Tollgate takes them.
const (
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccess    = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeAPIKey    = "urn:tollgate:params:oauth:token-type:api_key"
)

// exchangeForm is a token exchange request delegating subject's rights to
// the agent holding agentKey; extra adds or overrides parameters.
func exchangeForm(subject, agentKey string, extra ...string) url.Values {
	f := url.Values{
		"grant_type": {grantTokenExchange}, "subject_token": {subject}, "subject_token_type": {tokenTypeAccess},
		"actor_token": {agentKey}, "actor_token_type": {tokenTypeAPIKey},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			f.Del(extra[i])
			continue
		}
		f.Set(extra[i], extra[i+1])
	}
	return f
}

// expectOAuth fails unless r is an RFC 6749 §5.2 error with status and
// error code.
func expectOAuth(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Fatalf("got %d %s, want %d error %q", r.status, r.raw, status, code)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type = %q, want application/json", ct)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("OAuth error without Cache-Control: no-store")
	}
}
