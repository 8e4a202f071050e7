package httpapi

import (
	"net/http"
	"time"

	"github.com/tollgate/tollgate/usage"
)

type overviewJSON struct {
	TenantID       string         `json:"tenant_id"`
	AsOf           time.Time      `json:"as_of"`
	Members        int            `json:"members"`
	MembersByRole  map[string]int `json:"members_by_role"`
	ActiveSessions int            `json:"active_sessions"`
	APIKeys        int            `json:"api_keys"`
	Agents         int            `json:"agents"`
	Usage          *usage.Summary `json:"usage,omitempty"`
	SecurityEvents []auditEvent   `json:"security_events"`
}

func (s *Server) tenantOverview(w http.ResponseWriter, r *http.Request) error {
	o, err := s.Overview.Get(r.Context(), *actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, overviewJSON{
		TenantID: o.TenantID, AsOf: o.AsOf, Members: o.Members, MembersByRole: o.MembersByRole,
		ActiveSessions: o.ActiveSessions, APIKeys: o.APIKeys, Agents: o.Agents, Usage: o.Usage,
		SecurityEvents: convert(o.SecurityEvents, auditEventJSON),
	})
}
