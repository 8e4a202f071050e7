package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/token"
)

// NewAuditKeyring loads the audit digest keys: a token.Keyring of its own
// over the store's audit key table, always Ed25519, creating the first key
// on an empty store. It rotates like the token keyring, but its keys are
// never pruned: every digest they signed stays to be verified.
func NewAuditKeyring(ctx context.Context, st audit.Store, masterKey []byte) (*token.Keyring, error) {
	sealer, err := token.NewSealer(masterKey)
	if err != nil {
		return nil, err
	}
	// The keyring publishes a retired key for TokenTTL after its successor
	// starts; a digest key must stay published (JWKS) as long as the
	// digests it signed are kept, so "a token" here lives a century.
	kr := token.NewKeyring(st.AuditKeyStore(), sealer, token.KeyringOptions{Algorithm: token.AlgEdDSA, TokenTTL: auditKeysPublishedFor})
	if err := kr.Load(ctx); err != nil {
		return nil, fmt.Errorf("loading audit digest keys: %w", err)
	}
	return kr, nil
}

// auditKeysPublishedFor keeps every audit digest key in the JWK Set.
const auditKeysPublishedFor = 100 * 365 * 24 * time.Hour

// auditDecisions is the PDP's decision log: each record it is given (every
// deny and the sampled permits) becomes an authz.decision event in the
// tenant's stream, queued on the Recorder. It runs on the decision path,
// so it only builds the event and hands it over. rec is nil when
// audit_decisions is off; lines, when set (decision_log_lines), also
// writes the old structured log line.
type auditDecisions struct {
	rec   *audit.Recorder
	lines *policy.LogDecisions
}

// Record implements policy.DecisionLog.
func (d auditDecisions) Record(ctx context.Context, r policy.DecisionRecord) {
	if d.lines != nil {
		d.lines.Record(ctx, r)
	}
	if d.rec != nil {
		d.rec.Add(ctx, DecisionEvent(r))
	}
}

// DecisionEvent is the audit event of a PDP decision: the actor is who
// asked, detail.principal whom it was about; the request and trace ids
// are the asking request's. The rest of the origin (client address,
// credential) is stamped from the context by the Recorder.
// Values a client chose that do not fit an identifier field (a resource id
// with a space, an invalid request's input) go to the detail as text, so
// that the event is shortened, never dropped.
func DecisionEvent(r policy.DecisionRecord) audit.Event {
	e := audit.Event{
		TenantID: r.TenantID, Time: r.At, Action: audit.ActionDecision, Outcome: audit.Success,
		ActorID: r.ActorID, RequestID: r.RequestID, TraceID: r.TraceID,
		Reason: joinFit(r.Decision.Reasons, audit.MaxReason),
		Detail: map[string]string{
			"action":         audit.FitText(r.Request.Action, detailText),
			"principal":      audit.FitText(r.Request.Principal, detailText),
			"decision_id":    r.Decision.DecisionID,
			"policy_version": strconv.FormatInt(r.Decision.PolicyVersion, 10),
		},
	}
	if !r.Decision.Permitted() {
		e.Outcome = audit.Denied
	}
	if !audit.FitIdent(r.TenantID, 128) {
		// Never reached through the API, which checks tenant ids; the
		// decision still belongs to a stream.
		e.TenantID = ""
		e.Detail["tenant_id"] = audit.FitText(r.TenantID, detailText)
	}
	res := r.Request.Resource
	if audit.FitIdent(res.Type, audit.MaxTarget) && audit.FitIdent(res.ID, audit.MaxTargetID) {
		e.TargetType, e.TargetID = res.Type, res.ID
	} else {
		e.Detail["resource_type"] = audit.FitText(res.Type, detailText)
		e.Detail["resource_id"] = audit.FitText(res.ID, detailText)
	}
	if r.Request.OnBehalfOf != "" {
		e.Detail["on_behalf_of"] = audit.FitText(r.Request.OnBehalfOf, detailText)
	}
	if len(r.Decision.Errors) > 0 {
		e.Detail["errors"] = joinFit(r.Decision.Errors, audit.MaxDetailValue)
	}
	fitDetail(e.Detail)
	return e
}

// fitDetail shortens the values of d until its canonical form fits
// audit.MaxDetailBytes. Below 600 bytes of values it always does, even if
// every byte needs a six-byte escape, and nothing is encoded.
func fitDetail(d map[string]string) {
	n := 0
	for _, v := range d {
		n += len(v)
	}
	for limit := detailText; n >= 600 && audit.DetailSize(d) > audit.MaxDetailBytes; limit /= 2 {
		for k, v := range d {
			d[k] = audit.FitText(v, limit)
		}
	}
}

// detailText bounds the client-chosen detail values of a decision, so
// that all of them together stay under audit.MaxDetailBytes.
const detailText = 256

// joinFit joins parts with ", " and cuts the result to max bytes.
func joinFit(parts []string, max int) string {
	return audit.FitText(strings.Join(parts, ", "), max)
}

// auditEmailKey keys session.EmailHash: derived from the master key, so
// that it is as secret as the sealed keys and needs no setting of its own,
// and under a label of its own, so that it is no other key.
func auditEmailKey(masterKey []byte) []byte {
	m := hmac.New(sha256.New, masterKey)
	m.Write([]byte("tollgate audit email hash v1"))
	return m.Sum(nil)
}

// auditRights answers the audit read rule from the identity rules.
type auditRights struct{ idents *identity.Service }

// TenantPermission implements audit.Rights.
func (r auditRights) TenantPermission(ctx context.Context, tenantID, actorID, perm string) (bool, error) {
	perms, err := r.idents.TenantPermissions(ctx, tenantID, actorID)
	if err != nil {
		return false, err
	}
	return perms.Has(identity.Permission(perm)), nil
}

// IsPlatformAdmin implements audit.Rights.
func (r auditRights) IsPlatformAdmin(ctx context.Context, actorID string) bool {
	return r.idents.IsPlatformAdmin(ctx, identity.Caller{ActorID: actorID})
}

// FlushAudit writes the queued audit events now, instead of at the next
// flush interval.
func (a *App) FlushAudit(ctx context.Context) { a.auditRec.Flush(ctx) }
