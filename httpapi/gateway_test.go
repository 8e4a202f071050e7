package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/app"
	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// gatewayTable is the route table of the gateway tests.
const gatewayTable = `
routes:
  - {method: POST,  path: "/channels/{id}/messages", action: SEND_MESSAGE, resource: {type: channel, id: "{id}"}}
  - {method: GET,   path: "/channels/{id}/messages", action: READ,         resource: {type: channel, id: "{id}"}}
  - {method: PATCH, path: "/channels/{id}",          action: MANAGE,       resource: {type: channel, id: "{id}"}}
  - {method: POST,  path: "/tools/{name}/run",       action: EXECUTE_TOOL, resource: {type: tool, id: "tool-{name}"}}
  - {method: PUT,   path: "/tenants/{id}/settings",  action: MANAGE_TENANT, resource: {type: tenant, id: "{id}"}}
`

// writeRoutes writes text to a route file in a temporary directory.
func writeRoutes(t testing.TB, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// gatewayHeaders are the headers a proxy sends: the credential and the
// original request in the style of nginx or Traefik.
func gatewayHeaders(style, cred, method, uri string) http.Header {
	h := http.Header{}
	switch {
	case strings.HasPrefix(cred, "key:"):
		h.Set("X-API-Key", strings.TrimPrefix(cred, "key:"))
	case cred != "":
		h.Set("Authorization", "Bearer "+cred)
	}
	switch style {
	case "nginx":
		h.Set("X-Original-Method", method)
		h.Set("X-Original-URI", uri)
	case "traefik":
		h.Set("X-Forwarded-Method", method)
		h.Set("X-Forwarded-Uri", uri)
	}
	return h
}

func TestGatewayAuth(t *testing.T) {
	routes := writeRoutes(t, "routes.yaml", gatewayTable)
	forEachBackendWithConfig(t, func(c *config.Config) { c.GatewayRoutes = routes }, func(t *testing.T, ts *testServer) {
		pw := newPolicyWorld(t, ts)
		w := pw.world
		_, memberKey := createKey(t, ts, w.memberTok, map[string]any{"name": "member's", "scopes": []string{"tenant:read"}})
		_, ownerReadKey := createKey(t, ts, w.ownerTok, map[string]any{"name": "owner's", "scopes": []string{"tenant:read"}})
		msgs := "/channels/" + seedChannel + "/messages"
		settings := "/tenants/" + w.tenantA + "/settings"
		member := w.member.ActorID()

		for _, c := range []struct {
			name, style, cred, method, uri string
			// gwMethod and gwPath are the request to Tollgate itself.
			gwMethod, gwPath string
			status           int
			code             string
			actor, onBehalf  string
			reasons          string
		}{
			{"nginx permit", "nginx", w.memberTok, "POST", msgs, "GET", "/v1/gateway/auth", 200, "", member, "", ""},
			{"traefik permit", "traefik", w.memberTok, "GET", msgs, "GET", "/v1/gateway/auth", 200, "", member, "", ""},
			{"traefik permit, POST to the endpoint", "traefik", w.memberTok, "POST", msgs, "POST", "/v1/gateway/auth", 200, "", member, "", ""},
			{"envoy path prefix", "", w.memberTok, "", "", "POST", "/v1/gateway/auth" + msgs, 200, "", member, "", ""},
			{"API key in X-API-Key", "nginx", "key:" + memberKey, "POST", msgs, "GET", "/v1/gateway/auth", 200, "", member, "", ""},
			{"API key as bearer", "traefik", memberKey, "GET", msgs, "GET", "/v1/gateway/auth", 200, "", member, "", ""},
			{"delegated agent", "nginx", pw.delegated, "POST", "/tools/search/run", "GET", "/v1/gateway/auth", 200, "", "agent:" + pw.agent, member, ""},

			{"owner's session manages the tenant", "nginx", w.ownerTok, "PUT", settings, "GET", "/v1/gateway/auth", 200, "", w.owner.ActorID(), "", ""},
			{"owner's tenant:read key may not", "nginx", "key:" + ownerReadKey, "PUT", settings, "GET", "/v1/gateway/auth", 403, "access_denied", "", "", "credential_scope"},
			{"member manages: deny", "nginx", w.memberTok, "PATCH", "/channels/" + seedChannel, "GET", "/v1/gateway/auth", 403, "access_denied", "", "", "default_deny"},
			{"other member sends: deny", "traefik", pw.otherTok, "POST", msgs, "GET", "/v1/gateway/auth", 403, "access_denied", "", "", "default_deny"},
			{"delegated, tool not allowing it", "nginx", pw.delegated, "POST", "/tools/billing/run", "GET", "/v1/gateway/auth", 403, "access_denied", "", "", "default_deny"},
			{"unmapped path", "nginx", w.memberTok, "GET", "/admin", "GET", "/v1/gateway/auth", 403, "gateway_route_not_found", "", "", "gateway_route_not_found"},
			{"no original request", "", w.memberTok, "", "", "GET", "/v1/gateway/auth", 403, "gateway_route_not_found", "", "", "gateway_route_not_found"},
			{"service without a tenant", "nginx", pw.checker, "POST", msgs, "GET", "/v1/gateway/auth", 403, "", "", "", ""},

			{"no credential", "nginx", "", "POST", msgs, "GET", "/v1/gateway/auth", 401, "missing_credential", "", "", ""},
			{"bad token", "nginx", "not-a-token", "POST", msgs, "GET", "/v1/gateway/auth", 401, "", "", "", ""},
			{"bad API key", "nginx", "key:tg_live_nope", "POST", msgs, "GET", "/v1/gateway/auth", 401, "", "", "", ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := ts.send(c.gwMethod, c.gwPath, gatewayHeaders(c.style, c.cred, c.method, c.uri), nil)
				expect(t, r, c.status, c.code)
				h := r.header
				switch c.status {
				case 200:
					if h.Get("X-Tollgate-Actor") != c.actor || h.Get("X-Tollgate-Tenant") != w.tenantA ||
						h.Get("X-Tollgate-Decision-Id") == "" || h.Get("X-Tollgate-Decision-Id") != r.str("decision_id") ||
						h.Get("X-Tollgate-On-Behalf-Of") != c.onBehalf || r.str("decision") != "permit" {
						t.Fatalf("headers %v body %s", h, r.raw)
					}
					// API keys carry scopes rather than roles; a delegated
					// token the roles of its human.
					wantType, wantRoles := "human", "member"
					switch {
					case c.onBehalf != "":
						wantType, wantRoles = "agent", h.Get("X-Tollgate-Roles")
					case c.cred == memberKey || c.cred == "key:"+memberKey:
						wantRoles = ""
					case c.cred == w.ownerTok:
						wantRoles = "owner"
					}
					if h.Get("X-Tollgate-Actor-Type") != wantType || h.Get("X-Tollgate-Roles") != wantRoles {
						t.Fatalf("type %q roles %q", h.Get("X-Tollgate-Actor-Type"), h.Get("X-Tollgate-Roles"))
					}
				case 403:
					if h.Get("X-Tollgate-Actor") != "" {
						t.Fatalf("a refusal carries the actor: %v", h)
					}
					if c.reasons != "" && (h.Get("X-Tollgate-Reasons") != c.reasons || strings.Join(r.strs("reasons"), ",") != c.reasons) {
						t.Fatalf("reasons: header %q body %s", h.Get("X-Tollgate-Reasons"), r.raw)
					}
					if c.code == "access_denied" && (h.Get("X-Tollgate-Decision-Id") == "" || h.Get("X-Tollgate-Decision-Id") != r.str("decision_id")) {
						t.Fatalf("decision id: header %q body %s", h.Get("X-Tollgate-Decision-Id"), r.raw)
					}
				case 401:
					if h.Get("WWW-Authenticate") == "" || h.Get("X-Tollgate-Actor") != "" {
						t.Fatalf("401 headers %v", h)
					}
				}
			})
		}
	})
}

func TestGatewayNotConfigured(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		r := ts.send("GET", "/v1/gateway/auth", gatewayHeaders("nginx", w.memberTok, "GET", "/x"), nil)
		expect(t, r, http.StatusNotFound, "gateway_not_configured")
		// The credential is checked first, as on any authenticated route.
		expect(t, ts.send("GET", "/v1/gateway/auth", nil, nil), http.StatusUnauthorized, "missing_credential")
	})
}

// TestGatewayBadTable checks that a server refuses to start on a route
// table it cannot use, naming the file and the route; what a table may not
// say is gateway.TestParseErrors.
func TestGatewayBadTable(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"unknown action", `routes: [{method: GET, path: /a, action: FLY, resource: {type: channel, id: x}}]`, `routes[0] (GET /a): unknown action "FLY"; known actions: `},
		{"not a table", `{"routes": 3}`, `cannot unmarshal`},
		{"missing", "", `no such file`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "missing.yaml")
			if c.name != "missing" {
				path = writeRoutes(t, "routes.yaml", c.text)
			}
			cfg := testConfig(t)
			cfg.GatewayRoutes = path
			mk := make([]byte, 32)
			_, _ = rand.Read(mk)
			a, err := app.New(context.Background(), cfg, sqlitetest.Open(t), mk, nil)
			if err == nil {
				_ = a.Close(context.Background())
				t.Fatal("the server started")
			}
			if !strings.Contains(err.Error(), "gateway_routes") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to name gateway_routes and say %q", err, c.want)
			}
			if c.name != "missing" && !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v does not name %s", err, path)
			}
		})
	}
}

// nginxConf is the configuration of the nginx test: auth_request against
// Tollgate's gateway endpoint in front of an upstream, as docs/gateway.md
// shows it.
const nginxConf = `daemon off;
master_process off;
worker_processes 1;
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log info;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path {{dir}}/body;
    proxy_temp_path {{dir}}/proxy;
    fastcgi_temp_path {{dir}}/fastcgi;
    uwsgi_temp_path {{dir}}/uwsgi;
    scgi_temp_path {{dir}}/scgi;
    server {
        listen 127.0.0.1:{{port}};
        location = /_auth {
            internal;
            proxy_pass {{tollgate}}/v1/gateway/auth;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
        }
        location / {
            auth_request /_auth;
            auth_request_set $tg_actor $upstream_http_x_tollgate_actor;
            auth_request_set $tg_actor_type $upstream_http_x_tollgate_actor_type;
            auth_request_set $tg_tenant $upstream_http_x_tollgate_tenant;
            auth_request_set $tg_roles $upstream_http_x_tollgate_roles;
            auth_request_set $tg_decision $upstream_http_x_tollgate_decision_id;
            auth_request_set $tg_on_behalf_of $upstream_http_x_tollgate_on_behalf_of;
            proxy_set_header X-Tollgate-Actor $tg_actor;
            proxy_set_header X-Tollgate-Actor-Type $tg_actor_type;
            proxy_set_header X-Tollgate-Tenant $tg_tenant;
            proxy_set_header X-Tollgate-Roles $tg_roles;
            proxy_set_header X-Tollgate-Decision-Id $tg_decision;
            proxy_set_header X-Tollgate-On-Behalf-Of $tg_on_behalf_of;
            proxy_pass {{upstream}};
        }
    }
}
`

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startNginx runs nginx (the binary at bin) in the foreground with
// nginxConf, returning its base URL once it accepts connections.
func startNginx(t *testing.T, bin, tollgateURL, upstreamURL string) string {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	conf := strings.NewReplacer("{{dir}}", dir, "{{port}}", strconv.Itoa(port),
		"{{tollgate}}", tollgateURL, "{{upstream}}", upstreamURL).Replace(nginxConf)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", out.String(), log)
		}
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %v\n%s\n%s", err, out.String(), log)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatal("nginx did not start listening within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGatewayNginx puts a real nginx with auth_request in front of an
// upstream and checks that only permitted requests reach it, with the
// caller's identity in headers nginx took from Tollgate's answer.
func TestGatewayNginx(t *testing.T) {
	bin := os.Getenv("TOLLGATE_TEST_NGINX")
	if bin == "" {
		t.Skip("TOLLGATE_TEST_NGINX is not set (path of an nginx binary with auth_request; .ci/run sets it)")
	}
	routes := writeRoutes(t, "routes.yaml", gatewayTable)
	ts := newTestServerWithConfig(t, sqlitetest.Open(t), func(c *config.Config) { c.GatewayRoutes = routes })
	pw := newPolicyWorld(t, ts)
	w := pw.world
	_, memberKey := createKey(t, ts, w.memberTok, map[string]any{"name": "member's", "scopes": []string{"tenant:read"}})

	var reached atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		got := map[string]string{"method": r.Method, "uri": r.RequestURI}
		for k, v := range r.Header {
			if strings.HasPrefix(k, "X-Tollgate-") {
				got[k] = v[0]
			}
		}
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(got)
	}))
	t.Cleanup(upstream.Close)
	base := startNginx(t, bin, ts.url, upstream.URL)

	call := func(method, path string, h http.Header) (int, http.Header, map[string]string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(`{"text":"hi"}`))
		if err != nil {
			t.Fatal(err)
		}
		for k, vs := range h {
			req.Header[k] = vs
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var body map[string]string
		_ = json.Unmarshal(raw, &body)
		return res.StatusCode, res.Header, body
	}
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	msgs := "/channels/" + seedChannel + "/messages"

	t.Run("permit reaches the upstream with the actor", func(t *testing.T) {
		h := bearer(w.memberTok)
		h.Set("X-Tollgate-Actor", "user:forged")
		h.Set("X-Original-URI", "/admin")
		status, _, body := call("POST", msgs+"?x=1", h)
		if status != 200 || body["X-Tollgate-Actor"] != w.member.ActorID() || body["X-Tollgate-Tenant"] != w.tenantA ||
			body["X-Tollgate-Actor-Type"] != "human" || body["X-Tollgate-Roles"] != "member" || body["X-Tollgate-Decision-Id"] == "" ||
			body["method"] != "POST" || body["uri"] != msgs+"?x=1" {
			t.Fatalf("status %d, upstream saw %v", status, body)
		}
	})
	t.Run("API key in X-API-Key", func(t *testing.T) {
		status, _, body := call("GET", msgs, http.Header{"X-Api-Key": {memberKey}})
		if status != 200 || body["X-Tollgate-Actor"] != w.member.ActorID() {
			t.Fatalf("status %d, upstream saw %v", status, body)
		}
	})
	t.Run("delegated agent", func(t *testing.T) {
		status, _, body := call("POST", "/tools/search/run", bearer(pw.delegated))
		if status != 200 || body["X-Tollgate-Actor"] != "agent:"+pw.agent || body["X-Tollgate-On-Behalf-Of"] != w.member.ActorID() {
			t.Fatalf("status %d, upstream saw %v", status, body)
		}
	})
	for _, c := range []struct {
		name, method, path string
		h                  http.Header
		status             int
	}{
		{"deny", "PATCH", "/channels/" + seedChannel, bearer(w.memberTok), 403},
		{"other member denied", "POST", msgs, bearer(pw.otherTok), 403},
		{"unmapped", "GET", "/admin", bearer(w.memberTok), 403},
		{"dot segments", "POST", "/channels/x/../" + seedChannel + "/messages", bearer(w.memberTok), 403},
		{"no credential", "POST", msgs, nil, 401},
		{"bad credential", "POST", msgs, bearer("nope"), 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := reached.Load()
			status, h, _ := call(c.method, c.path, c.h)
			if status != c.status {
				t.Fatalf("status %d, want %d", status, c.status)
			}
			if c.status == 401 && h.Get("WWW-Authenticate") == "" {
				t.Fatalf("401 without WWW-Authenticate: %v", h)
			}
			if reached.Load() != before {
				t.Fatal("a refused request reached the upstream")
			}
		})
	}
}
