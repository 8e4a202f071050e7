package audit

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ids"
)

// Outcome says how the act ended.
type Outcome string

const (
	Success Outcome = "success"
	Failure Outcome = "failure"
	// Denied is a refusal by policy or a limit, as opposed to a Failure of
	// the act itself (a wrong password, an expired token).
	Denied Outcome = "denied"
)

// Actions, named <object>.<verb>. The list is the catalogue of what the log
// records; docs/audit.md describes each and maps it to OCSF.
const (
	// Sign-in and sessions (bounded queue, off the request path).
	ActionSessionLogin        = "session.login"
	ActionSessionRefresh      = "session.refresh"
	ActionSessionRefreshReuse = "session.refresh_reuse"
	ActionSessionSwitch       = "session.switch_tenant"
	ActionTokenExchange       = "token.exchange"
	ActionClientCredentials   = "token.client_credentials"
	ActionRateLimitRefusal    = "ratelimit.refusal"
	ActionDecision            = "authz.decision"

	// Acts that must never be lost (transactional outbox).
	ActionSessionLogout       = "session.logout"
	ActionSessionRevoke       = "session.revoke"
	ActionPasswordChange      = "password.change"
	ActionUserCreate          = "user.create"
	ActionUserUpdate          = "user.update"
	ActionTenantCreate        = "tenant.create"
	ActionTenantUpdate        = "tenant.update"
	ActionTenantSuspend       = "tenant.suspend"
	ActionTenantActivate      = "tenant.activate"
	ActionMemberAdd           = "member.add"
	ActionMemberUpdate        = "member.update"
	ActionMemberRemove        = "member.remove"
	ActionInvitationCreate    = "invitation.create"
	ActionInvitationRevoke    = "invitation.revoke"
	ActionInvitationResend    = "invitation.resend"
	ActionInvitationAccept    = "invitation.accept"
	ActionPasswordReset       = "password.reset"
	ActionPasswordResetAsk    = "password.reset_request"
	ActionSignupRequest       = "user.signup_request"
	ActionMFAEnrolStart       = "mfa.enrol_start"
	ActionMFAEnrol            = "mfa.enrol"
	ActionMFADisable          = "mfa.disable"
	ActionMFARecoveryUse      = "mfa.recovery_code_use"
	ActionMFAPasskeyRegister  = "mfa.passkey_register"
	ActionMFAPasskeyDelete    = "mfa.passkey_delete"
	ActionRolePut             = "role.put"
	ActionRoleDelete          = "role.delete"
	ActionAgentCreate         = "agent.create"
	ActionAgentUpdate         = "agent.update"
	ActionAgentDelete         = "agent.delete"
	ActionAPIKeyCreate        = "apikey.create"
	ActionAPIKeyUpdate        = "apikey.update"
	ActionAPIKeyRotate        = "apikey.rotate"
	ActionAPIKeyRevoke        = "apikey.revoke"
	ActionServiceCreate       = "service.create"
	ActionServiceUpdate       = "service.update"
	ActionServiceDelete       = "service.delete"
	ActionSecretRotate        = "service_secret.rotate"
	ActionPolicyPut           = "policy.put"
	ActionSchemaPut           = "schema.put"
	ActionRegistryPut         = "registry.put"
	ActionRegistryDelete      = "registry.delete"
	ActionRateLimitPlanChange = "ratelimit.plan_change"
	ActionWebhookCreate       = "webhook.create"
	ActionWebhookUpdate       = "webhook.update"
	ActionWebhookRotate       = "webhook.rotate"
	ActionWebhookDelete       = "webhook.delete"
	// ActionWebhookDisable is Tollgate disabling an endpoint that kept
	// failing (the worker, not a person).
	ActionWebhookDisable = "webhook.disable"
	ActionQuotaPut       = "usage.quota_put"
	// ActionMetersPut: a tenant's own meters were replaced.
	ActionMetersPut = "usage.meters_put"
	// ActionQuotaThreshold: a quota's 80 % or 100 % was reached (the
	// event usage.quota.threshold announces it).
	ActionQuotaThreshold = "usage.quota_threshold"
	// ActionRetentionPut: the operator set or removed a tenant's own
	// audit retention.
	ActionRetentionPut = "audit.retention_put"
	// ActionPrune: retention deleted the stream's oldest events (Tollgate
	// itself, no actor).
	ActionPrune = "audit.prune"
)

// Tenant deletion, in the platform stream; tenant.deleted also ends the
// deleted tenant's own stream.
const (
	ActionTenantDeletionScheduled = "tenant.deletion_scheduled"
	ActionTenantDeletionCancelled = "tenant.deletion_cancelled"
	ActionTenantDeleted           = "tenant.deleted"
)

// ActionMFARecoveryRegenerate: a person replaced their recovery codes.
const ActionMFARecoveryRegenerate = "mfa.recovery_codes_regenerate"

// Event is one security-relevant act. The chain fields (Seq, PrevHash,
// Hash) are assigned by Store.Append and never by the caller.
type Event struct {
	// ID is time-ordered (package ids).
	ID string
	// Time has microsecond precision in UTC, what both databases keep.
	Time time.Time
	// TenantID names the stream; "" is the platform stream.
	TenantID       string
	ActorID        string
	OnBehalfOf     string
	CredentialKind string
	CredentialID   string
	Action         string
	TargetType     string
	TargetID       string
	Outcome        Outcome
	// Reason is a class ("bad_password", a policy id), never a secret.
	Reason    string
	ClientIP  string
	UserAgent string
	RequestID string
	TraceID   string
	// Detail is small structured context; see MaxDetailEntries and
	// MaxDetailBytes.
	Detail map[string]string

	// Seq counts the events of the stream from 1.
	Seq int64
	// PrevHash is the predecessor's Hash; 32 zero bytes for Seq 1.
	PrevHash []byte
	// Hash is SHA-256(PrevHash || Canonical(event)).
	Hash []byte
}

// Limits. They keep one event small enough that a batch of MaxBatch fits a
// transaction and that a flood of hostile input (user agents, reasons)
// cannot make the log the attack. MaxBatch is also the Recorder's batch:
// each commit rewrites the last page of every stream and index the batch
// touches, so under load 4,000 events per commit cost 0.7× the CPU per
// event of 1,000 (BenchmarkAuditDecisions).
const (
	MaxBatch         = 4000
	MaxDetailEntries = 32
	// MaxDetailBytes bounds the canonical encoding of Detail.
	MaxDetailBytes = 4096
	maxDetailKey   = 64
	maxDetailValue = 1024
)

// field describes one string of an Event for validation: its JSON name, its
// limit, and whether it is an identifier (no spaces or control characters).
type field struct {
	name  string
	max   int
	ident bool
	get   func(*Event) string
}

var fields = []field{
	{"tenant_id", 128, true, func(e *Event) string { return e.TenantID }},
	{"actor_id", 256, true, func(e *Event) string { return e.ActorID }},
	{"on_behalf_of", 256, true, func(e *Event) string { return e.OnBehalfOf }},
	{"credential_kind", 32, true, func(e *Event) string { return e.CredentialKind }},
	{"credential_id", 128, true, func(e *Event) string { return e.CredentialID }},
	{"action", 64, true, func(e *Event) string { return e.Action }},
	{"target_type", 64, true, func(e *Event) string { return e.TargetType }},
	{"target_id", 256, true, func(e *Event) string { return e.TargetID }},
	{"reason", 256, false, func(e *Event) string { return e.Reason }},
	{"client_ip", 64, true, func(e *Event) string { return e.ClientIP }},
	{"user_agent", maxUserAgent, false, func(e *Event) string { return e.UserAgent }},
	{"request_id", 128, true, func(e *Event) string { return e.RequestID }},
	{"trace_id", 128, true, func(e *Event) string { return e.TraceID }},
}

// Validate checks the caller's fields; the chain fields are not looked at.
func (e *Event) Validate() error {
	if !ids.Valid(e.ID) {
		return invalid("id", "the id must be a Tollgate id")
	}
	if e.Time.IsZero() {
		return invalid("time", "the time is required")
	}
	if y := e.Time.UTC().Year(); y < 1970 || y > 9999 {
		return invalid("time", "the time must be between 1970 and 9999")
	}
	for _, f := range fields {
		if err := checkString(f.name, f.get(e), f.max, f.ident); err != nil {
			return err
		}
	}
	if e.Action == "" {
		return invalid("action", "the action is required")
	}
	if !validAction(e.Action) {
		return invalid("action", "the action must be <object>.<verb> in lower case letters, digits and _")
	}
	switch e.Outcome {
	case Success, Failure, Denied:
	default:
		return invalid("outcome", "the outcome must be success, failure or denied")
	}
	if len(e.Detail) > MaxDetailEntries {
		return invalid("detail", fmt.Sprintf("at most %d detail entries", MaxDetailEntries))
	}
	for k, v := range e.Detail {
		if k == "" {
			return invalid("detail", "a detail key is empty")
		}
		if err := checkString("detail", k, maxDetailKey, true); err != nil {
			return err
		}
		if problem := stringProblem(v, maxDetailValue, false); problem != "" {
			// The field's name is built only for the error: this runs for
			// every entry of every event, twice on the recorder's path.
			return invalid("detail."+k, problem)
		}
	}
	if n := DetailSize(e.Detail); n > MaxDetailBytes {
		return invalid("detail", fmt.Sprintf("the detail encodes to %d bytes, more than %d", n, MaxDetailBytes))
	}
	return nil
}

// checkString keeps every string valid UTF-8 without NUL: the canonical
// encoding is then injective (invalid bytes would be replaced, making two
// events encode alike) and PostgreSQL's text accepts it.
func checkString(name, s string, max int, ident bool) error {
	if problem := stringProblem(s, max, ident); problem != "" {
		return invalid(name, problem)
	}
	return nil
}

// stringProblem says what is wrong with s, or "" when nothing is. It reads
// s once: ASCII bytes are checked where they stand, and only a multi-byte
// sequence is decoded (every event's fields pass here on the decision
// path, and they are nearly always ASCII).
func stringProblem(s string, max int, ident bool) string {
	if len(s) > max {
		return fmt.Sprintf("at most %d bytes", max)
	}
	i := asciiPrefix(s, ident)
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == 0 || ident && (c <= ' ' || c == 0x7f) {
				return "holds a control character or space"
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return "not valid UTF-8"
		}
		i += size
	}
	return ""
}

func validAction(a string) bool {
	obj, verb, ok := strings.Cut(a, ".")
	return ok && actionWord(obj) && actionWord(verb)
}

// actionWord: one or more of a-z, 0-9 and _.
func actionWord(w string) bool {
	for i := 0; i < len(w); i++ {
		if c := w[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return w != ""
}

func invalid(field, detail string) *fault.Error {
	return fault.Invalidf(field, CodeInvalidEvent, "audit event: %s: %s", field, detail)
}

// Prepare fills what a caller may leave out — the id and the time — and
// truncates the time to the microseconds the stores keep, so that the
// hash covers exactly what is stored.
func (e *Event) Prepare(now time.Time) {
	if e.Time.IsZero() {
		e.Time = now
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if e.ID == "" {
		e.ID = ids.NewAt(e.Time)
	}
}
