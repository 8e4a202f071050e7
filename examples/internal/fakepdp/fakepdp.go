// Package fakepdp is a stand-in for Tollgate's authorize, resource-registry
// and token endpoints, answering the calls sdk/pep and the registry client
// make, plus an authenticate middleware standing in for sdk/authn's. It is
// used only by the example services' unit tests; the end-to-end test
// (examples/e2e_test.go) runs against the real Tollgate.
package fakepdp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate/tollgate/examples/internal/seedsvc"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/sdk/authn"
	"github.com/tollgate/tollgate/sdk/pep"
)

// Question is what the fake PDP is asked.
type Question struct {
	TenantID   string       `json:"tenant_id"`
	Principal  string       `json:"principal"`
	Action     string       `json:"action"`
	Resource   pep.Resource `json:"resource"`
	OnBehalfOf string       `json:"on_behalf_of"`
}

// Server is a fake Tollgate. It decides with decide (the reason of a permit,
// "" for a deny) and records the resources registered, refusing ids starting
// with "bad".
type Server struct {
	*httptest.Server
	decide    func(q Question) string
	mu        sync.Mutex
	resources map[string]map[string]any // "tenant/type/id" → attrs
	down      bool
}

// New starts a fake Tollgate deciding with decide, closed when t ends.
func New(t testing.TB, decide func(q Question) string) *Server {
	f := &Server{decide: decide, resources: map[string]map[string]any{}}
	answer := func(q Question) map[string]any {
		if reason := f.decide(q); reason != "" {
			return map[string]any{"decision": "permit", "reasons": []string{reason}, "errors": []string{}, "decision_id": "d1"}
		}
		return map[string]any{"decision": "deny", "reasons": []string{"default_deny"}, "errors": []string{}, "decision_id": "d2"}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		if id, secret, _ := r.BasicAuth(); id != "svc" || secret != "secret" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "svc-token", "token_type": "Bearer", "expires_in": 3600})
	})
	mux.HandleFunc("POST /v1/authorize", func(w http.ResponseWriter, r *http.Request) {
		var q Question
		_ = json.NewDecoder(r.Body).Decode(&q)
		_ = json.NewEncoder(w).Encode(answer(q))
	})
	mux.HandleFunc("POST /v1/authorize/batch", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			TenantID string     `json:"tenant_id"`
			Requests []Question `json:"requests"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		out := []map[string]any{}
		for _, q := range in.Requests {
			q.TenantID = in.TenantID
			out = append(out, answer(q))
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"decisions": out})
	})
	mux.HandleFunc("PUT /v1/tenants/{id}/resources/{type}/{rid}", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer svc-token" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if strings.HasPrefix(r.PathValue("rid"), "bad") {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"code":"invalid_resource"}`))
			return
		}
		var in struct {
			Attrs map[string]any `json:"attrs"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		f.mu.Lock()
		f.resources[r.PathValue("id")+"/"+r.PathValue("type")+"/"+r.PathValue("rid")] = in.Attrs
		f.mu.Unlock()
		_, _ = w.Write([]byte("{}"))
	})
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		down := f.down
		f.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// SetDown makes every endpoint answer 503 Service Unavailable while down.
func (f *Server) SetDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

// Resource returns the attrs registered for key ("tenant/type/id"), or nil.
func (f *Server) Resource(key string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.resources[key]
}

// Clients returns a pep.Client without a decision cache,
// and a registry client, both for f.
func (f *Server) Clients(t testing.TB) (*pep.Client, *seedsvc.Registry) {
	pdp, err := pep.New(context.Background(), pep.Config{URL: f.URL, ClientID: "svc", ClientSecret: "secret", CacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pdp.Close)
	return pdp, seedsvc.NewRegistry(f.URL, "svc", "secret")
}

// Actors authenticates "Authorization: Bearer <name>" as actors[name].
func Actors(actors map[string]identity.ActorContext) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ac, ok := actors[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
			if !ok {
				http.Error(w, "who?", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r.WithContext(authn.NewContext(r.Context(), ac)))
		})
	}
}

// Send makes a request to h as who, with body as JSON, and returns the
// status and the decoded answer.
func Send(t testing.TB, h http.Handler, method, path, who string, body any) (int, map[string]any) {
	t.Helper()
	var b strings.Builder
	if body != nil {
		_ = json.NewEncoder(&b).Encode(body)
	}
	r := httptest.NewRequest(method, path, strings.NewReader(b.String()))
	r.Header.Set("Authorization", "Bearer "+who)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}
