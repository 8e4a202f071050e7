package authn

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/sdk/internal/problem"

	"github.com/tollgate/tollgate/identity"
)

// whoami answers the ActorContext the middleware put in the context.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	ac, ok := FromContext(r.Context())
	if !ok {
		http.Error(w, "no actor", http.StatusInternalServerError)
		return
	}
	_ = json.NewEncoder(w).Encode(ac)
})

func TestMiddleware(t *testing.T) {
	tg := newTollgate(t)
	tg.answer(testKey, activeAnswer(time.Time{}))
	a := tg.authenticator(t, tg.config())
	h := a.Middleware(whoami)
	jwt := tg.sign(t, tg.claims())

	tests := []struct {
		name    string
		headers map[string]string
		status  int
		code    string // of the problem; "" on success
		actor   string
		wwwAuth string
	}{
		{"bearer token", map[string]string{"Authorization": "Bearer " + jwt}, 200, "", "user:93", ""},
		{"lower-case scheme", map[string]string{"Authorization": "bearer " + jwt}, 200, "", "user:93", ""},
		{"bearer API key", map[string]string{"Authorization": "Bearer " + testKey}, 200, "", keyActor, ""},
		{"X-API-Key", map[string]string{"X-API-Key": testKey}, 200, "", keyActor, ""},
		{"no credential", nil, 401, CodeMissingCredential, "", `Bearer realm="tollgate"`},
		{"basic scheme", map[string]string{"Authorization": "Basic dTpw"}, 401, CodeMissingCredential, "", `Bearer realm="tollgate"`},
		{"empty bearer", map[string]string{"Authorization": "Bearer  "}, 401, CodeMissingCredential, "", `Bearer realm="tollgate"`},
		{"invalid token", map[string]string{"Authorization": "Bearer " + jwt + "x"}, 401, CodeInvalidToken, "",
			`Bearer realm="tollgate", error="invalid_token"`},
		{"inactive key", map[string]string{"X-API-Key": inactiveKey}, 401, CodeInvalidAPIKey, "",
			`Bearer realm="tollgate", error="invalid_token"`},
		{"JWT in X-API-Key", map[string]string{"X-API-Key": jwt}, 401, CodeInvalidAPIKey, "",
			`Bearer realm="tollgate", error="invalid_token"`},
		{"both headers", map[string]string{"Authorization": "Bearer " + jwt, "X-API-Key": testKey}, 401,
			CodeAmbiguousCredential, "", `Bearer realm="tollgate", error="invalid_request"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/channels/1", nil)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.wwwAuth {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tt.wwwAuth)
			}
			if tt.code == "" {
				var ac identity.ActorContext
				if err := json.Unmarshal(w.Body.Bytes(), &ac); err != nil || ac.ActorID != tt.actor {
					t.Fatalf("%v: %s", err, w.Body)
				}
				return
			}
			wantProblem(t, w, tt.status, tt.code, "/channels/1")
		})
	}
}

func wantProblem(t *testing.T, w *httptest.ResponseRecorder, status int, code, instance string) {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q", ct)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q", cc)
	}
	var p map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"type": problem.Base + code, "title": http.StatusText(status), "status": float64(status),
		"code": code, "instance": instance, "detail": p["detail"],
	}
	if !reflect.DeepEqual(p, want) || p["detail"] == "" {
		t.Fatalf("problem %v, want %v", p, want)
	}
}

func TestMiddlewareUnavailable(t *testing.T) {
	tg := newTollgate(t)
	tg.jwksDown.Store(true)
	tg.introDown.Store(true)
	a := tg.authenticator(t, tg.config())
	called := false
	h := a.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	for _, cred := range []string{tg.sign(t, tg.claims()), testKey} {
		r := httptest.NewRequest("GET", "/x", nil)
		r.Header.Set("Authorization", "Bearer "+cred)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("WWW-Authenticate") != "" {
			t.Fatalf("status %d, WWW-Authenticate %q", w.Code, w.Header().Get("WWW-Authenticate"))
		}
		wantProblem(t, w, http.StatusServiceUnavailable, CodeUnavailable, "/x")
	}
	if called {
		t.Fatal("an unauthenticated request reached the handler")
	}
}

func TestRequire(t *testing.T) {
	ac := identity.ActorContext{ActorID: "user:1", Permissions: []string{"tenant:read", "tenant:write"}}
	authed := NewContext(context.Background(), ac)
	tests := []struct {
		name   string
		ctx    context.Context
		perms  []string
		status int // 0: allowed
		is     error
	}{
		{"no actor", context.Background(), nil, 401, ErrUnauthenticated},
		{"no actor, permissions", context.Background(), []string{"tenant:read"}, 401, ErrUnauthenticated},
		{"no permissions asked", authed, nil, 0, nil},
		{"held", authed, []string{"tenant:write"}, 0, nil},
		{"all held", authed, []string{"tenant:read", "tenant:write"}, 0, nil},
		{"one missing", authed, []string{"tenant:read", "members:write"}, 403, ErrForbidden},
		{"prefix is not a match", authed, []string{"tenant"}, 403, ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Require(tt.ctx, tt.perms...)
			if tt.status == 0 {
				if err != nil || !reflect.DeepEqual(got, ac) {
					t.Fatalf("%+v, %v", got, err)
				}
				return
			}
			if !errors.Is(err, tt.is) || errors.Is(err, ErrUnavailable) {
				t.Fatalf("%v is not %v", err, tt.is)
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != tt.status {
				t.Fatalf("%v", err)
			}
			// Rendered as a problem.
			w := httptest.NewRecorder()
			WriteError(w, httptest.NewRequest("GET", "/admin", nil), err)
			wantProblem(t, w, tt.status, e.Code, "/admin")
		})
	}
}

func TestErrorIs(t *testing.T) {
	revoked := errRevoked()
	if !errors.Is(revoked, ErrUnauthenticated) || !errors.Is(revoked, &Error{Status: 401, Code: CodeTokenRevoked}) ||
		errors.Is(revoked, &Error{Status: 401, Code: CodeInvalidToken}) || errors.Is(revoked, ErrUnavailable) {
		t.Fatal("Is")
	}
	cause := context.DeadlineExceeded
	if err := errUnavailable(cause); !errors.Is(err, cause) || !errors.Is(err, ErrUnavailable) {
		t.Fatal("cause not wrapped")
	}
	// Anything but an *Error renders as a bare 500.
	w := httptest.NewRecorder()
	WriteError(w, httptest.NewRequest("GET", "/x", nil), errors.New("secret detail"))
	if w.Code != 500 || !json.Valid(w.Body.Bytes()) || strings.Contains(w.Body.String(), "secret") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}
