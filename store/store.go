// Package store names everything a storage backend must implement. The
// backends live in store/sqlite and store/postgres; store/storetest is the one
// conformance suite both pass.
package store

import (
	"context"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/credential"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/mail"
	"github.com/tollgate/tollgate/overview"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/token"
	"github.com/tollgate/tollgate/usage"
	"github.com/tollgate/tollgate/webhook"
)

// Store is a complete backend.
type Store interface {
	identity.Store
	apikey.Store
	serviceaccount.Store
	credential.BlockStore
	credential.RevocationStore
	session.Store
	session.Directory
	session.PasswordStore
	session.SignupStore
	session.MFAStore
	session.PasskeyStore
	token.KeyStore
	ratelimit.TenantStore
	policy.Store
	audit.Store
	audit.ForwardStore
	audit.RetentionStore
	usage.Store
	webhook.Store
	usage.QuotaStore
	usage.MeterStore
	mail.Store
	overview.Store

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// MigrationStatus reports the applied and the newest embedded migration
	// version; readiness requires them equal.
	MigrationStatus(ctx context.Context) (applied, latest int64, err error)
	// Close releases connections.
	Close() error
}
