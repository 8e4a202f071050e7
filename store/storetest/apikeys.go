package storetest

import (
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

func apiKeyTests() []test {
	return []test{
		{"CreateAndGet", testAPIKeyCreateAndGet},
		{"CreateExistingIDConflicts", testAPIKeyCreateExistingIDConflicts},
		{"CreateUnknownTenantNotFound", testAPIKeyCreateUnknownTenantNotFound},
		{"UnknownIDNotFound", testAPIKeyUnknownIDNotFound},
		{"ListFiltersAndPages", testAPIKeyListFiltersAndPages},
		{"ListNeedsTenant", testAPIKeyListNeedsTenant},
		{"RotateWithGraceKeepsPrevious", testAPIKeyRotateWithGraceKeepsPrevious},
		{"RotateWithoutGraceDropsPrevious", testAPIKeyRotateWithoutGraceDropsPrevious},
		{"RotateRevokedConflicts", testAPIKeyRotateRevokedConflicts},
		{"RevokeFirstTimeWins", testAPIKeyRevokeFirstTimeWins},
		{"ConcurrentRevokesSucceed", testAPIKeyConcurrentRevokesSucceed},
		{"RevokeActorKeysOfTenant", testAPIKeyRevokeActorKeysOfTenant},
		{"TouchOnlyMovesForward", testAPIKeyTouchOnlyMovesForward},
		{"ConcurrentTouchesLatestWins", testAPIKeyConcurrentTouchesLatestWins},
		{"TouchMoreThanPageLimit", testAPIKeyTouchMoreThanPageLimit},
	}
}

func testAPIKeyCreateAndGet(t *testing.T, s store.Store) {
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
}

func testAPIKeyCreateExistingIDConflicts(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	newTenant(t, s, "t2", "user:bob")
	k := newAPIKey(t, s, "k1", "t1", "user:alice")
	wantConflict(t, s.CreateAPIKey(ctx, apiKey("k1", "t2", "user:bob")), "api_key_exists")
	check(t, "GetAPIKey", ok(s.GetAPIKey(ctx, "k1"))(t), truncAPIKey(k))
}

func testAPIKeyCreateUnknownTenantNotFound(t *testing.T, s store.Store) {
	wantNotFound(t, s.CreateAPIKey(t.Context(), apiKey("k1", "nope", "user:alice")), "tenant_not_found")
}

func testAPIKeyUnknownIDNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	newAPIKey(t, s, "k1", "t1", "user:alice")
	_, err := s.GetAPIKey(ctx, "nope")
	wantNotFound(t, err, "api_key_not_found")
	_, err = s.RotateAPIKey(ctx, "nope", hash("new"), nil, at(time.Hour))
	wantNotFound(t, err, "api_key_not_found")
	wantNotFound(t, s.RevokeAPIKey(ctx, "nope", at(time.Hour)), "api_key_not_found")
}

func testAPIKeyListFiltersAndPages(t *testing.T, s store.Store) {
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
}

func testAPIKeyListNeedsTenant(t *testing.T, s store.Store) {
	newTenant(t, s, "t1", "user:alice")
	newAPIKey(t, s, "k1", "t1", "user:alice")
	_, err := s.ListAPIKeys(t.Context(), apikey.Filter{IncludeRevoked: true}, pageAll)
	wantFault(t, err, fault.Invalid, "tenant_required")
}
