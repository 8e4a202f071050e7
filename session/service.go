package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/password"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/token"
)

// Options configure token lifetimes and claims.
type Options struct {
	Issuer     string
	Audience   string
	AccessTTL  time.Duration
	RefreshTTL time.Duration
	// AbsoluteLifetime ends a session this long after its sign-in however
	// often it is refreshed; 0 is 30 days.
	AbsoluteLifetime time.Duration
}

// DefaultAbsoluteLifetime is session_absolute_lifetime's default.
const DefaultAbsoluteLifetime = 30 * 24 * time.Hour

// Service signs people in and keeps their sessions.
type Service struct {
	sessions    Store
	identities  Accounts
	roles       Roles
	hasher      Hasher
	keys        Signer
	throttle    LoginThrottle
	revocations RevocationRecorder
	opts        Options
	log         *slog.Logger
	now         func() time.Time
	outcome     func(outcome string)
	notify      event.Notifier
	audit       Auditor
	emailKey    []byte
	invitations Invitations
	passwords   PasswordStore
	reset       ResetOptions
	signups     SignupStore
	signup      SignupOptions
	mfa         MFAOptions
	passkeys    PasskeyOptions
	// resets queues forgot-password requests for RunResets.
	resets chan resetJob
}

// Deps are what a Service is built from.
type Deps struct {
	Sessions   Store
	Identities Accounts
	Roles      Roles
	Hasher     Hasher
	Keys       Signer
	// Throttle counts failed sign-ins per client IP, per account and per
	// (account, IP); nil means no limit.
	Throttle LoginThrottle
	// Revocations learns at once of the sessions this process revokes.
	Revocations RevocationRecorder
	Log         *slog.Logger
	Now         func() time.Time
	// Notify announces revoked sessions to other replicas.
	Notify event.Notifier
	// Audit queues the sign-in, refresh and tenant-switch events; nil
	// records none.
	Audit Auditor
	// AuditEmailKey keys EmailHash, which names in the audit log an
	// address tried without an account; nil leaves the address out.
	AuditEmailKey []byte
	// Invitations accepts invitations; nil refuses to.
	Invitations Invitations
	// Passwords stores resets and changes; Reset configures the reset
	// emails.
	Passwords PasswordStore
	Reset     ResetOptions
	// Signups stores sign-ups waiting for verification; Signup
	// configures them.
	Signups SignupStore
	Signup  SignupOptions
	// MFA configures second factors.
	MFA MFAOptions
	// Passkeys configures WebAuthn, as a second factor and to sign in
	// without a password.
	Passkeys PasskeyOptions
	// LoginOutcome is called with "success", "mfa_required",
	// "invalid_credentials", "rate_limited" or "error" after every login
	// attempt and every second factor.
	LoginOutcome func(outcome string)
}

// Accounts is what sign-in reads and writes of users, tenants and
// memberships (the store's identity.Store).
type Accounts interface {
	GetUser(ctx context.Context, id string) (identity.User, error)
	GetUserByEmail(ctx context.Context, email string) (identity.User, error)
	ReplacePasswordHash(ctx context.Context, id, oldHash, newHash string, at time.Time) (bool, error)
	GetTenant(ctx context.Context, id string) (identity.Tenant, error)
	GetTenantBySlug(ctx context.Context, slug string) (identity.Tenant, error)
	ListTenantsOf(ctx context.Context, actorID string, p cursor.Page) ([]identity.TenantMembership, error)
	GetMember(ctx context.Context, tenantID, actorID string) (identity.Membership, error)
}

// Roles resolves a session's roles to permissions (identity.Service).
type Roles interface {
	RolePermissions(ctx context.Context, tenantID string, roles []string) ([]string, error)
}

// Hasher checks and makes password hashes (password.Hasher).
type Hasher interface {
	Verify(ctx context.Context, plain, encoded string) (ok, rehash bool, err error)
	VerifyDummy(ctx context.Context, plain string)
	Hash(ctx context.Context, plain string) (string, error)
}

// Signer signs access tokens (token.Keyring).
type Signer interface {
	Sign(c token.Claims) (string, error)
}

// RevocationRecorder is this process's set of revoked credential ids
// (credential.Revocations).
type RevocationRecorder interface {
	Add(at time.Time, ids ...string)
}

// LoginThrottle counts failed sign-ins (ratelimit.Limiter): BeginLogin
// before any password is checked, refusing an attempt whose address or
// account has no failures left, then LoginFailed or LoginSucceeded once the
// password has been checked.
type LoginThrottle interface {
	BeginLogin(ctx context.Context, a ratelimit.LoginAttempt) error
	LoginFailed(ctx context.Context, a ratelimit.LoginAttempt)
	LoginSucceeded(ctx context.Context, a ratelimit.LoginAttempt)
}

// resetQueue bounds the forgot-password requests waiting for RunResets.
const resetQueue = 256

// NewService wires a Service.
func NewService(d Deps, opts Options) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.LoginOutcome == nil {
		d.LoginOutcome = func(string) {}
	}
	if opts.AbsoluteLifetime <= 0 {
		opts.AbsoluteLifetime = DefaultAbsoluteLifetime
	}
	if d.MFA.Issuer == "" {
		d.MFA.Issuer = "Tollgate"
	}
	if d.MFA.ChallengeTTL <= 0 {
		d.MFA.ChallengeTTL = 5 * time.Minute
	}
	if d.Passkeys.CeremonyTTL <= 0 {
		d.Passkeys.CeremonyTTL = 5 * time.Minute
	}
	return &Service{
		sessions: d.Sessions, identities: d.Identities, roles: d.Roles, hasher: d.Hasher,
		keys: d.Keys, throttle: d.Throttle, revocations: d.Revocations,
		opts: opts, log: d.Log, now: d.Now, outcome: d.LoginOutcome, notify: d.Notify,
		audit: d.Audit, emailKey: d.AuditEmailKey, invitations: d.Invitations,
		passwords: d.Passwords, reset: d.Reset, resets: make(chan resetJob, resetQueue),
		signups: d.Signups, signup: d.Signup, mfa: d.MFA, passkeys: d.Passkeys,
	}
}

// Tokens is what a successful login, refresh or tenant switch returns.
type Tokens struct {
	AccessToken  string
	ExpiresIn    time.Duration
	RefreshToken string
	ActorID      string
	TenantID     string
	Roles        []string
	SessionID    string
	// AMR is how the session was signed in (RFC 8176).
	AMR []string
}

// Client describes where a request came from, for the session record and
// brute-force counters.
type Client struct {
	IP        string
	UserAgent string
}

// LoginRequest is the input of Login. Tenant is a tenant id or slug; empty
// selects the user's first tenant.
type LoginRequest struct {
	Email    string
	Password string
	Tenant   string
	Client   Client
}

// maxPasswordInput bounds work before hashing; the policy's 256 code points
// fit in 1 KiB of UTF-8.
const maxPasswordInput = 1024

func errInvalidCredentials() error {
	return fault.Unauthenticatedf(CodeInvalidCredentials, "the email or password is wrong")
}

// Login checks a password and opens a session. Unknown emails, wrong
// passwords and disabled accounts give the same error after the same amount
// of hashing work, and count alike as failed attempts, so responses reveal
// nothing about which accounts exist. Attempts the throttle refuses are
// refused before any hashing, known account or not.
func (s *Service) Login(ctx context.Context, req LoginRequest) (Tokens, error) {
	var note loginNote
	tokens, err := s.login(ctx, req, &note)
	s.auditLogin(ctx, note, tokens, err)
	s.recordOutcome(err)
	return tokens, err
}

// recordOutcome reports a sign-in step's outcome to LoginOutcome.
func (s *Service) recordOutcome(err error) {
	var challenged *ChallengeError
	switch {
	case err == nil:
		s.outcome("success")
	case errors.As(err, &challenged):
		s.outcome("mfa_required")
	case errors.Is(err, fault.ErrRateLimited):
		s.outcome("rate_limited")
	case errors.Is(err, fault.ErrUnauthenticated):
		s.outcome("invalid_credentials")
	default:
		s.outcome("error")
	}
}

func (s *Service) login(ctx context.Context, req LoginRequest, note *loginNote) (Tokens, error) {
	email, err := identity.NormalizeEmail(req.Email)
	if err != nil {
		return Tokens{}, err
	}
	if req.Password == "" {
		return Tokens{}, fault.Invalidf("password", CodeInvalidPassword, "password is required")
	}
	if len(req.Password) > maxPasswordInput {
		return Tokens{}, fault.Invalidf("password", CodeInvalidPassword, "password is too long")
	}
	attempt := ratelimit.LoginAttempt{Account: accountKey(email), IP: req.Client.IP}
	note.email = email
	if s.throttle != nil {
		if err := s.throttle.BeginLogin(ctx, attempt); err != nil {
			if errors.Is(err, fault.ErrRateLimited) {
				note.reason = ReasonThrottled
			}
			return Tokens{}, err
		}
	}
	user, err := s.identities.GetUserByEmail(ctx, email)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return Tokens{}, err
	}
	known := err == nil
	ok, rehash := false, false
	if known && user.PasswordHash != "" {
		ok, rehash, err = s.hasher.Verify(ctx, req.Password, user.PasswordHash)
		if errors.Is(err, fault.ErrUnavailable) {
			return Tokens{}, err
		}
		if err != nil {
			// A stored hash this build cannot read; the login fails like a
			// wrong password, and the operator needs to know.
			s.log.ErrorContext(ctx, "stored password hash is unreadable", "actor", user.ActorID(), "err", err)
		}
	} else {
		s.hasher.VerifyDummy(ctx, req.Password)
		// The real path fails with hasher_busy when ctx ends while queued;
		// the dummy path must answer the same way or it reveals the account.
		if err := ctx.Err(); err != nil {
			return Tokens{}, password.Busy(err)
		}
	}
	if !ok || user.Status != identity.UserActive {
		switch {
		case !known:
			note.reason = ReasonUnknownAccount
		case !ok:
			note.reason, note.actorID = ReasonBadPassword, user.ActorID()
		default:
			note.reason, note.actorID = ReasonDisabled, user.ActorID()
		}
		if s.throttle != nil {
			s.throttle.LoginFailed(ctx, attempt)
		}
		return Tokens{}, errInvalidCredentials()
	}
	if rehash {
		s.upgradeHash(ctx, user, req.Password)
	}
	tenant, roles, err := s.pickTenant(ctx, user.ActorID(), req.Tenant)
	if err != nil {
		if s.throttle != nil {
			s.throttle.LoginSucceeded(ctx, attempt)
		}
		if fault.KindOf(err) == fault.Forbidden {
			note.reason, note.actorID = ReasonTenantDenied, user.ActorID()
		}
		return Tokens{}, err
	}
	need, factors, err := s.needsSecondFactor(ctx, user, tenant)
	if err != nil {
		return Tokens{}, err
	}
	if need {
		// The pair's failures are forgotten only once the second factor
		// is right too: CompleteMFA.
		return Tokens{}, s.challenge(ctx, user, tenant.ID, factors)
	}
	if s.throttle != nil {
		s.throttle.LoginSucceeded(ctx, attempt)
	}
	return s.open(ctx, user.ActorID(), tenant.ID, roles, req.Client, []string{AMRPassword})
}

// upgradeHash moves a legacy or weaker hash to the current parameters. A
// failure is logged, not returned: the password was right.
func (s *Service) upgradeHash(ctx context.Context, u identity.User, plain string) {
	h, err := s.hasher.Hash(ctx, plain)
	replaced := false
	if err == nil {
		replaced, err = s.identities.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, h, s.now().UTC().Truncate(time.Microsecond))
	}
	if err != nil {
		s.log.WarnContext(ctx, "re-hashing password failed", "actor", u.ActorID(), "err", err)
		return
	}
	if !replaced {
		// The password changed since it was read; the new hash is current.
		return
	}
	s.log.InfoContext(ctx, "password re-hashed with current parameters", "actor", u.ActorID())
}

func errNoSuchTenant() error {
	return fault.Forbiddenf(CodeTenantAccessDenied, "you are not a member of that tenant")
}

// pickTenant chooses the session's tenant: the one asked for (by id or
// slug), else the user's first. A user with no tenant gets a tenantless
// session, enough to create one: the zero Tenant.
func (s *Service) pickTenant(ctx context.Context, actorID, want string) (identity.Tenant, []string, error) {
	if want == "" {
		list, err := s.identities.ListTenantsOf(ctx, actorID, cursor.Page{Limit: cursor.MaxLimit})
		if err != nil {
			return identity.Tenant{}, nil, err
		}
		for _, tm := range list {
			if tm.Tenant.Status == identity.TenantActive {
				return tm.Tenant, tm.Roles, nil
			}
		}
		return identity.Tenant{}, nil, nil
	}
	var t identity.Tenant
	var err error
	if ids.Valid(want) {
		t, err = s.identities.GetTenant(ctx, want)
	} else if identity.ValidateSlug(want) == nil {
		t, err = s.identities.GetTenantBySlug(ctx, want)
	} else {
		return identity.Tenant{}, nil, fault.Invalidf("tenant", CodeInvalidTenant, "tenant must be a tenant id or slug")
	}
	if errors.Is(err, fault.ErrNotFound) {
		return identity.Tenant{}, nil, errNoSuchTenant()
	}
	if err != nil {
		return identity.Tenant{}, nil, err
	}
	m, err := s.identities.GetMember(ctx, t.ID, actorID)
	if errors.Is(err, fault.ErrNotFound) {
		return identity.Tenant{}, nil, errNoSuchTenant()
	}
	if err != nil {
		return identity.Tenant{}, nil, err
	}
	if t.Status != identity.TenantActive {
		return identity.Tenant{}, nil, fault.Forbiddenf(identity.CodeTenantSuspended, "that tenant is suspended")
	}
	return t, m.Roles, nil
}

// refreshPrefix marks Tollgate refresh tokens so that secret scanners and
// people can tell them apart from API keys and JWTs.
const refreshPrefix = "tgr_"

func newRefreshToken() (string, []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	raw := refreshPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return raw, hashRefresh(raw)
}

func hashRefresh(raw string) []byte {
	sum := sha256.Sum256([]byte(raw))
	return sum[:]
}

// open starts a new session, signed in as amr, and issues its first
// tokens. It is the one door into a tenant: a session without a second
// factor opened into a tenant that requires one is opened tenantless
// instead, whichever path led here.
func (s *Service) open(ctx context.Context, actorID, tenantID string, roles []string, c Client, amr []string) (Tokens, error) {
	if tenantID != "" && !hasMFA(amr) {
		t, err := s.identities.GetTenant(ctx, tenantID)
		if err != nil {
			return Tokens{}, err
		}
		if !admits(t, amr) {
			tenantID, roles = "", nil
		}
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	raw, hash := newRefreshToken()
	sess := Session{
		ID: ids.NewAt(now), ActorID: actorID, TenantID: tenantID, CreatedAt: now, RefreshedAt: now,
		ExpiresAt: now.Add(min(s.opts.RefreshTTL, s.opts.AbsoluteLifetime)), EndsAt: now.Add(s.opts.AbsoluteLifetime), UserAgent: truncate(c.UserAgent, 256), IP: c.IP,
		AMR: amr,
	}
	if err := s.sessions.CreateSession(ctx, sess, hash); err != nil {
		return Tokens{}, err
	}
	return s.issue(ctx, sess, roles, raw, now)
}

func (s *Service) issue(ctx context.Context, sess Session, roles []string, refresh string, now time.Time) (Tokens, error) {
	if roles == nil {
		roles = []string{}
	}
	// The permissions ride in scope for services that verify tokens with
	// the SDK and cannot resolve custom roles themselves.
	perms, err := s.roles.RolePermissions(ctx, sess.TenantID, roles)
	if err != nil {
		return Tokens{}, err
	}
	exp := now.Add(s.opts.AccessTTL)
	access, err := s.keys.Sign(token.Claims{
		Issuer: s.opts.Issuer, Subject: sess.ActorID, Audience: []string{s.opts.Audience},
		ExpiresAt: exp, IssuedAt: now, NotBefore: now, ID: ids.NewAt(now), SessionID: sess.ID,
		TenantID: sess.TenantID, Roles: roles, ActorType: identity.ActorHuman, Scope: perms, AMR: sess.AMR,
	})
	if err != nil {
		return Tokens{}, fault.Wrap(fault.Internal, token.CodeSigningFailed, err)
	}
	return Tokens{
		AccessToken: access, ExpiresIn: s.opts.AccessTTL, RefreshToken: refresh,
		ActorID: sess.ActorID, TenantID: sess.TenantID, Roles: roles, SessionID: sess.ID, AMR: sess.AMR,
	}, nil
}

func errInvalidRefresh() error {
	return fault.Unauthenticatedf(CodeInvalidRefreshToken, "the refresh token is invalid, expired or revoked")
}

// maxRefreshTokenLen bounds input before hashing.
const maxRefreshTokenLen = 128

// refresh rotates a refresh token. Presenting one that was already rotated
// means two parties hold it, so the whole session is revoked (RFC 9700);
// *reused is then set, for the audit log.
func (s *Service) refresh(ctx context.Context, raw string, c Client, reused **ReuseError) (Tokens, error) {
	if !strings.HasPrefix(raw, refreshPrefix) || len(raw) > maxRefreshTokenLen {
		return Tokens{}, errInvalidRefresh()
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	next, nextHash := newRefreshToken()
	sess, err := s.sessions.RotateRefresh(ctx, hashRefresh(raw), nextHash, "", now, now.Add(s.opts.RefreshTTL))
	var reuse *ReuseError
	if errors.As(err, &reuse) {
		*reused = reuse
		s.log.WarnContext(ctx, "refresh token reuse: revoking the session family",
			"session", reuse.SessionID, "actor", reuse.ActorID, "ip", c.IP)
		if rerr := s.revoke(ctx, sessionEnd{id: reuse.SessionID, holder: reuse.ActorID, reason: "refresh_reuse"}, now); rerr != nil {
			return Tokens{}, rerr
		}
		return Tokens{}, errInvalidRefresh()
	}
	var ended *EndedError
	if errors.As(err, &ended) {
		// The client is told what it is told for an expired token; the
		// session is ended for good, in the audit log and on every replica.
		if rerr := s.revoke(ctx, sessionEnd{id: ended.SessionID, tenantID: ended.TenantID, holder: ended.ActorID, reason: ReasonLifetimeEnded}, now); rerr != nil {
			return Tokens{}, rerr
		}
		return Tokens{}, errInvalidRefresh()
	}
	if err != nil {
		return Tokens{}, err
	}
	tenantID, roles, err := s.currentRoles(ctx, sess)
	if err != nil {
		if errors.Is(err, fault.ErrUnauthenticated) {
			_ = s.revoke(ctx, sessionEnd{id: sess.ID, tenantID: sess.TenantID, holder: sess.ActorID, reason: "account_disabled"}, now)
		}
		return Tokens{}, err
	}
	sess.TenantID = tenantID
	return s.issue(ctx, sess, roles, next, now)
}

// currentRoles re-reads the user, tenant and membership so that a refresh
// reflects role changes, stops for disabled users, and leaves a tenant the
// user was removed from, that was suspended, or that came to require a
// second factor this session did not give: the new token is tenantless.
func (s *Service) currentRoles(ctx context.Context, sess Session) (string, []string, error) {
	id, _ := strings.CutPrefix(sess.ActorID, identity.UserActorPrefix)
	u, err := s.identities.GetUser(ctx, id)
	if errors.Is(err, fault.ErrNotFound) || err == nil && u.Status != identity.UserActive {
		return "", nil, errInvalidRefresh()
	}
	if err != nil {
		return "", nil, err
	}
	if sess.TenantID == "" {
		return "", nil, nil
	}
	t, err := s.identities.GetTenant(ctx, sess.TenantID)
	if errors.Is(err, fault.ErrNotFound) || err == nil && (t.Status != identity.TenantActive || !admits(t, sess.AMR)) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	m, err := s.identities.GetMember(ctx, sess.TenantID, sess.ActorID)
	if errors.Is(err, fault.ErrNotFound) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	return sess.TenantID, m.Roles, nil
}

// ReasonLifetimeEnded is the revoke reason of a session refreshed after
// its absolute lifetime.
const ReasonLifetimeEnded = "lifetime_ended"

// sessionEnd is a session being revoked, and why.
type sessionEnd struct {
	id, tenantID, holder, reason string
}

// revoke revokes one session, recording it in the audit log with the
// revocation: a sign-out as session.logout, anything else as
// session.revoke with its reason.
func (s *Service) revoke(ctx context.Context, e sessionEnd, now time.Time) error {
	action := audit.ActionSessionRevoke
	if e.reason == "logout" {
		action = audit.ActionSessionLogout
	}
	ctx = audit.Record(ctx, audit.Event{TenantID: e.tenantID, Action: action, TargetType: "session", TargetID: e.id,
		Detail: map[string]string{"reason": e.reason, "holder": e.holder}})
	if err := s.sessions.RevokeSession(ctx, e.id, e.reason, now); err != nil && !errors.Is(err, fault.ErrNotFound) {
		return err
	}
	s.revoked(ctx, now, e.id)
	return nil
}

// revoked records revoked sessions here at once and announces them to the
// other replicas and to services on the bus.
func (s *Service) revoked(ctx context.Context, at time.Time, sids ...string) {
	s.revocations.Add(at, sids...)
	s.notify.Notify(ctx, event.Of(event.KindCredentialRevoked, at, sids...)...)
}

// Logout revokes the caller's session, or every session of theirs.
func (s *Service) Logout(ctx context.Context, ac identity.ActorContext, all bool) error {
	now := s.now().UTC().Truncate(time.Microsecond)
	if !all {
		return s.revoke(ctx, sessionEnd{id: ac.SessionID, tenantID: ac.TenantID, holder: ac.ActorID, reason: "logout"}, now)
	}
	ctx = audit.Record(ctx, audit.Event{TenantID: ac.TenantID, Action: audit.ActionSessionLogout, TargetType: "session", TargetID: ac.SessionID,
		Detail: map[string]string{"reason": "logout_all", "holder": ac.ActorID}})
	sids, err := s.sessions.RevokeActorSessions(ctx, ac.ActorID, "logout_all", now)
	if err != nil {
		return err
	}
	s.revoked(ctx, now, append(sids, ac.SessionID)...)
	return nil
}

// switchTenant opens a session in another tenant of the caller's and closes
// the current one, so that no token of the old tenant outlives the switch.
func (s *Service) switchTenant(ctx context.Context, ac identity.ActorContext, tenantID string, c Client) (Tokens, error) {
	if !ids.Valid(tenantID) {
		return Tokens{}, errNoSuchTenant()
	}
	t, roles, err := s.pickTenant(ctx, ac.ActorID, tenantID)
	if err != nil {
		return Tokens{}, err
	}
	if !admits(t, ac.AMR) {
		return Tokens{}, fault.Forbiddenf(CodeMFARequired, "that tenant requires a second factor: sign in again with yours")
	}
	tokens, err := s.open(ctx, ac.ActorID, t.ID, roles, c, ac.AMR)
	if err != nil {
		return Tokens{}, err
	}
	if err := s.revoke(ctx, sessionEnd{id: ac.SessionID, tenantID: ac.TenantID, holder: ac.ActorID, reason: "switch"}, s.now().UTC().Truncate(time.Microsecond)); err != nil {
		return Tokens{}, err
	}
	return tokens, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// accountKey names an account in the rate limiter by a hash of its
// address, so that the limiter's store does not collect the addresses
// attackers try. It contains no "@" (ratelimit.LoginAttempt).
func accountKey(email string) string {
	sum := sha256.Sum256([]byte(email))
	return "acct:" + hex.EncodeToString(sum[:16])
}
