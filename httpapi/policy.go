package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/policy"
)

// jsonObject is a JSON object decoded with its numbers kept as
// json.Number, so that integers beyond float64's 53 bits reach the policy
// engine exact (Cedar's Long is 64 bits). null leaves it nil.
type jsonObject map[string]any

func (o *jsonObject) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*o = nil
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return err
	}
	*o = m
	return nil
}

// resourceBody is a resource as requests carry it: registered through
// the resources endpoints, or an extra entity of one authorization request.
type resourceBody struct {
	Type    string               `json:"type"`
	ID      string               `json:"id"`
	Parents []policy.ResourceRef `json:"parents"`
	Attrs   jsonObject           `json:"attrs"`
}

func (b resourceBody) resource() policy.Resource {
	return policy.Resource{Type: b.Type, ID: b.ID, Parents: b.Parents, Attrs: b.Attrs}
}

func toResources(bs []resourceBody) []policy.Resource {
	out := make([]policy.Resource, len(bs))
	for i, b := range bs {
		out[i] = b.resource()
	}
	return out
}

// authorizeBody is one question. Everything past the JSON shape (known
// actions and types, well-formed ids, the entities) is the engine's to
// judge: a request it cannot evaluate is a deny with reason
// invalid_request, not an error.
type authorizeBody struct {
	Principal  string             `json:"principal"`
	Action     string             `json:"action"`
	Resource   policy.ResourceRef `json:"resource"`
	OnBehalfOf string             `json:"on_behalf_of"`
	Context    jsonObject         `json:"context"`
	Entities   []resourceBody     `json:"entities"`
}

func (b authorizeBody) request() policy.Request {
	return policy.Request{
		Principal: b.Principal, Action: b.Action, Resource: b.Resource, OnBehalfOf: b.OnBehalfOf,
		Context: b.Context, Entities: toResources(b.Entities),
	}
}

type authorizeRequest struct {
	TenantID string `json:"tenant_id"`
	authorizeBody
}

// decisionJSON is policy.Decision with its lists never null.
type decisionJSON struct {
	Decision      string   `json:"decision"`
	Reasons       []string `json:"reasons"`
	Errors        []string `json:"errors"`
	DecisionID    string   `json:"decision_id"`
	PolicyVersion int64    `json:"policy_version"`
}

func decisionOut(d policy.Decision) decisionJSON {
	out := decisionJSON{Decision: d.Decision, Reasons: d.Reasons, Errors: d.Errors, DecisionID: d.DecisionID, PolicyVersion: d.PolicyVersion}
	if out.Reasons == nil {
		out.Reasons = []string{}
	}
	if out.Errors == nil {
		out.Errors = []string{}
	}
	return out
}

// authorize answers one question. A deny is an answer: 200, like a permit.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) error {
	var in authorizeRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d, err := s.Policy.Authorize(r.Context(), *actor(r), in.TenantID, in.request())
	if err != nil {
		return err
	}
	noteTenant(r, in.TenantID)
	return writeJSON(w, http.StatusOK, decisionOut(d))
}

type authorizeBatchRequest struct {
	TenantID string          `json:"tenant_id"`
	Requests []authorizeBody `json:"requests"`
}

type authorizeBatchResponse struct {
	Decisions []decisionJSON `json:"decisions"`
}

// authorizeBatch answers up to policy.MaxBatch questions about one tenant,
// in order, against one snapshot.
func (s *Server) authorizeBatch(w http.ResponseWriter, r *http.Request) error {
	var in authorizeBatchRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if len(in.Requests) == 0 || len(in.Requests) > policy.MaxBatch {
		return fault.Invalidf("requests", policy.CodeInvalidBatch, "a batch holds 1 to %d requests", policy.MaxBatch)
	}
	reqs := make([]policy.Request, len(in.Requests))
	for i, b := range in.Requests {
		reqs[i] = b.request()
	}
	ds, err := s.Policy.AuthorizeBatch(r.Context(), *actor(r), in.TenantID, reqs)
	if err != nil {
		return err
	}
	noteTenant(r, in.TenantID)
	out := authorizeBatchResponse{Decisions: make([]decisionJSON, len(ds))}
	for i, d := range ds {
		out.Decisions[i] = decisionOut(d)
	}
	return writeJSON(w, http.StatusOK, out)
}

type lookupRequest struct {
	TenantID     string         `json:"tenant_id"`
	Principal    string         `json:"principal"`
	OnBehalfOf   string         `json:"on_behalf_of"`
	Action       string         `json:"action"`
	ResourceType string         `json:"resource_type"`
	Context      map[string]any `json:"context"`
	Cursor       string         `json:"cursor"`
	Limit        int            `json:"limit"`
}

// lookupResources lists the registered resources of a type the principal
// may act on, a page at a time.
func (s *Server) lookupResources(w http.ResponseWriter, r *http.Request) error {
	var in lookupRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if len(in.Cursor) > policy.MaxIDLen {
		return fault.Invalidf("cursor", cursor.CodeInvalidCursor, "cursor is not valid")
	}
	p, err := s.Policy.Lookup(r.Context(), *actor(r), in.TenantID, policy.LookupQuery{
		Principal: in.Principal, OnBehalfOf: in.OnBehalfOf, Action: in.Action, ResourceType: in.ResourceType,
		Context: in.Context, Cursor: in.Cursor, Limit: in.Limit,
	})
	if err != nil {
		return err
	}
	noteTenant(r, in.TenantID)
	if p.IDs == nil {
		p.IDs = []string{}
	}
	return writeJSON(w, http.StatusOK, p)
}

type resourceJSON struct {
	Type      string               `json:"type"`
	ID        string               `json:"id"`
	Parents   []policy.ResourceRef `json:"parents"`
	Attrs     map[string]any       `json:"attrs"`
	UpdatedAt time.Time            `json:"updated_at"`
}

func resourceOut(res policy.Resource) resourceJSON {
	out := resourceJSON{Type: res.Type, ID: res.ID, Parents: res.Parents, Attrs: res.Attrs, UpdatedAt: res.UpdatedAt}
	if out.Parents == nil {
		out.Parents = []policy.ResourceRef{}
	}
	if out.Attrs == nil {
		out.Attrs = map[string]any{}
	}
	return out
}

type putResourceRequest struct {
	Parents []policy.ResourceRef `json:"parents"`
	Attrs   jsonObject           `json:"attrs"`
}

// putResource registers or replaces one resource; the path names it.
func (s *Server) putResource(w http.ResponseWriter, r *http.Request) error {
	var in putResourceRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	rs, err := s.Policy.PutResources(r.Context(), *actor(r), r.PathValue("id"), []policy.Resource{{
		Type: r.PathValue("type"), ID: r.PathValue("rid"), Parents: in.Parents, Attrs: in.Attrs,
	}})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resourceOut(rs[0]))
}

func (s *Server) getResource(w http.ResponseWriter, r *http.Request) error {
	res, err := s.Policy.GetResource(r.Context(), *actor(r), r.PathValue("id"), r.PathValue("type"), r.PathValue("rid"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resourceOut(res))
}

func (s *Server) deleteResource(w http.ResponseWriter, r *http.Request) error {
	if err := s.Policy.DeleteResource(r.Context(), *actor(r), r.PathValue("id"), r.PathValue("type"), r.PathValue("rid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type resourceBatch struct {
	Resources []resourceBody `json:"resources"`
}

type resourceBatchResponse struct {
	Resources []resourceJSON `json:"resources"`
}

// putResourceBatch registers or replaces up to policy.MaxBatch resources
// at once: all of them or, on any error, none.
func (s *Server) putResourceBatch(w http.ResponseWriter, r *http.Request) error {
	var in resourceBatch
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	rs, err := s.Policy.PutResources(r.Context(), *actor(r), r.PathValue("id"), toResources(in.Resources))
	if err != nil {
		return err
	}
	out := resourceBatchResponse{Resources: make([]resourceJSON, len(rs))}
	for i, res := range rs {
		out.Resources[i] = resourceOut(res)
	}
	return writeJSON(w, http.StatusOK, out)
}

type policySetJSON struct {
	TenantID  string     `json:"tenant_id"`
	Version   int64      `json:"version"`
	Text      string     `json:"text"`
	CreatedBy string     `json:"created_by,omitempty"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
}

func policySetOut(tenantID string, ps policy.PolicySet) policySetJSON {
	out := policySetJSON{TenantID: tenantID, Version: ps.Version, Text: ps.Text, CreatedBy: ps.CreatedBy}
	if !ps.CreatedAt.IsZero() {
		out.CreatedAt = &ps.CreatedAt
	}
	return out
}

// policyVersionJSON is an entry of the version list, without its text.
type policyVersionJSON struct {
	Version   int64     `json:"version"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

func policyVersionOut(ps policy.PolicySet) policyVersionJSON {
	return policyVersionJSON{Version: ps.Version, CreatedBy: ps.CreatedBy, CreatedAt: ps.CreatedAt}
}

func (s *Server) getPolicies(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	ps, err := s.Policy.Policies(r.Context(), *actor(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, policySetOut(id, ps))
}

type putPoliciesRequest struct {
	Text *string `json:"text"`
	// PreviousVersion, when sent, must be the current version: the change
	// is refused if another came first.
	PreviousVersion *int64 `json:"previous_version"`
}

func (s *Server) putPolicies(w http.ResponseWriter, r *http.Request) error {
	var in putPoliciesRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Text == nil {
		return fault.Invalidf("text", policy.CodeTextRequired, `text is required: the tenant's policies in Cedar, "" for none`)
	}
	id := r.PathValue("id")
	ps, err := s.Policy.PutPolicies(r.Context(), *actor(r), id, *in.Text, in.PreviousVersion)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, policySetOut(id, ps))
}

// versionsPage reads the page of a list of versions, whose cursor is a
// version number.
func versionsPage(r *http.Request) (cursor.Page, int, error) {
	p, limit, err := listPage(r)
	if err != nil {
		return p, limit, err
	}
	if p.After != "" {
		if v, err := strconv.ParseInt(p.After, 10, 64); err != nil || v < 1 {
			return p, limit, fault.Invalidf("cursor", cursor.CodeInvalidCursor, "cursor is not valid")
		}
	}
	return p, limit, nil
}

func (s *Server) listPolicyVersions(w http.ResponseWriter, r *http.Request) error {
	p, limit, err := versionsPage(r)
	if err != nil {
		return err
	}
	list, err := s.Policy.PolicyVersions(r.Context(), *actor(r), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(list, limit, policyVersionOut,
		func(ps policy.PolicySet) string { return strconv.FormatInt(ps.Version, 10) }))
}

// versionParam reads {n}; what is not a version number is version 0,
// which never exists, so that the tenant is checked before the answer is
// policy_version_not_found.
func versionParam(r *http.Request) int64 {
	v, err := strconv.ParseInt(r.PathValue("n"), 10, 64)
	if err != nil || v < 1 {
		return 0
	}
	return v
}

func (s *Server) getPolicyVersion(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	ps, err := s.Policy.PolicyVersion(r.Context(), *actor(r), id, versionParam(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, policySetOut(id, ps))
}

// rollbackPolicies makes an old version's text the tenant's next version.
func (s *Server) rollbackPolicies(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	ps, err := s.Policy.Rollback(r.Context(), *actor(r), id, versionParam(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, policySetOut(id, ps))
}

type validatePoliciesRequest struct {
	Text     *string `json:"text"`
	TenantID string  `json:"tenant_id"`
}

type validatePoliciesResponse struct {
	Valid bool `json:"valid"`
}

// validatePolicies checks a policy text without storing it. The tenant,
// the caller's own by default, is the one the text may refer to.
func (s *Server) validatePolicies(w http.ResponseWriter, r *http.Request) error {
	var in validatePoliciesRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Text == nil {
		return fault.Invalidf("text", policy.CodeTextRequired, "text is required: the policies to check, in Cedar")
	}
	if in.TenantID == "" {
		in.TenantID = actor(r).TenantID
	}
	if err := s.Policy.Validate(r.Context(), *actor(r), in.TenantID, *in.Text); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, validatePoliciesResponse{Valid: true})
}
