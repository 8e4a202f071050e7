package session

import (
	"context"
	"strings"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/password"
)

// Invitations accepts invitations (identity.Service).
type Invitations interface {
	PendingInvitation(ctx context.Context, token string) (identity.Invitation, *identity.User, error)
	AcceptInvitation(ctx context.Context, in identity.Acceptance) (identity.Membership, identity.User, error)
}

// AcceptRequest is the input of AcceptInvitation. Signed is the caller's
// session, nil when nobody is signed in.
type AcceptRequest struct {
	Token       string
	Password    string
	DisplayName string
	Signed      *identity.ActorContext
	Client      Client
}

// Accepted is what accepting returns: the membership, and for a new
// account the tokens of its first session, in the invitation's tenant.
type Accepted struct {
	Membership identity.Membership
	Tokens     *Tokens
}

// AcceptInvitation accepts an invitation. An address with an account joins
// as the signed-in user (a session of that user, no other credential); a
// new address gets an account with the password — checked by the same
// policy and hashed as every other — and is signed in. The token is
// checked before any password is hashed.
func (s *Service) AcceptInvitation(ctx context.Context, req AcceptRequest) (Accepted, error) {
	if s.invitations == nil {
		return Accepted{}, fault.New(fault.Internal, identity.CodeMailUnavailable, "invitations are not configured")
	}
	in := identity.Acceptance{Token: req.Token, DisplayName: req.DisplayName}
	if req.Signed != nil {
		if err := req.Signed.RequireSession(); err != nil {
			return Accepted{}, err
		}
		in.ActorID = req.Signed.ActorID
	}
	inv, existing, err := s.invitations.PendingInvitation(ctx, req.Token)
	if err != nil {
		return Accepted{}, err
	}
	if existing == nil && req.Signed == nil {
		if req.Password == "" {
			return Accepted{}, fault.Invalidf("password", CodeInvalidPassword, "a password is required to create the account")
		}
		if len(req.Password) > maxPasswordInput {
			return Accepted{}, fault.Invalidf("password", CodeInvalidPassword, "password is too long")
		}
		local, _, _ := strings.Cut(inv.Email, "@")
		if err := password.DefaultPolicy().Check(req.Password, inv.Email, local, req.DisplayName, "tollgate"); err != nil {
			return Accepted{}, err
		}
		if in.PasswordHash, err = s.hasher.Hash(ctx, req.Password); err != nil {
			return Accepted{}, err
		}
	}
	m, u, err := s.invitations.AcceptInvitation(ctx, in)
	if err != nil {
		return Accepted{}, err
	}
	out := Accepted{Membership: m}
	if existing == nil {
		t, err := s.open(ctx, u.ActorID(), m.TenantID, m.Roles, req.Client, []string{AMRPassword})
		if err != nil {
			return Accepted{}, err
		}
		out.Tokens = &t
	}
	return out, nil
}
