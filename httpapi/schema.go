package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/policy"
)

// schemaJSON is a version of a tenant's schema extension. Effective, on
// the current version only, is the whole schema the tenant's policies are
// checked against: the built-in one with the installation's and the
// tenant's extensions.
type schemaJSON struct {
	TenantID  string     `json:"tenant_id"`
	Version   int64      `json:"version"`
	Text      string     `json:"text"`
	Effective string     `json:"effective,omitempty"`
	CreatedBy string     `json:"created_by,omitempty"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
}

func schemaOut(tenantID string, sv policy.SchemaVersion) schemaJSON {
	out := schemaJSON{TenantID: tenantID, Version: sv.Version, Text: sv.Text, CreatedBy: sv.CreatedBy}
	if !sv.CreatedAt.IsZero() {
		out.CreatedAt = &sv.CreatedAt
	}
	return out
}

func schemaVersionOut(sv policy.SchemaVersion) policyVersionJSON {
	return policyVersionJSON{Version: sv.Version, CreatedBy: sv.CreatedBy, CreatedAt: sv.CreatedAt}
}

func (s *Server) getSchema(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	sv, err := s.Policy.Schema(r.Context(), *actor(r), id)
	if err != nil {
		return err
	}
	out := schemaOut(id, sv)
	if out.Effective, err = s.Policy.EffectiveSchema(r.Context(), *actor(r), id); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

type putSchemaRequest struct {
	Text *string `json:"text"`
	// PreviousVersion, when sent, must be the current version: the change
	// is refused if another came first.
	PreviousVersion *int64 `json:"previous_version"`
}

func (s *Server) putSchema(w http.ResponseWriter, r *http.Request) error {
	var in putSchemaRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Text == nil {
		return fault.Invalidf("text", policy.CodeTextRequired, `text is required: the tenant's schema extension in Cedar's schema syntax, "" for none`)
	}
	id := r.PathValue("id")
	sv, err := s.Policy.PutSchema(r.Context(), *actor(r), id, *in.Text, in.PreviousVersion)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, schemaOut(id, sv))
}

func (s *Server) listSchemaVersions(w http.ResponseWriter, r *http.Request) error {
	p, limit, err := listPage(r)
	if err != nil {
		return err
	}
	if p.After != "" {
		if v, err := strconv.ParseInt(p.After, 10, 64); err != nil || v < 1 {
			return fault.Invalidf("cursor", cursor.CodeInvalidCursor, "cursor is not valid")
		}
	}
	list, err := s.Policy.SchemaVersions(r.Context(), *actor(r), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(list, limit, schemaVersionOut,
		func(sv policy.SchemaVersion) string { return strconv.FormatInt(sv.Version, 10) }))
}

func (s *Server) getSchemaVersion(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	sv, err := s.Policy.SchemaVersion(r.Context(), *actor(r), id, versionParam(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, schemaOut(id, sv))
}

// rollbackSchema makes an old version's text the tenant's next version.
func (s *Server) rollbackSchema(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	sv, err := s.Policy.RollbackSchema(r.Context(), *actor(r), id, versionParam(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, schemaOut(id, sv))
}
