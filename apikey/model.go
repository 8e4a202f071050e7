// Package apikey issues and verifies long-lived API keys: the credential of
// scripts, agents and services. A key belongs to one tenant and one holder
// actor, carries scopes that never exceed its creator's permissions, and is
// stored only as a SHA-256 of the whole key.
package apikey

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/cursor"
)

// Key is a stored API key. The secret itself is never stored.
type Key struct {
	ID        string
	TenantID  string
	ActorID   string // the holder: "user:…", "agent:…" or "service:…"
	CreatedBy string // actor id of whoever created it
	Name      string
	Scopes    []string
	// RateLimit is the key's own policy spec (see ratelimit.ParsePolicy)
	// for the per-actor tier, replacing the tenant's and the configured
	// one; "" means none.
	RateLimit string
	// Hash is the SHA-256 of the whole current key string.
	Hash []byte
	// PreviousHash is the key before the latest rotation; it keeps working
	// until PreviousExpiresAt (nil PreviousHash: no grace in effect).
	PreviousHash      []byte
	PreviousExpiresAt *time.Time
	ExpiresAt         *time.Time // nil: never expires
	CreatedAt         time.Time
	RotatedAt         *time.Time
	LastUsedAt        *time.Time
	RevokedAt         *time.Time
}

// Filter selects keys to list. TenantID is required.
type Filter struct {
	TenantID string
	// ActorIDs, when not empty, keeps keys held by one of these actors.
	ActorIDs       []string
	IncludeRevoked bool
}

// Store persists API keys.
type Store interface {
	// CreateAPIKey inserts k.
	CreateAPIKey(ctx context.Context, k Key) error
	// CountLiveAPIKeys counts the keys actorID holds in tenantID that are
	// neither revoked nor expired at now.
	CountLiveAPIKeys(ctx context.Context, tenantID, actorID string, now time.Time) (int, error)
	// GetAPIKey finds a key by id, in any tenant: authentication knows only
	// the id the key carries. Management calls compare TenantID themselves.
	// NotFound "api_key_not_found".
	GetAPIKey(ctx context.Context, id string) (Key, error)
	// ListAPIKeys lists keys of f.TenantID ordered by id, after p.After.
	ListAPIKeys(ctx context.Context, f Filter, p cursor.Page) ([]Key, error)
	// RotateAPIKey makes newHash the key's hash and keeps the current one as
	// PreviousHash until previousUntil (nil: the old secret stops at once and
	// PreviousHash is cleared). RotatedAt becomes at.
	// NotFound "api_key_not_found"; Conflict "api_key_revoked" when revoked.
	RotateAPIKey(ctx context.Context, id string, newHash []byte, previousUntil *time.Time, at time.Time) (Key, error)
	// RevokeAPIKey sets RevokedAt (the first revocation wins; revoking again
	// is not an error). NotFound "api_key_not_found".
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
	// RevokeActorAPIKeys revokes every live key held by actorID in tenantID
	// and returns their ids.
	RevokeActorAPIKeys(ctx context.Context, tenantID, actorID string, at time.Time) ([]string, error)
	// SetAPIKeyRateLimit sets RateLimit ("" removes it).
	// NotFound "api_key_not_found".
	SetAPIKeyRateLimit(ctx context.Context, id, spec string) error
	// TouchAPIKeys records last use: LastUsedAt becomes the later of its
	// current value and used[id]. Unknown ids are ignored.
	TouchAPIKeys(ctx context.Context, used map[string]time.Time) error
}
