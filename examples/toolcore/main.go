// Command toolcore is an example service of the ecosystem: the tool
// registry, authenticated by Tollgate through sdk/authn and authorized by
// Tollgate's policies through sdk/pep, as an outside service would import
// them.
//
//	PUT /tools/{id}  register or replace a tool {name, description, allowed_agents, roles};
//	                 the caller must hold MANAGE_TENANT on its tenant (tenant admins and owners)
//	GET /tools       the tenant's tools the caller may EXECUTE_TOOL, decided in one batch
//	GET /healthz     "ok", unauthenticated
//
// Registering is a tenant-level act: an unregistered tool has no attributes
// a policy could decide on (tool_admin speaks only of registered tools), so
// toolcore asks for MANAGE_TENANT on {type: tenant, id: <tenant>} and then
// writes the tool to Tollgate's resource registry
// (PUT /v1/tenants/{tenant}/resources/tool/{id}) with its allowed_agents
// (agent actor ids, "agent:<id>") and roles, with the service's own
// client-credentials token: the service must hold the scopes authz:check
// and authz:write, for the tenants it serves.
// The default policies tool_agent and tool_role then decide EXECUTE_TOOL.
//
// Configuration as for the other examples (see examples/internal/seedsvc): TOLLGATE_URL,
// TOLLGATE_CLIENT_ID, TOLLGATE_CLIENT_SECRET, TOLLGATE_ISSUER,
// TOLLGATE_AUDIENCE, TOLLGATE_NATS_URL, TOLLGATE_NATS_PREFIX and LISTEN
// (default 127.0.0.1:8092).
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"

	"github.com/tollgate/tollgate/examples/internal/seedsvc"
	"github.com/tollgate/tollgate/sdk/authn"
	"github.com/tollgate/tollgate/sdk/pep"
)

func main() {
	err := seedsvc.Serve(context.Background(), "toolcore", "127.0.0.1:8092", os.Getenv, os.Stdout, os.Stderr,
		func(a *authn.Authenticator, pdp *pep.Client, reg *seedsvc.Registry) http.Handler {
			s := &server{Server: seedsvc.Server{PDP: pdp}, registry: reg, tools: map[string]map[string]tool{}}
			return s.routes(a.Middleware)
		})
	if err != nil {
		fmt.Fprintln(os.Stderr, "toolcore:", err)
		os.Exit(1)
	}
}

type tool struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Description   string   `json:"description"`
	AllowedAgents []string `json:"allowed_agents"`
	Roles         []string `json:"roles"`
}

type server struct {
	seedsvc.Server
	registry *seedsvc.Registry
	writes   sync.Mutex // serializes registrations, so that the registry and tools agree
	mu       sync.Mutex
	tools    map[string]map[string]tool // tenant → id → tool
}

// routes serves /healthz openly and the API behind authenticate
// (authn's Middleware; tests put an actor in the context themselves).
func (s *server) routes(authenticate func(http.Handler) http.Handler) http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("PUT /tools/{id}", s.putTool)
	api.HandleFunc("GET /tools", s.listTools)
	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	root.Handle("/", authenticate(api))
	return root
}

func (s *server) putTool(w http.ResponseWriter, r *http.Request) {
	ac, _ := authn.FromContext(r.Context())
	if ac.TenantID == "" {
		seedsvc.WriteProblem(w, http.StatusForbidden, "tenant_not_selected", "switch to a tenant first", nil)
		return
	}
	if !s.Check(w, r, "MANAGE_TENANT", pep.Resource{Type: "tenant", ID: ac.TenantID}) {
		return
	}
	var in tool
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
		seedsvc.WriteProblem(w, http.StatusBadRequest, "invalid_body", err.Error(), nil)
		return
	}
	in.ID, in.AllowedAgents, in.Roles = r.PathValue("id"), seedsvc.NonNil(in.AllowedAgents), seedsvc.NonNil(in.Roles)
	attrs := map[string]any{"allowed_agents": in.AllowedAgents, "roles": in.Roles}
	s.writes.Lock()
	defer s.writes.Unlock()
	if err := s.registry.Put(r.Context(), ac.TenantID, "tool", in.ID, attrs); err != nil {
		seedsvc.WriteRegistryProblem(w, "tool", err)
		return
	}
	s.mu.Lock()
	if s.tools[ac.TenantID] == nil {
		s.tools[ac.TenantID] = map[string]tool{}
	}
	s.tools[ac.TenantID][in.ID] = in
	s.mu.Unlock()
	seedsvc.WriteJSON(w, http.StatusOK, in)
}

// listTools filters the tenant's tools with one AuthorizeBatch: only those
// the caller (an agent acting for its human included) may EXECUTE_TOOL.
func (s *server) listTools(w http.ResponseWriter, r *http.Request) {
	ac, _ := authn.FromContext(r.Context())
	s.mu.Lock()
	var all []tool
	for _, t := range s.tools[ac.TenantID] {
		all = append(all, t)
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b tool) int { return cmp.Compare(a.ID, b.ID) })
	out := []tool{}
	for batch := range slices.Chunk(all, pep.MaxBatch) {
		reqs := make([]pep.Request, len(batch))
		for i, t := range batch {
			reqs[i] = pep.Request{TenantID: ac.TenantID, Principal: ac.ActorID, OnBehalfOf: ac.OnBehalfOf,
				Action: "EXECUTE_TOOL", Resource: pep.Resource{Type: "tool", ID: t.ID}}
		}
		ds, err := s.PDP.AuthorizeBatch(r.Context(), ac.TenantID, reqs)
		switch {
		case errors.Is(err, pep.ErrUnavailable):
			seedsvc.WriteProblem(w, http.StatusServiceUnavailable, pep.CodeUnavailable, "the request cannot be authorized now; retry later", nil)
			return
		case err != nil:
			seedsvc.WriteProblem(w, http.StatusInternalServerError, "internal_error", "", nil)
			return
		}
		for i, d := range ds {
			if d.Permit {
				out = append(out, batch[i])
			}
		}
	}
	seedsvc.WriteJSON(w, http.StatusOK, map[string]any{"tools": out})
}
