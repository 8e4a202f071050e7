package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/store"
)

// apiKey is a live key with every optional field unset.
func apiKey(id, tenantID, actor string) apikey.Key {
	return apikey.Key{
		ID: id, TenantID: tenantID, ActorID: actor, CreatedBy: "user:alice", Name: "Key " + id,
		Scopes: []string{"usage:read", "agents:write"}, Hash: hash("key-" + id),
		CreatedAt: at(20 * time.Second),
	}
}

func truncAPIKey(k apikey.Key) apikey.Key {
	k.CreatedAt = us(k.CreatedAt)
	k.PreviousExpiresAt, k.ExpiresAt = usp(k.PreviousExpiresAt), usp(k.ExpiresAt)
	k.RotatedAt, k.LastUsedAt, k.RevokedAt = usp(k.RotatedAt), usp(k.LastUsedAt), usp(k.RevokedAt)
	return k
}

// ptr returns a pointer to t.
func ptr(t time.Time) *time.Time { return &t }

// usp is us for an optional time.
func usp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return ptr(us(*t))
}

// newAPIKey creates key id of tenantID, held by actor.
func newAPIKey(t *testing.T, s store.Store, id, tenantID, actor string) apikey.Key {
	t.Helper()
	k := apiKey(id, tenantID, actor)
	must(t, s.CreateAPIKey(t.Context(), k))
	return k
}

func keyIDs(l []apikey.Key) []string {
	out := []string{}
	for _, k := range l {
		out = append(out, k.ID)
	}
	return out
}

// wantRevokedAt fails t unless API key id is revoked at when.
func wantRevokedAt(t *testing.T, s store.Store, id string, when time.Time) {
	t.Helper()
	k := ok(s.GetAPIKey(t.Context(), id))(t)
	if k.RevokedAt == nil || !k.RevokedAt.Equal(us(when)) {
		t.Errorf("%s: revoked at %v, want %v", id, k.RevokedAt, us(when))
	}
}

// wantNoPrevious fails t unless k carries no previous hash. check does not
// tell nil from empty, and "nil PreviousHash: no grace in effect" does.
func wantNoPrevious(t *testing.T, what string, k apikey.Key) {
	t.Helper()
	if k.PreviousHash != nil || k.PreviousExpiresAt != nil {
		t.Errorf("%s: previous hash %x until %v, want nil and nil", what, k.PreviousHash, k.PreviousExpiresAt)
	}
}

func apiKeyTests() []test {
	return []test{
		{"CreateAndGet", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			newTenant(t, s, "t2", "user:bob")
			// Every optional field unset, and no scopes.
			bare := apiKey("k1", "t1", "user:alice")
			bare.Scopes = nil
			must(t, s.CreateAPIKey(ctx, bare))
			got := ok(s.GetAPIKey(ctx, "k1"))(t)
			check(t, "bare key", got, truncAPIKey(bare))
			wantNoPrevious(t, "bare key", got)

			// Every optional field set, binary hashes with zero bytes, in a
			// tenant other than the caller's: GetAPIKey knows only the id.
			full := apiKey("k2", "t2", "agent:a1")
			full.Hash = []byte{0x00, 0xff, 0x00, 0x01}
			full.PreviousHash = []byte{0xfe, 0x00}
			full.PreviousExpiresAt = ptr(at(time.Hour))
			full.ExpiresAt = ptr(at(90 * 24 * time.Hour))
			full.RotatedAt = ptr(at(time.Minute))
			full.LastUsedAt = ptr(at(2 * time.Minute))
			full.RevokedAt = ptr(at(3 * time.Minute))
			full.Scopes = []string{"z:write", "a:read", "m:admin"}
			must(t, s.CreateAPIKey(ctx, full))
			check(t, "full key", ok(s.GetAPIKey(ctx, "k2"))(t), truncAPIKey(full))
		}},
		{"Exists", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			newTenant(t, s, "t2", "user:bob")
			k := newAPIKey(t, s, "k1", "t1", "user:alice")
			wantConflict(t, s.CreateAPIKey(ctx, apiKey("k1", "t2", "user:bob")), "api_key_exists")
			check(t, "GetAPIKey", ok(s.GetAPIKey(ctx, "k1"))(t), truncAPIKey(k))
		}},
		{"UnknownTenant", func(t *testing.T, s store.Store) {
			wantNotFound(t, s.CreateAPIKey(t.Context(), apiKey("k1", "nope", "user:alice")), "tenant_not_found")
		}},
		{"NotFound", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			newAPIKey(t, s, "k1", "t1", "user:alice")
			_, err := s.GetAPIKey(ctx, "nope")
			wantNotFound(t, err, "api_key_not_found")
			_, err = s.RotateAPIKey(ctx, "nope", hash("new"), nil, at(time.Hour))
			wantNotFound(t, err, "api_key_not_found")
			wantNotFound(t, s.RevokeAPIKey(ctx, "nope", at(time.Hour)), "api_key_not_found")
		}},
		{"List", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "ta", "user:alice")
			newTenant(t, s, "tb", "user:bob")
			holders := map[string]string{
				"k-00": "user:alice", "k-01": "agent:a1", "k-02": "user:alice", "k-03": "service:mailer",
				"k-04": "agent:a1", "k-05": "user:alice", "k-06": "agent:a2",
			}
			for _, id := range shuffled(ids("k", 7)) {
				newAPIKey(t, s, id, "ta", holders[id])
			}
			must(t, s.RevokeAPIKey(ctx, "k-02", at(time.Minute)))
			must(t, s.RevokeAPIKey(ctx, "k-04", at(time.Minute)))
			newAPIKey(t, s, "k-00b", "tb", "user:alice")

			for _, tc := range []struct {
				name string
				f    apikey.Filter
				want []string
			}{
				{"live", apikey.Filter{TenantID: "ta"}, []string{"k-00", "k-01", "k-03", "k-05", "k-06"}},
				{"all", apikey.Filter{TenantID: "ta", IncludeRevoked: true}, ids("k", 7)},
				{"empty actor list", apikey.Filter{TenantID: "ta", ActorIDs: []string{}}, []string{"k-00", "k-01", "k-03", "k-05", "k-06"}},
				{"one actor", apikey.Filter{TenantID: "ta", ActorIDs: []string{"user:alice"}}, []string{"k-00", "k-05"}},
				{"one actor with revoked", apikey.Filter{TenantID: "ta", ActorIDs: []string{"user:alice"}, IncludeRevoked: true},
					[]string{"k-00", "k-02", "k-05"}},
				{"several actors", apikey.Filter{TenantID: "ta", ActorIDs: []string{"agent:a2", "agent:a1", "user:nobody"}},
					[]string{"k-01", "k-06"}},
				{"unknown actor", apikey.Filter{TenantID: "ta", ActorIDs: []string{"user:nobody"}}, []string{}},
				{"actor prefix is not a match", apikey.Filter{TenantID: "ta", ActorIDs: []string{"agent:", "agent:%", "user:alic"}}, []string{}},
				{"other tenant", apikey.Filter{TenantID: "tb", IncludeRevoked: true}, []string{"k-00b"}},
				{"other tenant, same actor", apikey.Filter{TenantID: "tb", ActorIDs: []string{"agent:a1"}}, []string{}},
				{"unknown tenant", apikey.Filter{TenantID: "nope", IncludeRevoked: true}, []string{}},
			} {
				check(t, tc.name, keyIDs(ok(s.ListAPIKeys(ctx, tc.f, pageAll))(t)), tc.want)
			}

			// Keyset paging, with the filters applied before the limit.
			var got []string
			after := ""
			for range 10 {
				page := ok(s.ListAPIKeys(ctx, apikey.Filter{TenantID: "ta", ActorIDs: []string{"user:alice", "agent:a1"}, IncludeRevoked: true},
					cursor.Page{After: after, Limit: 2}))(t)
				if len(page) > 2 {
					t.Fatalf("page of %d items, limit 2", len(page))
				}
				if len(page) == 0 {
					break
				}
				got = append(got, keyIDs(page)...)
				after = page[len(page)-1].ID
			}
			check(t, "paged", got, []string{"k-00", "k-01", "k-02", "k-04", "k-05"})
			page := ok(s.ListAPIKeys(ctx, apikey.Filter{TenantID: "ta"}, cursor.Page{After: "k-01", Limit: 1}))(t)
			want := apiKey("k-03", "ta", "service:mailer")
			check(t, "item", page, []apikey.Key{truncAPIKey(want)})
			check(t, "zero limit", keyIDs(ok(s.ListAPIKeys(ctx, apikey.Filter{TenantID: "ta", IncludeRevoked: true}, cursor.Page{}))(t)), ids("k", 7))
		}},
		{"ListNeedsTenant", func(t *testing.T, s store.Store) {
			newTenant(t, s, "t1", "user:alice")
			newAPIKey(t, s, "k1", "t1", "user:alice")
			_, err := s.ListAPIKeys(t.Context(), apikey.Filter{IncludeRevoked: true}, pageAll)
			wantFault(t, err, fault.Invalid, "tenant_required")
		}},
		{"RotateWithGrace", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			k := apiKey("k1", "t1", "agent:a1")
			k.ExpiresAt, k.LastUsedAt = ptr(at(48*time.Hour)), ptr(at(time.Minute))
			must(t, s.CreateAPIKey(ctx, k))

			got := ok(s.RotateAPIKey(ctx, "k1", hash("v1"), ptr(at(2*time.Hour)), at(time.Hour)))(t)
			want := truncAPIKey(k)
			want.Hash, want.PreviousHash = hash("v1"), k.Hash
			want.PreviousExpiresAt, want.RotatedAt = usp(ptr(at(2*time.Hour))), usp(ptr(at(time.Hour)))
			check(t, "returned key", got, want)
			check(t, "stored key", ok(s.GetAPIKey(ctx, "k1"))(t), want)

			// Rotating again during the grace keeps only the latest
			// predecessor: there is one previous hash, not a chain.
			got = ok(s.RotateAPIKey(ctx, "k1", hash("v2"), ptr(at(3*time.Hour)), at(90*time.Minute)))(t)
			want.Hash, want.PreviousHash = hash("v2"), hash("v1")
			want.PreviousExpiresAt, want.RotatedAt = usp(ptr(at(3*time.Hour))), usp(ptr(at(90*time.Minute)))
			check(t, "second rotation", got, want)
			check(t, "stored key", ok(s.GetAPIKey(ctx, "k1"))(t), want)
		}},
		{"RotateWithoutGrace", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			k := newAPIKey(t, s, "k1", "t1", "user:alice")
			ok(s.RotateAPIKey(ctx, "k1", hash("v1"), ptr(at(2*time.Hour)), at(time.Hour)))(t)

			// No grace: the old secret stops at once, also one still in grace.
			got := ok(s.RotateAPIKey(ctx, "k1", hash("v2"), nil, at(90*time.Minute)))(t)
			want := truncAPIKey(k)
			want.Hash, want.RotatedAt = hash("v2"), usp(ptr(at(90*time.Minute)))
			check(t, "returned key", got, want)
			wantNoPrevious(t, "returned key", got)
			stored := ok(s.GetAPIKey(ctx, "k1"))(t)
			check(t, "stored key", stored, want)
			wantNoPrevious(t, "stored key", stored)
		}},
		{"RotateRevoked", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			newAPIKey(t, s, "k1", "t1", "user:alice")
			must(t, s.RevokeAPIKey(ctx, "k1", at(time.Minute)))
			before := ok(s.GetAPIKey(ctx, "k1"))(t)
			for _, until := range []*time.Time{nil, ptr(at(2 * time.Hour))} {
				_, err := s.RotateAPIKey(ctx, "k1", hash("v1"), until, at(time.Hour))
				wantConflict(t, err, "api_key_revoked")
			}
			check(t, "key after refused rotations", ok(s.GetAPIKey(ctx, "k1"))(t), before)
		}},
		{"Revoke", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			k := newAPIKey(t, s, "k1", "t1", "user:alice")
			newAPIKey(t, s, "k2", "t1", "user:alice")
			must(t, s.RevokeAPIKey(ctx, "k1", at(time.Hour)))
			want := truncAPIKey(k)
			want.RevokedAt = usp(ptr(at(time.Hour)))
			check(t, "revoked key", ok(s.GetAPIKey(ctx, "k1"))(t), want)

			// Idempotent, earlier or later: the first revocation wins.
			must(t, s.RevokeAPIKey(ctx, "k1", at(2*time.Hour)))
			must(t, s.RevokeAPIKey(ctx, "k1", at(time.Minute)))
			check(t, "after revoking again", ok(s.GetAPIKey(ctx, "k1"))(t), want)
			if k2 := ok(s.GetAPIKey(ctx, "k2"))(t); k2.RevokedAt != nil {
				t.Errorf("k2 revoked with k1")
			}
		}},
		{"ConcurrentRevokes", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			newAPIKey(t, s, "k1", "t1", "user:alice")
			const n = 8
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() { errs[i] = s.RevokeAPIKey(ctx, "k1", at(time.Duration(i+1)*time.Minute)) })
			}
			wg.Wait()
			for _, err := range errs {
				must(t, err)
			}
			got := ok(s.GetAPIKey(ctx, "k1"))(t)
			if got.RevokedAt == nil || got.RevokedAt.Sub(us(at(0)))%time.Minute != 0 {
				t.Fatalf("revoked at %v, want one of the callers' times", got.RevokedAt)
			}
		}},
		{"RevokeActorAPIKeys", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "ta", "user:alice")
			newTenant(t, s, "tb", "user:bob")
			for _, id := range []string{"k3", "k1", "k2"} {
				newAPIKey(t, s, id, "ta", "agent:a1")
			}
			must(t, s.RevokeAPIKey(ctx, "k2", at(time.Minute)))
			newAPIKey(t, s, "k4", "ta", "agent:a2")
			newAPIKey(t, s, "k5", "tb", "agent:a1")

			// Tenant B's call does not reach tenant A's keys.
			check(t, "from tb", ok(s.RevokeActorAPIKeys(ctx, "tb", "agent:a2", at(time.Hour)))(t), []string{})
			if k4 := ok(s.GetAPIKey(ctx, "k4"))(t); k4.RevokedAt != nil {
				t.Errorf("tenant B revoked tenant A's key")
			}

			check(t, "revoked", ok(s.RevokeActorAPIKeys(ctx, "ta", "agent:a1", at(time.Hour)))(t), []string{"k1", "k3"})
			wantRevokedAt(t, s, "k1", at(time.Hour))
			wantRevokedAt(t, s, "k3", at(time.Hour))
			wantRevokedAt(t, s, "k2", at(time.Minute))
			for _, id := range []string{"k4", "k5"} {
				if k := ok(s.GetAPIKey(ctx, id))(t); k.RevokedAt != nil {
					t.Errorf("%s revoked with agent:a1's keys in ta", id)
				}
			}
			check(t, "again", ok(s.RevokeActorAPIKeys(ctx, "ta", "agent:a1", at(2*time.Hour)))(t), []string{})
			check(t, "nobody", ok(s.RevokeActorAPIKeys(ctx, "ta", "agent:", at(2*time.Hour)))(t), []string{})
			check(t, "no tenant", ok(s.RevokeActorAPIKeys(ctx, "", "agent:a1", at(2*time.Hour)))(t), []string{})
			if k5 := ok(s.GetAPIKey(ctx, "k5"))(t); k5.RevokedAt != nil {
				t.Errorf("tenant-less call revoked tb's key")
			}
		}},
		{"Touch", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			k1 := newAPIKey(t, s, "k1", "t1", "user:alice")
			k2 := apiKey("k2", "t1", "user:alice")
			k2.LastUsedAt = ptr(at(10 * time.Minute))
			must(t, s.CreateAPIKey(ctx, k2))
			k3 := newAPIKey(t, s, "k3", "t1", "user:alice")

			must(t, s.TouchAPIKeys(ctx, nil))
			must(t, s.TouchAPIKeys(ctx, map[string]time.Time{
				"k1":   at(5 * time.Minute),
				"k2":   at(3 * time.Minute), // older than stored: ignored
				"nope": at(time.Minute),     // unknown: ignored
			}))
			want1, want2, want3 := truncAPIKey(k1), truncAPIKey(k2), truncAPIKey(k3)
			want1.LastUsedAt = usp(ptr(at(5 * time.Minute)))
			check(t, "k1", ok(s.GetAPIKey(ctx, "k1"))(t), want1)
			check(t, "k2", ok(s.GetAPIKey(ctx, "k2"))(t), want2)
			check(t, "k3", ok(s.GetAPIKey(ctx, "k3"))(t), want3)

			// Forward moves; an equal time and a sub-microsecond step are no
			// change; an earlier time never wins.
			must(t, s.TouchAPIKeys(ctx, map[string]time.Time{
				"k1": at(4 * time.Minute),
				"k2": at(20 * time.Minute),
				"k3": at(time.Second),
			}))
			must(t, s.TouchAPIKeys(ctx, map[string]time.Time{"k1": us(at(5 * time.Minute)).Add(time.Nanosecond)}))
			want2.LastUsedAt = usp(ptr(at(20 * time.Minute)))
			want3.LastUsedAt = usp(ptr(at(time.Second)))
			check(t, "k1", ok(s.GetAPIKey(ctx, "k1"))(t), want1)
			check(t, "k2", ok(s.GetAPIKey(ctx, "k2"))(t), want2)
			check(t, "k3", ok(s.GetAPIKey(ctx, "k3"))(t), want3)
		}},
		{"ConcurrentTouches", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			// Enough keys that PostgreSQL looks them up by index in the
			// order given rather than scanning the table in its physical
			// order: a statement that does not lock in a fixed order then
			// deadlocks. With 20 it never did.
			keys := ids("k", 200)
			for _, id := range keys {
				newAPIKey(t, s, id, "t1", "user:alice")
			}
			// Overlapping sets flushed at once, as replicas do: none may
			// fail, and the latest time wins per key.
			const n = 8
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make([]error, n)
			for i := range n {
				used := map[string]time.Time{}
				for j, id := range keys {
					used[id] = at(time.Duration((i*7+j*3)%n+1) * time.Minute)
				}
				wg.Go(func() {
					<-start
					for range 5 {
						if err := s.TouchAPIKeys(ctx, used); err != nil {
							errs[i] = err
							return
						}
					}
				})
			}
			warmUp(t, s)
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("flush %d: %v", i, err)
				}
			}
			for _, id := range keys {
				got := ok(s.GetAPIKey(ctx, id))(t).LastUsedAt
				if got == nil || !got.Equal(us(at(n*time.Minute))) {
					t.Errorf("%s: last used %v, want %v", id, got, us(at(n*time.Minute)))
				}
			}
		}},
		{"TouchMany", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			used := map[string]time.Time{}
			for i := range 2 * cursor.MaxLimit {
				id := fmt.Sprintf("k%03d", i)
				if i%2 == 0 {
					newAPIKey(t, s, id, "t1", "user:alice")
				}
				used[id] = at(time.Duration(i) * time.Second)
			}
			must(t, s.TouchAPIKeys(ctx, used))
			for _, k := range ok(s.ListAPIKeys(ctx, apikey.Filter{TenantID: "t1"}, pageAll))(t) {
				if k.LastUsedAt == nil || !k.LastUsedAt.Equal(us(used[k.ID])) {
					t.Errorf("%s: last used %v, want %v", k.ID, k.LastUsedAt, us(used[k.ID]))
				}
			}
		}},
	}
}
