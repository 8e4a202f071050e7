package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/session"
)

const passkeyCols = `id, user_id, credential_id, public_key, sign_count, aaguid, transports,
	user_verified, backup_eligible, backup_state, attestation, name, created_at, last_used_at`

func errPasskeyNotFound() error {
	return fault.NotFoundf(session.CodePasskeyNotFound, "no such passkey")
}

func scanPasskey(r scanner) (session.Passkey, error) {
	var p session.Passkey
	var count int64
	var transports string
	err := r.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.PublicKey, &count, &p.AAGUID, &transports,
		&p.UserVerified, &p.BackupEligible, &p.BackupState, &p.AttestationType, &p.Name, at(&p.CreatedAt), atNull(&p.LastUsedAt))
	p.SignCount = uint32(count)
	if transports != "" {
		p.Transports = strings.Fields(transports)
	}
	return p, err
}

// CreatePasskey stores a passkey under the user's cap. The user's row is
// locked first, so two registrations at once cannot both pass the count.
func (s *Store) CreatePasskey(ctx context.Context, p session.Passkey, max int) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var exists int
		err := s.queryRow(ctx, tx, `SELECT 1 FROM users WHERE id = ?`+s.d.ForUpdate(), p.UserID).Scan(&exists)
		if _, err := oneOf(s, err, errUserNotFound); err != nil {
			return err
		}
		var n int
		if err := s.queryRow(ctx, tx, `SELECT count(*) FROM passkeys WHERE user_id = ?`, p.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return fault.Conflictf(session.CodePasskeyLimit, "you have %d passkeys, the most allowed; remove one first", max)
		}
		aaguid := p.AAGUID
		if aaguid == nil {
			aaguid = []byte{}
		}
		_, err = s.exec(ctx, tx, `INSERT INTO passkeys (`+passkeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
			p.ID, p.UserID, p.CredentialID, p.PublicKey, int64(p.SignCount), aaguid, strings.Join(p.Transports, " "),
			p.UserVerified, p.BackupEligible, p.BackupState, p.AttestationType, p.Name, s.d.Time(p.CreatedAt))
		if s.violates(err, "passkeys_credential_id_key") {
			return fault.Conflictf(session.CodePasskeyExists, "this authenticator's passkey is registered already")
		}
		return err
	})
}

// oneOf finishes a single-row existence check (one without a value).
func oneOf(s *Store, err error, notFound func() error) (struct{}, error) {
	return one(s, struct{}{}, err, notFound)
}

// ListPasskeys returns a user's passkeys, oldest first (ids are
// time-ordered).
func (s *Store) ListPasskeys(ctx context.Context, userID string) ([]session.Passkey, error) {
	return readAll(ctx, s, scanPasskey, `SELECT `+passkeyCols+` FROM passkeys WHERE user_id = ? ORDER BY id`, userID)
}

// RenamePasskey renames a passkey of the user's.
func (s *Store) RenamePasskey(ctx context.Context, userID, id, name string) (session.Passkey, error) {
	res, err := s.exec(ctx, s.write, `UPDATE passkeys SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID)
	if err := s.affectedOne(res, err, errPasskeyNotFound); err != nil {
		return session.Passkey{}, err
	}
	return get(ctx, s, scanPasskey, errPasskeyNotFound, `SELECT `+passkeyCols+` FROM passkeys WHERE id = ? AND user_id = ?`, id, userID)
}

// DeletePasskey removes a passkey of the user's; the act's audit event
// commits with it.
func (s *Store) DeletePasskey(ctx context.Context, userID, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `DELETE FROM passkeys WHERE id = ? AND user_id = ?`, id, userID)
		return s.affectedOne(res, err, errPasskeyNotFound)
	})
}

// UsePasskey moves the counter forward; the comparison and the write are
// one statement, so of two uses with one counter value one matches.
func (s *Store) UsePasskey(ctx context.Context, userID string, credentialID []byte, count uint32, backupState bool, now time.Time) (bool, error) {
	n, err := s.affected(s.exec(ctx, s.write,
		`UPDATE passkeys SET sign_count = ?, backup_state = ?, last_used_at = ?
		 WHERE user_id = ? AND credential_id = ? AND (sign_count < ? OR (sign_count = 0 AND ? = 0))`,
		int64(count), backupState, s.d.Time(now), userID, credentialID, int64(count), int64(count)))
	return n == 1, err
}

func errCeremony() error {
	return fault.NotFoundf(session.CodePasskeyCeremony, "the passkey ceremony is unknown, used or expired")
}

// CreatePasskeyCeremony stores a ceremony.
func (s *Store) CreatePasskeyCeremony(ctx context.Context, c session.PasskeyCeremony, challengeHash []byte) error {
	_, err := s.exec(ctx, s.write,
		`INSERT INTO passkey_ceremonies (challenge_hash, kind, user_id, binding, state, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		challengeHash, string(c.Kind), c.UserID, c.Binding, c.State, s.d.Time(c.CreatedAt), s.d.Time(c.ExpiresAt))
	return s.dbErr(err)
}

// TakePasskeyCeremony deletes the ceremony and returns it if it was live:
// one statement, so of two takes one gets it.
func (s *Store) TakePasskeyCeremony(ctx context.Context, challengeHash []byte, now time.Time) (session.PasskeyCeremony, error) {
	var c session.PasskeyCeremony
	err := s.queryRow(ctx, s.write,
		`DELETE FROM passkey_ceremonies WHERE challenge_hash = ? RETURNING kind, user_id, binding, state, created_at, expires_at`, challengeHash).
		Scan(&c.Kind, &c.UserID, &c.Binding, &c.State, at(&c.CreatedAt), at(&c.ExpiresAt))
	if c, err = one(s, c, err, errCeremony); err != nil {
		return session.PasskeyCeremony{}, err
	}
	if !now.Before(c.ExpiresAt) {
		return session.PasskeyCeremony{}, errCeremony()
	}
	return c, nil
}
