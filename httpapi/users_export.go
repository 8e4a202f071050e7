package httpapi

import (
	"net/http"
	"time"
)

// personalExport is GET /v1/users/me/export: everything held about the
// caller, secrets excepted, as the other endpoints show each thing.
type personalExport struct {
	ExportedAt  time.Time     `json:"exported_at"`
	User        userJSON      `json:"user"`
	Memberships []tenantJSON  `json:"memberships"`
	Agents      []agentJSON   `json:"agents"`
	Sessions    []sessionJSON `json:"sessions"`
	APIKeys     []apiKeyJSON  `json:"api_keys"`
	AuditEvents []auditEvent  `json:"audit_events"`
	Truncated   []string      `json:"truncated"`
}

func (s *Server) exportMe(w http.ResponseWriter, r *http.Request) error {
	e, err := s.Privacy.Export(r.Context(), *actor(r))
	if err != nil {
		return err
	}
	out := personalExport{
		ExportedAt:  e.ExportedAt,
		User:        userOut(e.User),
		Memberships: convert(e.Memberships, tenantWithRoles),
		Agents:      convert(e.Agents, agentOut),
		Sessions:    convert(e.Sessions, sessionsOut(r)),
		APIKeys:     convert(e.APIKeys, apiKeyOut),
		AuditEvents: convert(e.AuditEvents, auditEventJSON),
		Truncated:   append([]string{}, e.Truncated...),
	}
	w.Header().Set("Content-Disposition", `attachment; filename="tollgate-export.json"`)
	return writeJSON(w, http.StatusOK, out)
}

// convert renders a list, empty rather than null.
func convert[S, T any](in []S, f func(S) T) []T {
	out := make([]T, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}
