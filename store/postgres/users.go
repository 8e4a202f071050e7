package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

const userCols = `id, email, display_name, status, password_hash, platform_admin, created_at, updated_at`

func errUserNotFound() error { return fault.NotFoundf("user_not_found", "user not found") }

func scanUser(r pgx.Row) (identity.User, error) {
	var u identity.User
	err := r.Scan(&u.ID, &u.Email, &u.DisplayName, &u.Status, &u.PasswordHash, &u.PlatformAdmin,
		&u.CreatedAt, &u.UpdatedAt)
	if err != nil {
		return identity.User{}, err
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, nil
}

// CreateUser inserts u; the email must already be normalised.
func (s *Store) CreateUser(ctx context.Context, u identity.User) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		u.ID, u.Email, u.DisplayName, string(u.Status), u.PasswordHash, u.PlatformAdmin,
		ts(u.CreatedAt), ts(u.UpdatedAt))
	switch violated(err) {
	case "users_email_key":
		return fault.Conflictf("email_taken", "a user with this email exists")
	case "users_pkey":
		return fault.Conflictf("user_exists", "a user with this id exists")
	}
	return dbErr(err)
}

// GetUser returns the user with raw id (no "user:" prefix).
func (s *Store) GetUser(ctx context.Context, id string) (identity.User, error) {
	return s.getUser(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id)
}

// GetUserByEmail returns the user with the normalised email.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (identity.User, error) {
	return s.getUser(ctx, `SELECT `+userCols+` FROM users WHERE email = $1`, email)
}

func (s *Store) getUser(ctx context.Context, query, arg string) (identity.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, query, arg))
	return one(u, err, errUserNotFound)
}

// UpdateUser writes every mutable field of u; the email is not one.
func (s *Store) UpdateUser(ctx context.Context, u identity.User) error {
	tag, err := s.pool.Exec(ctx,
		`UPDATE users SET display_name = $1, status = $2, platform_admin = $3, password_hash = $4, updated_at = $5
		 WHERE id = $6`,
		u.DisplayName, string(u.Status), u.PlatformAdmin, u.PasswordHash, ts(u.UpdatedAt), u.ID)
	return affectedOne(tag, err, errUserNotFound)
}

// ListUsers pages through every user by id.
func (s *Store) ListUsers(ctx context.Context, p cursor.Page) ([]identity.User, error) {
	p = p.Normalize()
	rows, err := s.pool.Query(ctx,
		`SELECT `+userCols+` FROM users WHERE id > $1 ORDER BY id LIMIT $2`, p.After, p.Limit)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, scanUser)
}
