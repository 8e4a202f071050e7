package identity

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/mail"
)

// InvitationStatus is where an invitation is in its life.
type InvitationStatus string

// Invitation statuses. Only a pending invitation can be accepted, revoked
// or resent; the others are kept as a record.
const (
	InvitationPending  InvitationStatus = "pending"
	InvitationAccepted InvitationStatus = "accepted"
	InvitationRevoked  InvitationStatus = "revoked"
)

// Invitation asks the holder of an email address to join a tenant with
// roles. Its token is mailed to the address and stored only as a hash.
type Invitation struct {
	ID         string
	TenantID   string
	Email      string
	Roles      []string
	InvitedBy  string
	Status     InvitationStatus
	AcceptedBy string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ExpiresAt  time.Time
}

// InvitationStore is what invitations need of the store.
type InvitationStore interface {
	// CreateInvitation inserts inv with its token's hash. Conflict
	// "invitation_pending" when the address has a pending invitation to
	// the tenant; NotFound "tenant_not_found" when the tenant is gone.
	CreateInvitation(ctx context.Context, inv Invitation, tokenHash []byte) error
	// GetInvitation: NotFound "invitation_not_found", also for another
	// tenant's invitation.
	GetInvitation(ctx context.Context, tenantID, id string) (Invitation, error)
	// GetInvitationByToken finds an invitation, whatever its status, by
	// its token's hash. NotFound "invalid_invitation_token".
	GetInvitationByToken(ctx context.Context, tokenHash []byte) (Invitation, error)
	// ListInvitations lists a tenant's pending invitations by id.
	ListInvitations(ctx context.Context, tenantID string, p cursor.Page) ([]Invitation, error)
	// RevokeInvitation marks a pending invitation revoked. NotFound
	// "invitation_not_found" when there is no pending one with that id.
	RevokeInvitation(ctx context.Context, tenantID, id string, at time.Time) error
	// ReplaceInvitationToken gives a pending invitation a new token and
	// expiry; the old token stops working. NotFound "invitation_not_found".
	ReplaceInvitationToken(ctx context.Context, tenantID, id string, tokenHash []byte, expiresAt, at time.Time) error
	// AcceptInvitation, in one transaction: checks that the invitation
	// whose token hashes to tokenHash is still pending (Conflict
	// "invitation_used" or "invitation_revoked" otherwise), creates
	// newUser when not nil (Conflict "email_taken"), adds m (Conflict
	// "member_exists") and marks the invitation accepted by m.ActorID.
	AcceptInvitation(ctx context.Context, tokenHash []byte, newUser *User, m Membership) error
}

// Mail renders emails (mail.Templates).
type Mail interface {
	Render(kind, to string, data any) (mail.Message, error)
}

// NewInvitation is the input of Invite.
type NewInvitation struct {
	Email string
	Roles []string
}

// errInvitationNotFound is also the answer for another tenant's invitation.
func errInvitationNotFound() error {
	return fault.NotFoundf(CodeInvitationNotFound, "invitation not found")
}

// Invite invites an address to a tenant (members:write; the roles must be
// ones the inviter may grant, as for AddMember). Whether the address has an
// account makes no difference to the answer: the token goes to the address
// only, never to the inviter.
func (s *Service) Invite(ctx context.Context, c Caller, tenantID string, in NewInvitation) (Invitation, error) {
	a, err := s.resolveFor(ctx, c, tenantID, PermMembersWrite)
	if err != nil {
		return Invitation{}, err
	}
	return s.invite(ctx, a, c, in)
}

// invite invites in.Email for a caller already allowed members:write.
func (s *Service) invite(ctx context.Context, a access, c Caller, in NewInvitation) (Invitation, error) {
	tenantID := a.tenant.ID
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return Invitation{}, err
	}
	roles, err := s.checkAssignable(ctx, a, in.Roles)
	if err != nil {
		return Invitation{}, err
	}
	now := s.timestamp()
	inv := Invitation{
		ID: ids.NewAt(now), TenantID: tenantID, Email: email, Roles: roles, InvitedBy: c.ActorID,
		Status: InvitationPending, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(s.opts.InvitationTTL),
	}
	raw, hash := NewLinkToken(InvitationTokenPrefix)
	ctx, err = s.queueInvitation(ctx, a.tenant, inv, raw)
	if err != nil {
		return Invitation{}, err
	}
	ctx = audit.Record(ctx, audit.Event{TenantID: tenantID, Action: audit.ActionInvitationCreate, TargetType: "invitation", TargetID: inv.ID,
		Detail: map[string]string{"roles": audit.List(roles)}})
	if err := s.store.CreateInvitation(ctx, inv, hash); err != nil {
		return Invitation{}, err
	}
	return inv, nil
}

// queueInvitation renders the invitation email and queues it in ctx, to be
// written with the act's store write.
func (s *Service) queueInvitation(ctx context.Context, t Tenant, inv Invitation, raw string) (context.Context, error) {
	if s.mail == nil {
		return nil, fault.New(fault.Internal, CodeMailUnavailable, "email is not configured")
	}
	inviter := inv.InvitedBy
	if id, ok := strings.CutPrefix(inviter, UserActorPrefix); ok {
		if u, err := s.store.GetUser(ctx, id); err == nil {
			inviter = u.Email
		}
	}
	msg, err := s.mail.Render(mail.KindInvitation, inv.Email, map[string]any{
		"TenantName": t.Name, "InviterName": inviter, "Roles": strings.Join(inv.Roles, ", "),
		"Link": s.opts.LinkBase + "/invitations/accept?token=" + raw, "ExpiresAt": inv.ExpiresAt.Format("2006-01-02 15:04 UTC"),
	})
	if err != nil {
		return nil, err
	}
	msg.TenantID = t.ID
	return mail.Queue(ctx, msg), nil
}

// ListInvitations lists a tenant's pending invitations (members:read).
func (s *Service) ListInvitations(ctx context.Context, c Caller, tenantID string, p cursor.Page) ([]Invitation, error) {
	if _, err := s.resolveFor(ctx, c, tenantID, PermMembersRead); err != nil {
		return nil, err
	}
	return s.store.ListInvitations(ctx, tenantID, p.Normalize())
}

// RevokeInvitation revokes a pending invitation (members:write).
func (s *Service) RevokeInvitation(ctx context.Context, c Caller, tenantID, id string) error {
	a, err := s.resolve(ctx, c, tenantID)
	if err != nil {
		return err
	}
	if err := a.require(PermMembersWrite); err != nil {
		return err
	}
	if !ids.Valid(id) {
		return errInvitationNotFound()
	}
	ctx = audit.Record(ctx, audit.Event{TenantID: tenantID, Action: audit.ActionInvitationRevoke, TargetType: "invitation", TargetID: id})
	return s.store.RevokeInvitation(ctx, tenantID, id, s.timestamp())
}

// ResendInvitation mails a pending invitation again with a new token and a
// new expiry (members:write, and the right to grant its roles now): the
// old link stops working.
func (s *Service) ResendInvitation(ctx context.Context, c Caller, tenantID, id string) (Invitation, error) {
	a, err := s.resolveFor(ctx, c, tenantID, PermMembersWrite)
	if err != nil {
		return Invitation{}, err
	}
	if !ids.Valid(id) {
		return Invitation{}, errInvitationNotFound()
	}
	inv, err := s.store.GetInvitation(ctx, tenantID, id)
	if err != nil {
		return Invitation{}, err
	}
	if inv.Status != InvitationPending {
		return Invitation{}, errInvitationNotFound()
	}
	if _, err := s.checkAssignable(ctx, a, inv.Roles); err != nil {
		return Invitation{}, err
	}
	now := s.timestamp()
	inv.ExpiresAt, inv.UpdatedAt = now.Add(s.opts.InvitationTTL), now
	raw, hash := NewLinkToken(InvitationTokenPrefix)
	ctx, err = s.queueInvitation(ctx, a.tenant, inv, raw)
	if err != nil {
		return Invitation{}, err
	}
	ctx = audit.Record(ctx, audit.Event{TenantID: tenantID, Action: audit.ActionInvitationResend, TargetType: "invitation", TargetID: id})
	if err := s.store.ReplaceInvitationToken(ctx, tenantID, id, hash, inv.ExpiresAt, now); err != nil {
		return Invitation{}, err
	}
	return inv, nil
}

// PendingInvitation checks an invitation token without using it: it
// returns the invitation it opens if that can still be accepted, and
// whether its address has an account (the caller of Accept needs to know
// whether to hash a password first). Only the token's holder learns this.
func (s *Service) PendingInvitation(ctx context.Context, token string) (Invitation, *User, error) {
	hash, err := ParseLinkToken(token, InvitationTokenPrefix, "token", CodeInvalidInvitationToken)
	if err != nil {
		return Invitation{}, nil, err
	}
	inv, err := s.store.GetInvitationByToken(ctx, hash)
	if err != nil {
		return Invitation{}, nil, err
	}
	switch {
	case inv.Status == InvitationAccepted:
		return Invitation{}, nil, fault.Conflictf(CodeInvitationUsed, "this invitation was already accepted")
	case inv.Status == InvitationRevoked:
		return Invitation{}, nil, fault.Conflictf(CodeInvitationRevoked, "this invitation was revoked")
	case !s.now().Before(inv.ExpiresAt):
		return Invitation{}, nil, fault.Conflictf(CodeInvitationExpired, "this invitation has expired; ask for a new one")
	}
	u, err := s.store.GetUserByEmail(ctx, inv.Email)
	switch {
	case errors.Is(err, fault.ErrNotFound):
		return inv, nil, nil
	case err != nil:
		return Invitation{}, nil, err
	}
	return inv, &u, nil
}

// Acceptance is who accepts an invitation: the signed-in user (ActorID,
// from a session, never another credential), or, for an address without
// an account, the new user's already hashed password and name.
type Acceptance struct {
	Token string
	// ActorID is the signed-in user accepting, "" when nobody is.
	ActorID      string
	PasswordHash string
	DisplayName  string
}

// AcceptInvitation uses an invitation: the address's existing user joins
// (signed in as that address), or a new user is created for it. It returns
// the membership and the user.
func (s *Service) AcceptInvitation(ctx context.Context, in Acceptance) (Membership, User, error) {
	inv, existing, err := s.PendingInvitation(ctx, in.Token)
	if err != nil {
		return Membership{}, User{}, err
	}
	now := s.timestamp()
	var u User
	var created *User
	switch {
	case existing != nil:
		if in.ActorID == "" {
			return Membership{}, User{}, fault.Unauthenticatedf(CodeSignInRequired, "this address has an account: sign in as it, then accept")
		}
		if subtle.ConstantTimeCompare([]byte(in.ActorID), []byte(existing.ActorID())) != 1 {
			return Membership{}, User{}, errEmailMismatch()
		}
		if existing.Status != UserActive {
			return Membership{}, User{}, fault.Forbiddenf(CodeUserDisabled, "this account is disabled")
		}
		u = *existing
	case in.ActorID != "":
		// Signed in as someone else, and the invited address has no
		// account: the invitation is not theirs.
		return Membership{}, User{}, errEmailMismatch()
	default:
		if in.PasswordHash == "" {
			return Membership{}, User{}, fault.Invalidf("password", CodeMissingPassword, "a password is required to create the account")
		}
		if err := ValidateName("display_name", in.DisplayName, true); err != nil {
			return Membership{}, User{}, err
		}
		u = User{ID: ids.NewAt(now), Email: inv.Email, DisplayName: in.DisplayName, Status: UserActive,
			PasswordHash: in.PasswordHash, CreatedAt: now, UpdatedAt: now}
		created = &u
	}
	hash, _ := ParseLinkToken(in.Token, InvitationTokenPrefix, "token", CodeInvalidInvitationToken)
	m := Membership{TenantID: inv.TenantID, ActorID: u.ActorID(), Roles: inv.Roles, CreatedAt: now, UpdatedAt: now}
	// The acceptance is the membership's record (invitation.accept names
	// the member and roles); a new account is also recorded on the
	// platform stream, as every user's creation is. The acceptor acts for
	// themself: a new user has no origin actor yet.
	events := []audit.Event{{TenantID: inv.TenantID, ActorID: u.ActorID(), Action: audit.ActionInvitationAccept,
		TargetType: "invitation", TargetID: inv.ID, Detail: map[string]string{"member": u.ActorID(), "roles": audit.List(inv.Roles)}}}
	if created != nil {
		events = append(events, audit.Event{ActorID: u.ActorID(), Action: audit.ActionUserCreate, TargetType: "user", TargetID: u.ActorID(),
			Detail: map[string]string{"platform_admin": "false", "invitation": inv.ID}})
	}
	ctx = audit.Record(ctx, events...)
	if err := s.store.AcceptInvitation(ctx, hash, created, m); err != nil {
		return Membership{}, User{}, err
	}
	s.notify.Notify(ctx, event.Event{Kind: event.KindActorChanged, ID: u.ActorID(), Tenant: inv.TenantID, At: now})
	return m, u, nil
}

func errEmailMismatch() error {
	return fault.Forbiddenf(CodeInvitationEmailMismatch, "this invitation is for another address")
}
