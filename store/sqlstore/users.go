package sqlstore

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

const userCols = `id, email, display_name, status, password_hash, platform_admin, created_at, updated_at`

func errUserNotFound() error { return fault.NotFoundf(identity.CodeUserNotFound, "user not found") }

func scanUser(r scanner) (identity.User, error) {
	var u identity.User
	err := r.Scan(&u.ID, &u.Email, &u.DisplayName, &u.Status, &u.PasswordHash, &u.PlatformAdmin,
		at(&u.CreatedAt), at(&u.UpdatedAt))
	return u, err
}

// CreateUser inserts u; the email must already be normalised.
func (s *Store) CreateUser(ctx context.Context, u identity.User) error {
	_, err := s.exec(ctx, s.write,
		`INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.DisplayName, string(u.Status), u.PasswordHash, u.PlatformAdmin,
		s.d.Time(u.CreatedAt), s.d.Time(u.UpdatedAt))
	switch {
	case s.violates(err, "users_email_key"):
		return fault.Conflictf(identity.CodeEmailTaken, "a user with this email exists")
	case s.violates(err, "users_pkey"):
		return fault.Conflictf(identity.CodeUserExists, "a user with this id exists")
	}
	return s.dbErr(err)
}

// GetUser returns the user with raw id (no "user:" prefix).
func (s *Store) GetUser(ctx context.Context, id string) (identity.User, error) {
	return get(ctx, s, scanUser, errUserNotFound, `SELECT `+userCols+` FROM users WHERE id = ?`, id)
}

// GetUserByEmail returns the user with the normalised email.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (identity.User, error) {
	return get(ctx, s, scanUser, errUserNotFound, `SELECT `+userCols+` FROM users WHERE email = ?`, email)
}

// UpdateUser writes every mutable field of u; the email is not one.
func (s *Store) UpdateUser(ctx context.Context, u identity.User) error {
	res, err := s.exec(ctx, s.write,
		`UPDATE users SET display_name = ?, status = ?, platform_admin = ?, password_hash = ?, updated_at = ?
		 WHERE id = ?`,
		u.DisplayName, string(u.Status), u.PlatformAdmin, u.PasswordHash, s.d.Time(u.UpdatedAt), u.ID)
	return s.affectedOne(res, err, errUserNotFound)
}

// ReplacePasswordHash swaps the password hash if it is still oldHash, in
// one statement.
func (s *Store) ReplacePasswordHash(ctx context.Context, id, oldHash, newHash string, at time.Time) (bool, error) {
	n, err := s.affected(s.exec(ctx, s.write,
		`UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND password_hash = ?`,
		newHash, s.d.Time(at), id, oldHash))
	if err != nil || n > 0 {
		return n > 0, err
	}
	if _, err := s.GetUser(ctx, id); err != nil {
		return false, err
	}
	return false, nil
}

// ListUsers pages through every user by id.
func (s *Store) ListUsers(ctx context.Context, p cursor.Page) ([]identity.User, error) {
	return list(ctx, s, p, scanUser, `SELECT `+userCols+` FROM users WHERE id > ? ORDER BY id LIMIT ?`)
}
