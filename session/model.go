// Package session issues and rotates sign-in sessions: a short-lived signed
// access token plus an opaque refresh token that rotates on every use. A
// session is the family of refresh tokens descended from one login; reuse of
// a rotated token revokes the whole family (RFC 9700 §4.14.2).
package session

import (
	"context"
	"time"
)

// Session is one sign-in and every refresh token rotated from it.
type Session struct {
	ID        string
	ActorID   string // "user:…"
	TenantID  string // active tenant; "" when the user has none yet
	CreatedAt time.Time
	// RefreshedAt is when the latest refresh token was issued.
	RefreshedAt time.Time
	// ExpiresAt is when the current refresh token stops working; it slides
	// forward on every rotation, never past EndsAt.
	ExpiresAt time.Time
	// EndsAt is when the session ends however often it is refreshed:
	// session_absolute_lifetime after the sign-in.
	EndsAt    time.Time
	RevokedAt *time.Time
	// RevokeReason is "logout", "logout_all", "refresh_reuse", "switch" or an
	// admin reason.
	RevokeReason string
	UserAgent    string
	IP           string
	// AMR is how the session was signed in (RFC 8176 values); every
	// access token of the session carries it.
	AMR []string
}

// Store persists sessions and hashed refresh tokens. A refresh token is
// stored only as its SHA-256.
type Store interface {
	// CreateSession inserts s together with its first refresh token hash.
	CreateSession(ctx context.Context, s Session, refreshHash []byte) error
	// GetSession: NotFound "session_not_found".
	GetSession(ctx context.Context, id string) (Session, error)
	// RotateRefresh atomically consumes the refresh token oldHash and stores
	// newHash in its place, sliding the session's ExpiresAt to expiresAt
	// (but never past its EndsAt) and RefreshedAt to now; tenantID, when
	// not "", becomes the session's tenant. Errors:
	//   - Unauthenticated "invalid_refresh_token": unknown hash, or session
	//     revoked or expired at now;
	//   - *ReuseError: oldHash was already consumed. The session is NOT
	//     revoked by the store; the caller decides.
	//   - *EndedError: the session is live but its EndsAt is not after
	//     now. The token is not consumed; the caller ends the session.
	RotateRefresh(ctx context.Context, oldHash, newHash []byte, tenantID string, now, expiresAt time.Time) (Session, error)
	// RevokeSession marks a session revoked (idempotent: the first reason and
	// time win). NotFound "session_not_found".
	RevokeSession(ctx context.Context, id, reason string, at time.Time) error
	// RevokeActorSessions revokes every live session of actorID and returns
	// their ids.
	RevokeActorSessions(ctx context.Context, actorID, reason string, at time.Time) ([]string, error)
	// DeleteExpired removes sessions (and their tokens) whose ExpiresAt is
	// before cutoff, returning how many.
	DeleteExpired(ctx context.Context, cutoff time.Time) (int, error)
}

// ReuseError reports that an already-rotated refresh token was presented.
type ReuseError struct {
	SessionID string
	ActorID   string
}

func (e *ReuseError) Error() string { return "refresh token reused in session " + e.SessionID }

// EndedError reports a refresh of a session past its absolute lifetime.
type EndedError struct {
	SessionID string
	ActorID   string
	TenantID  string
}

func (e *EndedError) Error() string {
	return "session " + e.SessionID + " reached its absolute lifetime"
}
