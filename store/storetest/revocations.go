package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tollgate/tollgate/credential"
	"github.com/tollgate/tollgate/store"
)

// revokeMixed revokes sessions (s…), API keys (k…) and service secrets
// (c…) interleaved in time, with a run of equal times across all three
// kinds, leaves some of each live, and returns the feed it must produce.
func revokeMixed(t *testing.T, s store.Store) []credential.Revocation {
	t.Helper()
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	m := func(n int) time.Time { return at(time.Duration(n) * time.Minute) }

	for _, id := range []string{"s1", "s2", "s3", "s4", "s5"} {
		newSession(t, s, id, "user:alice")
	}
	for _, id := range []string{"k1", "k2", "k3", "k4", "k5"} {
		newAPIKey(t, s, id, "t1", "user:alice")
	}
	must(t, s.CreateService(ctx, service("svc1", "mailer"), secret("c0", "svc1", m(0))))
	must(t, s.CreateService(ctx, service("svc2", "runtime"), secret("d0", "svc2", m(0))))

	must(t, s.RevokeSession(ctx, "s1", "logout", m(3)))
	must(t, s.RevokeSession(ctx, "s2", "logout", m(1)))
	must(t, s.RevokeSession(ctx, "s3", "logout", m(2)))
	must(t, s.RevokeSession(ctx, "s4", "logout", m(2)))
	must(t, s.RevokeAPIKey(ctx, "k1", m(2)))
	must(t, s.RevokeAPIKey(ctx, "k2", m(0)))
	must(t, s.RevokeAPIKey(ctx, "k3", m(5)))
	// A rotated key is not a revoked one.
	ok(s.RotateAPIKey(ctx, "k5", hash("k5-new"), ptr(m(1)), m(0)))(t)
	// Rotations without grace revoke c0 at +2m and c1 at +4m; one with grace
	// only sets d0 to expire.
	ok(s.RotateServiceSecret(ctx, "svc1", secret("c1", "svc1", m(2)), nil))(t)
	ok(s.RotateServiceSecret(ctx, "svc1", secret("c2", "svc1", m(4)), nil))(t)
	ok(s.RotateServiceSecret(ctx, "svc2", secret("d1", "svc2", m(1)), ptr(m(2))))(t)

	rev := func(id string, n int) credential.Revocation {
		return credential.Revocation{ID: id, RevokedAt: us(m(n))}
	}
	return []credential.Revocation{
		rev("k2", 0), rev("s2", 1),
		rev("c0", 2), rev("k1", 2), rev("s3", 2), rev("s4", 2),
		rev("s1", 3), rev("c1", 4), rev("k3", 5),
	}
}

func revocationFeedTests() []test {
	return []test{
		{"Empty", func(t *testing.T, s store.Store) {
			check(t, "RevokedSince", ok(s.RevokedSince(t.Context(), time.Time{}, "", 10))(t), []credential.Revocation{})
		}},
		{"AllKinds", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			all := revokeMixed(t, s)
			check(t, "everything", ok(s.RevokedSince(ctx, at(-time.Hour), "", 100))(t), all)
			// since is inclusive, also below the stored precision.
			check(t, "since 0", ok(s.RevokedSince(ctx, at(0), "", 100))(t), all)
			check(t, "since 2m", ok(s.RevokedSince(ctx, at(2*time.Minute), "", 100))(t), all[2:])
			check(t, "limit", ok(s.RevokedSince(ctx, at(0), "", 3))(t), all[:3])
			// A zero limit means the default, not "none".
			check(t, "zero limit", ok(s.RevokedSince(ctx, at(0), "", 0))(t), all)
			// Keyset positions inside the run at +2m, which spans all three
			// tables: the id breaks the tie whichever table it is in.
			for i := 2; i <= 5; i++ {
				check(t, "after "+all[i].ID, ok(s.RevokedSince(ctx, all[i].RevokedAt, all[i].ID, 100))(t), all[i+1:])
			}
			// An id that is no revocation still positions by order.
			check(t, "after k0", ok(s.RevokedSince(ctx, us(at(2*time.Minute)), "k0", 100))(t), all[3:])
			check(t, "after all", ok(s.RevokedSince(ctx, all[len(all)-1].RevokedAt, all[len(all)-1].ID, 100))(t),
				[]credential.Revocation{})
			check(t, "later", ok(s.RevokedSince(ctx, at(time.Hour), "", 100))(t), []credential.Revocation{})
		}},
		{"Paging", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			all := revokeMixed(t, s)
			// Paged as replicas do, every page size yields the same feed,
			// with no revocation skipped or repeated.
			for limit := 1; limit <= len(all)+1; limit++ {
				var got []credential.Revocation
				since, after := at(-time.Hour), ""
				for range 2 * len(all) {
					page := ok(s.RevokedSince(ctx, since, after, limit))(t)
					if len(page) > limit {
						t.Fatalf("limit %d: page of %d", limit, len(page))
					}
					got = append(got, page...)
					if len(page) < limit {
						break
					}
					since, after = page[len(page)-1].RevokedAt, page[len(page)-1].ID
				}
				check(t, fmt.Sprintf("limit %d", limit), got, all)
			}
		}},
		{"FromDeletes", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			newAgent(t, s, "t1", "a1", "user:alice")
			newAPIKey(t, s, "k1", "t1", "agent:a1")
			newAPIKey(t, s, "k2", "t1", "service:mailer")
			newAPIKey(t, s, "k3", "t1", "user:bob")
			newService(t, s, "svc1", "mailer")
			newSession(t, s, "s1", "user:bob")

			ok(s.DeleteAgent(ctx, "t1", "a1", at(time.Minute)))(t)
			ok(s.DeleteService(ctx, "svc1", at(2*time.Minute)))(t)
			ok(s.RevokeActorAPIKeys(ctx, "t1", "user:bob", at(3*time.Minute)))(t)
			ok(s.RevokeActorSessions(ctx, "user:bob", "admin", at(3*time.Minute)))(t)
			rev := func(id string, d time.Duration) credential.Revocation {
				return credential.Revocation{ID: id, RevokedAt: us(at(d))}
			}
			check(t, "RevokedSince", ok(s.RevokedSince(ctx, at(0), "", 10))(t), []credential.Revocation{
				rev("k1", time.Minute), rev("k2", 2*time.Minute), rev("svc1-0", 2*time.Minute),
				rev("k3", 3*time.Minute), rev("s1", 3*time.Minute),
			})
		}},
	}
}
