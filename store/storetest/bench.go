package storetest

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/store"
)

// BenchLogin measures the store's part of a password login, as
// session.Service does it: the user by email, the tenants they belong to
// (to pick the session's), and the new session with its refresh token.
// The password check, argon2id, is left out: it costs far more and never
// touches the store.
func BenchLogin(b *testing.B, s store.Store) {
	ctx := b.Context()
	now := time.Now().UTC()
	u := identity.User{ID: "u1", Email: "alice@example.com", Status: identity.UserActive, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	t := identity.Tenant{ID: "t1", Slug: "acme", Name: "Acme", Status: identity.TenantActive, CreatedAt: now, UpdatedAt: now}
	owner := identity.Membership{TenantID: t.ID, ActorID: u.ActorID(), Roles: []string{identity.RoleOwner}, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateTenant(ctx, t, owner); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		got, err := s.GetUserByEmail(ctx, u.Email)
		if err != nil {
			b.Fatal(err)
		}
		tenants, err := s.ListTenantsOf(ctx, got.ActorID(), cursor.Page{Limit: cursor.MaxLimit})
		if err != nil || len(tenants) != 1 {
			b.Fatal(tenants, err)
		}
		at := time.Now()
		sess := session.Session{ID: fmt.Sprintf("s%09d", n), ActorID: got.ActorID(), TenantID: tenants[0].Tenant.ID,
			CreatedAt: at, RefreshedAt: at, ExpiresAt: at.Add(time.Hour), EndsAt: at.Add(time.Hour), UserAgent: "bench", IP: "127.0.0.1"}
		hash := sha256.Sum256([]byte(sess.ID))
		if err := s.CreateSession(ctx, sess, hash[:]); err != nil {
			b.Fatal(err)
		}
	}
}
