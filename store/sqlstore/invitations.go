package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

const invitationCols = `id, tenant_id, email, roles, invited_by, status, accepted_by, created_at, updated_at, expires_at`

func errInvitationNotFound() error {
	return fault.NotFoundf(identity.CodeInvitationNotFound, "invitation not found")
}

func errInvitationToken() error {
	return fault.NotFoundf(identity.CodeInvalidInvitationToken, "the invitation token is invalid")
}

func (s *Store) scanInvitation(r scanner) (inv identity.Invitation, err error) {
	var status string
	err = r.Scan(&inv.ID, &inv.TenantID, &inv.Email, s.d.ScanList(&inv.Roles), &inv.InvitedBy, &status, &inv.AcceptedBy,
		at(&inv.CreatedAt), at(&inv.UpdatedAt), at(&inv.ExpiresAt))
	inv.Status = identity.InvitationStatus(status)
	return inv, err
}

// CreateInvitation inserts inv and its token's hash.
func (s *Store) CreateInvitation(ctx context.Context, inv identity.Invitation, tokenHash []byte) error {
	_, err := s.exec(ctx, s.write,
		`INSERT INTO invitations (`+invitationCols+`, token_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		inv.ID, inv.TenantID, inv.Email, s.d.List(inv.Roles), inv.InvitedBy, string(inv.Status), inv.AcceptedBy,
		s.d.Time(inv.CreatedAt), s.d.Time(inv.UpdatedAt), s.d.Time(inv.ExpiresAt), tokenHash)
	switch {
	case s.violates(err, "invitations_email_key"):
		return fault.Conflictf(identity.CodeInvitationPending, "this address already has a pending invitation to the tenant; resend it instead")
	case s.violates(err, "invitations_tenant_fkey"):
		return errTenantNotFound()
	}
	return s.dbErr(err)
}

// GetInvitation returns tenantID's invitation id.
func (s *Store) GetInvitation(ctx context.Context, tenantID, id string) (identity.Invitation, error) {
	return get(ctx, s, s.scanInvitation, errInvitationNotFound,
		`SELECT `+invitationCols+` FROM invitations WHERE tenant_id = ? AND id = ?`, tenantID, id)
}

// GetInvitationByToken finds an invitation by its token's hash.
func (s *Store) GetInvitationByToken(ctx context.Context, tokenHash []byte) (identity.Invitation, error) {
	return get(ctx, s, s.scanInvitation, errInvitationToken,
		`SELECT `+invitationCols+` FROM invitations WHERE token_hash = ?`, tokenHash)
}

// ListInvitations pages through tenantID's pending invitations by id.
func (s *Store) ListInvitations(ctx context.Context, tenantID string, p cursor.Page) ([]identity.Invitation, error) {
	return list(ctx, s, p, s.scanInvitation,
		`SELECT `+invitationCols+` FROM invitations WHERE tenant_id = ? AND status = 'pending' AND id > ? ORDER BY id LIMIT ?`, tenantID)
}

// RevokeInvitation marks a pending invitation revoked.
func (s *Store) RevokeInvitation(ctx context.Context, tenantID, id string, at time.Time) error {
	res, err := s.exec(ctx, s.write,
		`UPDATE invitations SET status = 'revoked', updated_at = ? WHERE tenant_id = ? AND id = ? AND status = 'pending'`,
		s.d.Time(at), tenantID, id)
	return s.affectedOne(res, err, errInvitationNotFound)
}

// ReplaceInvitationToken gives a pending invitation a new token.
func (s *Store) ReplaceInvitationToken(ctx context.Context, tenantID, id string, tokenHash []byte, expiresAt, at time.Time) error {
	res, err := s.exec(ctx, s.write,
		`UPDATE invitations SET token_hash = ?, expires_at = ?, updated_at = ? WHERE tenant_id = ? AND id = ? AND status = 'pending'`,
		tokenHash, s.d.Time(expiresAt), s.d.Time(at), tenantID, id)
	return s.affectedOne(res, err, errInvitationNotFound)
}

// AcceptInvitation locks the invitation, checks it is pending, creates the
// user if asked, adds the membership and marks the invitation accepted —
// all or nothing. Of two concurrent acceptances the second waits on the
// row lock (on SQLite, on the write transaction) and finds it accepted.
func (s *Store) AcceptInvitation(ctx context.Context, tokenHash []byte, newUser *identity.User, m identity.Membership) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var id, status string
		err := s.queryRow(ctx, tx, `SELECT id, status FROM invitations WHERE token_hash = ?`+s.d.ForUpdate(), tokenHash).Scan(&id, &status)
		if _, err := one(s, id, err, errInvitationToken); err != nil {
			return err
		}
		switch identity.InvitationStatus(status) {
		case identity.InvitationPending:
		case identity.InvitationAccepted:
			return fault.Conflictf(identity.CodeInvitationUsed, "this invitation was already accepted")
		default:
			return fault.Conflictf(identity.CodeInvitationRevoked, "this invitation was revoked")
		}
		if newUser != nil {
			u := *newUser
			_, err := s.exec(ctx, tx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				u.ID, u.Email, u.DisplayName, string(u.Status), u.PasswordHash, u.PlatformAdmin, s.d.Time(u.CreatedAt), s.d.Time(u.UpdatedAt))
			if s.violates(err, "users_email_key") {
				return fault.Conflictf(identity.CodeEmailTaken, "a user with this email exists")
			}
			if err != nil {
				return err
			}
		}
		_, err = s.exec(ctx, tx, `INSERT INTO memberships (`+memberCols+`) VALUES (?, ?, ?, ?, ?)`,
			m.TenantID, m.ActorID, s.d.List(m.Roles), s.d.Time(m.CreatedAt), s.d.Time(m.UpdatedAt))
		switch {
		case s.violates(err, "memberships_pkey"):
			return fault.Conflictf(identity.CodeMemberExists, "already a member of this tenant")
		case s.violates(err, "memberships_tenant_fkey"):
			return errTenantNotFound()
		case err != nil:
			return err
		}
		_, err = s.exec(ctx, tx, `UPDATE invitations SET status = 'accepted', accepted_by = ?, updated_at = ? WHERE id = ?`,
			m.ActorID, s.d.Time(m.CreatedAt), id)
		return err
	})
}
