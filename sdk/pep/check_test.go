package pep

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/sdk/internal/problem"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/sdk/authn"
)

func (tg *tollgate) actor(id string) context.Context {
	return authn.NewContext(ctx, identity.ActorContext{
		ActorID: id, ActorType: identity.ActorHuman, TenantID: tg.tenant, Credential: identity.CredentialSession,
	})
}

func TestCheck(t *testing.T) {
	tg := newTollgate(t)
	c, _ := tg.client(nil)
	down, tr := tg.client(nil)
	tr.down.Store(true)
	general := Resource{Type: "channel", ID: "general"}
	cases := []struct {
		name    string
		c       *Client
		ctx     context.Context
		action  string
		opts    []CheckOption
		target  error    // nil: permitted
		reasons []string // of a deny
	}{
		{"permit", c, tg.actor(tg.alice), "SEND_MESSAGE", nil, nil, nil},
		{"deny", c, tg.actor(tg.bob), "SEND_MESSAGE", nil, ErrDenied, []string{"default_deny"}},
		{"with a context", c, tg.actor(tg.alice), "READ", []CheckOption{WithContext(map[string]any{"ip": "10.1.2.3"})}, nil, nil},
		{"as another principal", c, tg.actor(tg.bob), "READ", []CheckOption{WithPrincipal(tg.alice)}, nil, nil},
		{"an invalid request", c, tg.actor(tg.alice), "FLY", nil, ErrDenied, []string{"invalid_request"}},
		{"no actor", c, ctx, "READ", nil, ErrNoActor, nil},
		{"unavailable", down, tg.actor(tg.alice), "READ", nil, ErrUnavailable, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Check(tc.ctx, tc.action, general, tc.opts...)
			if tc.target == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.target) {
				t.Fatalf("got %v, want %v", err, tc.target)
			}
			var denied *DeniedError
			if errors.As(err, &denied) != (tc.target == ErrDenied) {
				t.Fatalf("%v: *DeniedError?", err)
			}
			if denied != nil && (!slices.Equal(denied.Decision.Reasons, tc.reasons) || denied.Decision.DecisionID == "" || denied.Decision.Permit) {
				t.Fatalf("got %s", fmtDecision(denied.Decision))
			}
		})
	}
}

func TestRequire(t *testing.T) {
	tg := newTollgate(t)
	c, _ := tg.client(nil)
	down, tr := tg.client(nil)
	tr.down.Store(true)
	fromPath := func(r *http.Request) (Resource, error) {
		id := strings.TrimPrefix(r.URL.Path, "/channels/")
		if id == "" || strings.Contains(id, "/") {
			return Resource{}, errors.New("no channel in the path")
		}
		return Resource{Type: "channel", ID: id}, nil
	}
	handler := func(c *Client) http.Handler {
		return c.Require("SEND_MESSAGE", fromPath)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d, ok := DecisionFrom(r.Context())
			if !ok || !d.Permit {
				t.Errorf("the handler ran without a permit: %s", fmtDecision(d))
			}
			_, _ = w.Write([]byte("sent " + d.DecisionID))
		}))
	}
	noTenant := authn.NewContext(ctx, identity.ActorContext{ActorID: tg.alice, ActorType: identity.ActorHuman})
	cases := []struct {
		name    string
		c       *Client
		ctx     context.Context
		path    string
		status  int
		code    string
		reasons []string
	}{
		{"permit", c, tg.actor(tg.alice), "/channels/general", 200, "", nil},
		{"deny", c, tg.actor(tg.bob), "/channels/general", 403, CodePermissionDenied, []string{"default_deny"}},
		{"no actor", c, ctx, "/channels/general", 401, CodeMissingCredential, nil},
		{"no tenant", c, noTenant, "/channels/general", 403, CodeTenantNotSelected, nil},
		{"no resource", c, tg.actor(tg.alice), "/channels/", 400, CodeInvalidResource, nil},
		{"unavailable", down, tg.actor(tg.alice), "/channels/general", 503, CodeUnavailable, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequestWithContext(tc.ctx, http.MethodPost, tc.path, nil)
			w := httptest.NewRecorder()
			handler(tc.c).ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			id := w.Header().Get(DecisionIDHeader)
			if tc.status == 200 {
				if id == "" || w.Body.String() != "sent "+id {
					t.Fatalf("header %q, body %q", id, w.Body)
				}
				return
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type %q", ct)
			}
			var p struct {
				Type, Code, Title, Detail string
				Status                    int
				Reasons                   []string
				DecisionID                string `json:"decision_id"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if p.Status != tc.status || p.Code != tc.code || p.Type != problem.Base+tc.code || p.Detail == "" {
				t.Fatalf("problem %+v", p)
			}
			if !slices.Equal(p.Reasons, tc.reasons) {
				t.Fatalf("reasons %v, want %v", p.Reasons, tc.reasons)
			}
			if tc.status == 403 && tc.code == CodePermissionDenied && (p.DecisionID == "" || id != p.DecisionID) {
				t.Fatalf("decision_id %q, header %q", p.DecisionID, id)
			}
			if tc.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("a 401 without WWW-Authenticate")
			}
		})
	}
}

func TestTraceparent(t *testing.T) {
	tg := newTollgate(t)
	var logs bytes.Buffer
	c, tr := tg.client(func(cfg *Config) {
		cfg.CacheTTL = -1
		cfg.Log = slogJSON(&logs)
	})
	const (
		tp      = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		inbound = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	)
	// Authorize, with and without a traceparent, an invalid one ignored.
	d1, err := c.Authorize(WithTraceparent(ctx, tp), tg.req(tg.alice, "READ", "general"))
	if err != nil {
		t.Fatal(err)
	}
	d2, err := c.Authorize(WithTraceparent(ctx, "00-00000000000000000000000000000000-00f067aa0ba902b7-01"), tg.req(tg.bob, "READ", "general"))
	if err != nil {
		t.Fatal(err)
	}
	// Require takes the inbound request's.
	r := httptest.NewRequestWithContext(tg.actor(tg.alice), http.MethodGet, "/", nil)
	r.Header.Set(TraceparentHeader, inbound)
	w := httptest.NewRecorder()
	c.Require("READ", func(*http.Request) (Resource, error) { return Resource{Type: "channel", ID: "general"}, nil })(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if got, want := tr.traceparents(), []string{tp, "", inbound}; !slices.Equal(got, want) {
		t.Fatalf("outbound traceparents %q, want %q", got, want)
	}

	// Decisions are logged: permits at debug, denies at info, with the
	// trace and decision ids.
	type line struct {
		Level, Msg, Decision string
		TraceID              string `json:"trace_id"`
		DecisionID           string `json:"decision_id"`
	}
	var lines []line
	for _, l := range bytes.Split(bytes.TrimSpace(logs.Bytes()), []byte("\n")) {
		var x line
		if err := json.Unmarshal(l, &x); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, x)
	}
	want := []line{
		{"DEBUG", "pep: decision", "permit", traceID, d1.DecisionID},
		{"INFO", "pep: decision", "deny", "", d2.DecisionID},
		{"DEBUG", "pep: decision", "permit", "0af7651916cd43dd8448eb211c80319c", w.Header().Get(DecisionIDHeader)},
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("log lines\n%+v, want\n%+v", lines, want)
	}
}

func TestValidTraceparent(t *testing.T) {
	cases := map[string]bool{
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01":          true,
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-whatever": true,
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra":    false,
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01":          false,
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01":          false,
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01":          false,
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01":          false,
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7":             false,
		"": false,
	}
	for tp, want := range cases {
		if got := validTraceparent(tp); got != want {
			t.Errorf("validTraceparent(%q) = %v", tp, got)
		}
		if got := TraceID(WithTraceparent(ctx, tp)) != ""; got != want {
			t.Errorf("TraceID of %q: %v", tp, got)
		}
	}
}

func TestAuthorizeBatch(t *testing.T) {
	tg := newTollgate(t)
	c, tr := tg.client(nil)
	reqs := []Request{
		tg.req(tg.alice, "SEND_MESSAGE", "general"),
		{Principal: tg.bob, Action: "SEND_MESSAGE", Resource: Resource{Type: "channel", ID: "general"}},
		tg.req(tg.alice, "FLY", "general"),
	}
	for range 2 {
		ds, err := c.AuthorizeBatch(ctx, tg.tenant, reqs)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 3 || !ds[0].Permit || ds[1].Permit || ds[2].Permit || len(ds[2].Errors) == 0 ||
			!slices.Equal(ds[1].Reasons, []string{"default_deny"}) || ds[0].Cached || ds[0].DecisionID == "" {
			t.Fatalf("decisions %+v", ds)
		}
	}
	if n := tr.authorize.Load(); n != 2 {
		t.Fatalf("%d calls, want 2: batches are not cached", n)
	}
	for name, tc := range map[string]struct {
		tenant string
		reqs   []Request
	}{
		"no tenant":        {"", reqs},
		"empty":            {tg.tenant, nil},
		"too many":         {tg.tenant, make([]Request, MaxBatch+1)},
		"another tenant's": {tg.tenant, []Request{{TenantID: tg.otherTenant, Principal: tg.alice, Action: "READ"}}},
		"no principal":     {tg.tenant, []Request{{Action: "READ"}}},
	} {
		if _, err := c.AuthorizeBatch(ctx, tc.tenant, tc.reqs); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: got %v, want ErrInvalidRequest", name, err)
		}
	}
	tr.down.Store(true)
	if _, err := c.AuthorizeBatch(ctx, tg.tenant, reqs); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
}
