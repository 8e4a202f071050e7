// This file is the same in every example service's tests: a fake Tollgate
// answering the calls sdk/pep and the registry client make, and an
// authenticate middleware standing in for authn's.

package main

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

// question is what the fake PDP is asked.
type question struct {
	TenantID   string       `json:"tenant_id"`
	Principal  string       `json:"principal"`
	Action     string       `json:"action"`
	Resource   pep.Resource `json:"resource"`
	OnBehalfOf string       `json:"on_behalf_of"`
}

// fakeTollgate decides with decide (the reason of a permit, "" for a deny)
// and records the resources registered, refusing ids starting with "bad".
type fakeTollgate struct {
	*httptest.Server
	decide    func(q question) string
	mu        sync.Mutex
	resources map[string]map[string]any // "tenant/type/id" → attrs
	down      bool
}

func newFakeTollgate(t *testing.T, decide func(q question) string) *fakeTollgate {
	f := &fakeTollgate{decide: decide, resources: map[string]map[string]any{}}
	answer := func(q question) map[string]any {
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
		var q question
		_ = json.NewDecoder(r.Body).Decode(&q)
		_ = json.NewEncoder(w).Encode(answer(q))
	})
	mux.HandleFunc("POST /v1/authorize/batch", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			TenantID string     `json:"tenant_id"`
			Requests []question `json:"requests"`
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

func (f *fakeTollgate) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

func (f *fakeTollgate) resource(key string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.resources[key]
}

// clients returns a pep.Client without a decision cache,
// and a registry client, both for f.
func (f *fakeTollgate) clients(t *testing.T) (*pep.Client, *seedsvc.Registry) {
	pdp, err := pep.New(context.Background(), pep.Config{URL: f.URL, ClientID: "svc", ClientSecret: "secret", CacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pdp.Close)
	return pdp, seedsvc.NewRegistry(f.URL, "svc", "secret")
}

// actors authenticates "Authorization: Bearer <name>" as actors[name].
func actors(actors map[string]identity.ActorContext) func(http.Handler) http.Handler {
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

// send makes a request to h as who, with body as JSON, and returns the
// status and the decoded answer.
func send(t *testing.T, h http.Handler, method, path, who string, body any) (int, map[string]any) {
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
