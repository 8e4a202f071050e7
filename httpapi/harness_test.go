package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
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
// a login back-off long enough that tests never race its expiry.
func testConfig(t testing.TB) config.Config {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Argon2MemoryKiB, cfg.Argon2Iterations = 64, 1
	cfg.LoginBackoffBase, cfg.LoginBackoffMax = time.Hour, 2*time.Hour
	cfg.Issuer = "http://tollgate.test"
	return cfg
}

type testServer struct {
	t         testing.TB
	app       *app.App
	url       string
	masterKey []byte
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
	a, err := app.New(context.Background(), testConfig(t), st, masterKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(a.API)
	t.Cleanup(hs.Close)
	return &testServer{t: t, app: a, url: hs.URL, masterKey: masterKey}
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

// do sends body (a string is sent verbatim, anything else as JSON).
func (ts *testServer) do(method, path, token string, body any) response {
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
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
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
