package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store"
)

// t0 carries nanoseconds on purpose: stores keep microseconds, so every
// expectation goes through us.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// us is what a store returns for t: microsecond precision, UTC.
func us(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

func tenant(id, slug string) identity.Tenant {
	return identity.Tenant{
		ID: id, Slug: slug, Name: "Tenant " + id, Status: identity.TenantActive, MFA: identity.MFAOptional,
		CreatedAt: at(time.Second), UpdatedAt: at(2 * time.Second),
	}
}

func membership(tenantID, actorID string, roles ...string) identity.Membership {
	return identity.Membership{
		TenantID: tenantID, ActorID: actorID, Roles: roles,
		CreatedAt: at(3 * time.Second), UpdatedAt: at(4 * time.Second),
	}
}

func user(id, email string) identity.User {
	return identity.User{
		ID: id, Email: email, DisplayName: "User " + id, Status: identity.UserActive,
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		CreatedAt:    at(5 * time.Second), UpdatedAt: at(6 * time.Second),
	}
}

func role(tenantID, name string, perms ...string) identity.Role {
	return identity.Role{
		TenantID: tenantID, Name: name, Description: "Role " + name, Permissions: perms,
		CreatedAt: at(7 * time.Second), UpdatedAt: at(8 * time.Second),
	}
}

// truncTenant and its siblings give what a store returns for a value
// written with times at full precision.
func truncTenant(t identity.Tenant) identity.Tenant {
	t.CreatedAt, t.UpdatedAt = us(t.CreatedAt), us(t.UpdatedAt)
	return t
}

func truncMember(m identity.Membership) identity.Membership {
	m.CreatedAt, m.UpdatedAt = us(m.CreatedAt), us(m.UpdatedAt)
	return m
}

func truncUser(u identity.User) identity.User {
	u.CreatedAt, u.UpdatedAt = us(u.CreatedAt), us(u.UpdatedAt)
	return u
}

func truncRole(r identity.Role) identity.Role {
	r.CreatedAt, r.UpdatedAt = us(r.CreatedAt), us(r.UpdatedAt)
	return r
}

// newTenant creates tenant id (slug "slug-"+id) owned by owner and returns it.
func newTenant(t *testing.T, s store.Store, id, owner string) identity.Tenant {
	t.Helper()
	tn := tenant(id, "slug-"+id)
	must(t, s.CreateTenant(t.Context(), tn, membership(id, owner, identity.RoleOwner)))
	return tn
}

// addMember adds actor to tenantID with roles.
func addMember(t *testing.T, s store.Store, tenantID, actor string, roles ...string) identity.Membership {
	t.Helper()
	m := membership(tenantID, actor, roles...)
	must(t, s.AddMember(t.Context(), m))
	return m
}

// ids returns n ids "<prefix>-00" … in ascending order.
func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%02d", prefix, i)
	}
	return out
}

// shuffled returns a fixed permutation of l, so inserts do not happen in
// the order lists must come back in.
func shuffled(l []string) []string {
	out := make([]string, 0, len(l))
	for i := len(l) - 1; i >= 0; i -= 2 {
		out = append(out, l[i])
	}
	for i := len(l) - 2; i >= 0; i -= 2 {
		out = append(out, l[i])
	}
	return out
}
