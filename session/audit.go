package session

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ratelimit"
)

// Auditor queues audit events off the request path (audit.Recorder):
// sign-ins, refreshes and tenant switches are many, and a lost one is
// counted, not fatal. Sign-outs and revocations go through the outbox.
type Auditor interface {
	Add(ctx context.Context, events ...audit.Event)
}

// Reason classes of a failed session.login. Never the password, and never
// which of them the client was told: every failure answers alike.
const (
	ReasonBadPassword    = "bad_password"
	ReasonUnknownAccount = "unknown_account"
	ReasonDisabled       = "disabled"
	ReasonThrottled      = "throttled"
	ReasonTenantDenied   = "tenant_denied"
)

// loginNote is what login learned, for its audit event.
type loginNote struct {
	// email is the normalised address tried; actorID the account's actor
	// when the address is known.
	email   string
	actorID string
	reason  string
}

// EmailHash is how a sign-in event names an address without an account:
// hex of the first 16 bytes of HMAC-SHA256(key, normalised address). The
// log must not collect the addresses attackers try (often other services'
// leaked passwords' accounts), yet an investigator holding the key can
// check whether a given address was tried and attempts on one address
// can be told apart. key is Deps.AuditEmailKey, derived from the master
// key, so the hashes are not comparable across deployments.
func EmailHash(key []byte, email string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(email))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// auditLogin records a sign-in: a success in the new session's tenant
// stream (the platform stream when it has none); a failure in the
// platform stream, since accounts are not a tenant's and a failure names
// no tenant the client could be trusted about.
func (s *Service) auditLogin(ctx context.Context, note loginNote, t Tokens, err error) {
	if s.audit == nil {
		return
	}
	e := audit.Event{Action: audit.ActionSessionLogin}
	switch {
	case err == nil:
		e.TenantID, e.ActorID = t.TenantID, t.ActorID
		e.CredentialKind, e.CredentialID = identity.CredentialSession, t.SessionID
		e.TargetType, e.TargetID, e.Outcome = "user", t.ActorID, audit.Success
		e.Detail = map[string]string{"amr": amrString(t.AMR)}
	case note.reason == "":
		// Bad input (no password, a malformed email) or a failure of
		// Tollgate itself: no credential was tried.
		return
	default:
		e.Outcome, e.Reason = audit.Failure, note.reason
		if note.reason == ReasonThrottled {
			e.Outcome = audit.Denied
			var ex *ratelimit.ExceededError
			if errors.As(err, &ex) {
				e.Detail = map[string]string{"limits": audit.FitText(strings.Join(ex.Policies, ","), audit.MaxDetailValue)}
			}
		}
		if note.actorID != "" {
			e.TargetType, e.TargetID = "user", note.actorID
		} else if note.email != "" && len(s.emailKey) > 0 {
			if e.Detail == nil {
				e.Detail = map[string]string{}
			}
			e.Detail["email_hmac"] = EmailHash(s.emailKey, note.email)
		}
	}
	s.audit.Add(ctx, e)
}

// Refresh rotates a refresh token (see refresh) and records the refresh,
// or the reuse that revoked the session.
func (s *Service) Refresh(ctx context.Context, raw string, c Client) (Tokens, error) {
	var reuse *ReuseError
	t, err := s.refresh(ctx, raw, c, &reuse)
	if s.audit == nil {
		return t, err
	}
	switch {
	case reuse != nil:
		// Two parties hold the token: the presenter is unknown, the
		// session's holder is its victim or the thief.
		s.audit.Add(ctx, audit.Event{
			Action: audit.ActionSessionRefreshReuse, Outcome: audit.Denied, Reason: "refresh_token_reused",
			TargetType: "session", TargetID: reuse.SessionID, Detail: map[string]string{"holder": reuse.ActorID},
		})
	case err == nil:
		s.audit.Add(ctx, audit.Event{
			TenantID: t.TenantID, Action: audit.ActionSessionRefresh, Outcome: audit.Success,
			ActorID: t.ActorID, CredentialKind: identity.CredentialSession, CredentialID: t.SessionID,
			TargetType: "session", TargetID: t.SessionID,
		})
	}
	return t, err
}

// SwitchTenant opens a session in another tenant (see switchTenant) and
// records it in the tenant switched to; a refusal goes to the stream of
// the tenant the caller is in, since the one asked for is the client's
// choice and may not exist.
func (s *Service) SwitchTenant(ctx context.Context, ac identity.ActorContext, tenantID string, c Client) (Tokens, error) {
	t, err := s.switchTenant(ctx, ac, tenantID, c)
	if s.audit == nil {
		return t, err
	}
	e := audit.Event{Action: audit.ActionSessionSwitch, TargetType: "tenant", Detail: map[string]string{"from_tenant": ac.TenantID}}
	switch {
	case err == nil:
		e.TenantID, e.TargetID, e.Outcome = t.TenantID, t.TenantID, audit.Success
		e.Detail["session_id"] = t.SessionID
	case fault.KindOf(err) == fault.Forbidden:
		e.TenantID, e.Outcome, e.Reason = ac.TenantID, audit.Denied, codeOf(err)
		if audit.FitIdent(tenantID, audit.MaxTargetID) {
			e.TargetID = tenantID
		}
	default:
		return t, err
	}
	s.audit.Add(ctx, e)
	return t, err
}

func codeOf(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return string(fe.Code)
	}
	return ""
}
