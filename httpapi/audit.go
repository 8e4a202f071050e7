package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

// requester is who asks the audit API, as the credential resolved.
func requester(r *http.Request) audit.Requester {
	ac := actor(r)
	return audit.Requester{
		ActorID: ac.ActorID, OwnSession: ac.Credential == identity.CredentialSession,
		TenantID: ac.TenantID, Permissions: ac.Permissions,
	}
}

// auditTime reads an RFC 3339 time parameter; absent is zero (open).
func auditTime(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, errAuditQuery(name, "must be an RFC 3339 time, e.g. 2025-03-14T15:09:26Z")
	}
	return t, nil
}

func errAuditQuery(field, detail string) error {
	return fault.Invalidf(field, audit.CodeQueryInvalid, "%s %s", field, detail)
}

// auditEvent is an event as the API shows it.
type auditEvent struct {
	ID             string            `json:"id"`
	Time           time.Time         `json:"time"`
	TenantID       string            `json:"tenant_id,omitempty"`
	Seq            int64             `json:"seq"`
	ActorID        string            `json:"actor_id,omitempty"`
	OnBehalfOf     string            `json:"on_behalf_of,omitempty"`
	CredentialKind string            `json:"credential_kind,omitempty"`
	CredentialID   string            `json:"credential_id,omitempty"`
	Action         string            `json:"action"`
	TargetType     string            `json:"target_type,omitempty"`
	TargetID       string            `json:"target_id,omitempty"`
	Outcome        audit.Outcome     `json:"outcome"`
	Reason         string            `json:"reason,omitempty"`
	ClientIP       string            `json:"client_ip,omitempty"`
	UserAgent      string            `json:"user_agent,omitempty"`
	RequestID      string            `json:"request_id,omitempty"`
	TraceID        string            `json:"trace_id,omitempty"`
	Detail         map[string]string `json:"detail"`
}

func auditEventJSON(e audit.Event) auditEvent {
	d := e.Detail
	if d == nil {
		d = map[string]string{}
	}
	return auditEvent{
		ID: e.ID, Time: e.Time, TenantID: e.TenantID, Seq: e.Seq, ActorID: e.ActorID, OnBehalfOf: e.OnBehalfOf,
		CredentialKind: e.CredentialKind, CredentialID: e.CredentialID, Action: e.Action, TargetType: e.TargetType,
		TargetID: e.TargetID, Outcome: e.Outcome, Reason: e.Reason, ClientIP: e.ClientIP, UserAgent: e.UserAgent,
		RequestID: e.RequestID, TraceID: e.TraceID, Detail: d,
	}
}

// listAudit is GET /v1/audit: one stream's events, newest first.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	qs := r.URL.Query()
	q := audit.Query{
		TenantID: qs.Get("tenant_id"), ActorID: qs.Get("actor"), Action: qs.Get("action"),
		Outcome: audit.Outcome(qs.Get("outcome")), TargetID: qs.Get("target"),
	}
	var err error
	if q.From, err = auditTime(r, "from"); err != nil {
		return err
	}
	if q.To, err = auditTime(r, "to"); err != nil {
		return err
	}
	if v := qs.Get("limit"); v != "" {
		if q.Limit, err = strconv.Atoi(v); err != nil || q.Limit < 1 {
			return errAuditQuery("limit", "must be an integer from 1 to 500")
		}
	}
	if v := qs.Get("cursor"); v != "" {
		// The cursor is the seq of the last event of the page before.
		if q.BeforeSeq, err = strconv.ParseInt(v, 10, 64); err != nil || q.BeforeSeq < 1 {
			return errAuditQuery("cursor", "is not a cursor this endpoint returned")
		}
	}
	p, err := s.Audit.Query(r.Context(), requester(r), q)
	if err != nil {
		return err
	}
	out := listResponse[auditEvent]{Items: make([]auditEvent, len(p.Events))}
	for i, e := range p.Events {
		out.Items[i] = auditEventJSON(e)
	}
	if p.NextBefore > 0 {
		out.NextCursor = strconv.FormatInt(p.NextBefore, 10)
	}
	return writeJSON(w, http.StatusOK, out)
}

// exportAudit is GET /v1/audit/export: the stream's run from..to as OCSF
// NDJSON, streamed. The rule and the bounds are checked before the first
// byte; a failure after it can only cut the response, which a client
// sees as a broken transfer (and verify as a missing tail).
func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request) error {
	from, err := auditTime(r, "from")
	if err != nil {
		return err
	}
	to, err := auditTime(r, "to")
	if err != nil {
		return err
	}
	tenant := r.URL.Query().Get("tenant_id")
	nd := audit.NewNDJSONWriter(w)
	x := newExportStream(w, "application/x-ndjson")
	err = s.Audit.Export(r.Context(), requester(r), tenant, from, to, auditExportRows{x: x, nd: nd})
	return x.finish(r.Context(), s.Log, err, nd.Flush)
}

// auditExportRows moves the export's write deadline on before each line.
type auditExportRows struct {
	x  *exportStream
	nd *audit.NDJSONWriter
}

func (a auditExportRows) Write(e *audit.Event) error {
	a.x.row()
	return a.nd.Write(e)
}

func (a auditExportRows) WriteDigest(d *audit.Digest) error {
	a.x.row()
	return a.nd.WriteDigest(d)
}

// auditKeys is GET /.well-known/audit-keys.json: the Ed25519 keys that
// verify audit digests, every one ever used.
func (s *Server) auditKeys(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	_, err := w.Write(s.AuditKeys.JWKS())
	return err
}
