package identity

import "context"

// MemberRequest asks for a person to join a tenant, named by actor id or by
// email (exactly one), with roles.
type MemberRequest struct {
	ActorID string
	Email   string
	Roles   []string
}

// Admission is what AddOrInvite did: exactly one of Member (added by actor
// id) and Invitation (invited by email) is set.
type Admission struct {
	Member     *Membership
	Invitation *Invitation
}

// AddOrInvite adds the user an actor id names, or invites an address
// (members:write either way). By address it always invites, even when the
// address has an account: adding at once, or answering user_not_found,
// would tell the caller which addresses have accounts.
func (s *Service) AddOrInvite(ctx context.Context, c Caller, tenantID string, in MemberRequest) (Admission, error) {
	a, err := s.resolveFor(ctx, c, tenantID, PermMembersWrite)
	if err != nil {
		return Admission{}, err
	}
	if in.Email != "" && in.ActorID == "" {
		inv, err := s.invite(ctx, a, c, NewInvitation{Email: in.Email, Roles: in.Roles})
		if err != nil {
			return Admission{}, err
		}
		return Admission{Invitation: &inv}, nil
	}
	// Both or neither named are refused there, after the roles are
	// checked, as they always were.
	m, err := s.addMember(ctx, a, in)
	if err != nil {
		return Admission{}, err
	}
	return Admission{Member: &m}, nil
}
