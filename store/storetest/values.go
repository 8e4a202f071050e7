package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/store"
)

// nasty strings must round-trip unchanged and must not be interpreted. NUL
// is absent: PostgreSQL text cannot hold it, and no caller stores it.
var nasty = []string{
	`Robert'); DROP TABLE tenants;--`,
	`" OR 1=1 --`,
	`\'; SELECT pg_sleep(1); --`,
	`%_%`,
	`$1 ? :name @p1`,
	"line\nbreak\ttab\r",
	"Zürich 東京 🚀 عربى Ελληνικά",
	"e\u0301 vs \u00e9", // combining vs precomposed stay distinct
	"\u202eRTL override",
	`{"json": [1, "two"]}`,
	`{a,b} "q" \\`,
}

func valueTests() []test {
	return []test{
		{"StringsRoundTrip", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			for i, v := range nasty {
				id := fmt.Sprintf("t%02d", i)
				tn := tenant(id, v)
				tn.Name = v
				owner := membership(id, v, identity.RoleOwner, v)
				must(t, s.CreateTenant(ctx, tn, owner))
				check(t, "tenant", ok(s.GetTenantBySlug(ctx, v))(t), truncTenant(tn))
				check(t, "owner", ok(s.GetMember(ctx, id, v))(t), truncMember(owner))

				u := user(v, v+"@example.com")
				u.DisplayName, u.PasswordHash = v, v
				must(t, s.CreateUser(ctx, u))
				check(t, "user", ok(s.GetUser(ctx, v))(t), truncUser(u))
				check(t, "user by email", ok(s.GetUserByEmail(ctx, v+"@example.com"))(t), truncUser(u))

				r := role(id, v, v, "usage:read")
				r.Description = v
				must(t, s.PutRole(ctx, r))
				check(t, "role", ok(s.GetRole(ctx, id, v))(t), truncRole(r))

				ss := sess(v, v)
				ss.TenantID, ss.UserAgent, ss.IP = v, v, v
				must(t, s.CreateSession(ctx, ss, hash(v)))
				must(t, s.RevokeSession(ctx, v, v, at(time.Minute)))
				got := ok(s.GetSession(ctx, v))(t)
				if got.RevokeReason != v || got.UserAgent != v || got.IP != v || got.TenantID != v || got.ActorID != v {
					t.Errorf("session strings changed: %+v", got)
				}

				must(t, s.InsertSigningKey(ctx, key(v, at(time.Duration(i)*time.Second))))

				tl := ratelimit.TenantLimits{TenantID: id, Limits: map[string]string{v: v, "api": v}, UpdatedAt: at(0)}
				must(t, s.SetTenantRateLimits(ctx, tl))
				check(t, "rate limits", ok(s.TenantRateLimits(ctx, id))(t), truncLimits(tl))
				k := apiKey("k"+id, id, v)
				k.RateLimit = v
				must(t, s.CreateAPIKey(ctx, k))
				check(t, "API key", ok(s.GetAPIKey(ctx, k.ID))(t), truncAPIKey(k))
				must(t, s.SetAPIKeyRateLimit(ctx, k.ID, v+v))
				if got := ok(s.GetAPIKey(ctx, k.ID))(t).RateLimit; got != v+v {
					t.Errorf("API key rate limit = %q, want %q", got, v+v)
				}
			}
			if n := ok(s.CountTenants(ctx))(t); n != len(nasty) {
				t.Errorf("CountTenants = %d, want %d", n, len(nasty))
			}
			if l := ok(s.ListSigningKeys(ctx))(t); len(l) != len(nasty) || l[0].ID != nasty[len(nasty)-1] {
				t.Errorf("ListSigningKeys: %d keys, first %q", len(l), l[0].ID)
			}
		}},
		{"NoPatternMatching", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.CreateUser(ctx, user("u1", "alice@example.com")))
			newTenant(t, s, "t1", "user:alice")
			// Lookups are equality, never LIKE or GLOB.
			for _, pattern := range []string{"%", "%@example.com", "_lice@example.com", "*", "alice@example.co?"} {
				_, err := s.GetUserByEmail(ctx, pattern)
				wantNotFound(t, err, "user_not_found")
				_, err = s.GetTenantBySlug(ctx, pattern)
				wantNotFound(t, err, "tenant_not_found")
				_, err = s.GetMember(ctx, "t1", pattern)
				wantNotFound(t, err, "member_not_found")
			}
			must(t, s.SetTenantRateLimits(ctx, ratelimit.TenantLimits{TenantID: "t1", Limits: map[string]string{"api": "10/s"}, UpdatedAt: at(0)}))
			for _, pattern := range []string{"%", "t%", "_1", "*"} {
				check(t, "rate limits of "+pattern, ok(s.TenantRateLimits(ctx, pattern))(t), noLimits(pattern))
				wantNotFound(t, s.SetTenantRateLimits(ctx, ratelimit.TenantLimits{TenantID: pattern}), "tenant_not_found")
			}
			check(t, "rate limits of t1", ok(s.TenantRateLimits(ctx, "t1"))(t),
				ratelimit.TenantLimits{TenantID: "t1", Limits: map[string]string{"api": "10/s"}, UpdatedAt: us(at(0))})
		}},
		{"Times", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			// A non-UTC zone comes back as the same instant in UTC.
			zone := time.FixedZone("UTC+5:30", 5*3600+1800)
			tn := tenant("t1", "acme")
			tn.CreatedAt = time.Date(2024, 2, 29, 23, 59, 59, 999999999, zone)
			tn.UpdatedAt = time.Date(2300, 1, 1, 0, 0, 0, 1000, time.UTC) // past int64 nanoseconds
			must(t, s.CreateTenant(ctx, tn, membership("t1", "user:alice", identity.RoleOwner)))
			got := ok(s.GetTenant(ctx, "t1"))(t)
			check(t, "tenant", got, truncTenant(tn))

			// The zero time is a value like any other.
			u := user("u1", "alice@example.com")
			u.CreatedAt, u.UpdatedAt = time.Time{}, time.Unix(0, 0)
			must(t, s.CreateUser(ctx, u))
			check(t, "user", ok(s.GetUser(ctx, "u1"))(t), truncUser(u))
		}},
	}
}
