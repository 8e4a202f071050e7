package storetest

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/store"
)

func testRateLimitAPIKeyRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	for _, tc := range []struct {
		id, spec string
	}{
		{"k1", ""},
		{"k2", "100/1m"},
		{"k3", "10/1m burst=5 fail=closed"},
		{"k4", "off"},
	} {
		k := apiKey(tc.id, "t1", "agent:a1")
		k.RateLimit = tc.spec
		must(t, s.CreateAPIKey(ctx, k))
		check(t, "GetAPIKey("+tc.id+")", ok(s.GetAPIKey(ctx, tc.id))(t), truncAPIKey(k))
	}
	got := ok(s.ListAPIKeys(ctx, apikey.Filter{TenantID: "t1"}, pageAll))(t)
	specs := map[string]string{}
	for _, k := range got {
		specs[k.ID] = k.RateLimit
	}
	check(t, "listed rate limits", specs, map[string]string{"k1": "", "k2": "100/1m", "k3": "10/1m burst=5 fail=closed", "k4": "off"})

	// Rotation keeps the key's rate limit, in what it returns too.
	rotated := ok(s.RotateAPIKey(ctx, "k2", hash("v1"), nil, at(time.Hour)))(t)
	if rotated.RateLimit != "100/1m" {
		t.Errorf("rotated key rate limit = %q, want %q", rotated.RateLimit, "100/1m")
	}
	if k := ok(s.GetAPIKey(ctx, "k2"))(t); k.RateLimit != "100/1m" {
		t.Errorf("stored rotated key rate limit = %q, want %q", k.RateLimit, "100/1m")
	}
}

func testRateLimitAPIKeySetChangesOnlyRateLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	k1 := newAPIKey(t, s, "k1", "t1", "user:alice")
	k2 := newAPIKey(t, s, "k2", "t1", "user:alice")
	want1, want2 := truncAPIKey(k1), truncAPIKey(k2)
	for _, step := range []struct {
		name, spec string
	}{
		{"set", "100/1m"},
		{"replace", "5/1s burst=10"},
		{"same again", "5/1s burst=10"},
		{"clear", ""},
		{"clear again", ""},
		{"set after clear", "off"},
	} {
		must(t, s.SetAPIKeyRateLimit(ctx, "k1", step.spec))
		want1.RateLimit = step.spec
		// Nothing else about the key changes, and k2 not at all.
		check(t, step.name, ok(s.GetAPIKey(ctx, "k1"))(t), want1)
		check(t, step.name+": k2", ok(s.GetAPIKey(ctx, "k2"))(t), want2)
	}

	// A revoked key takes it too; it stays revoked.
	must(t, s.RevokeAPIKey(ctx, "k2", at(time.Hour)))
	must(t, s.SetAPIKeyRateLimit(ctx, "k2", "1/s"))
	want2.RateLimit, want2.RevokedAt = "1/s", usp(ptr(at(time.Hour)))
	check(t, "revoked key", ok(s.GetAPIKey(ctx, "k2"))(t), want2)
}

func testRateLimitAPIKeySetUnknownKeyNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	k := newAPIKey(t, s, "k1", "t1", "user:alice")
	for _, id := range []string{"nope", "", "k", "k1 ", "%"} {
		for _, spec := range []string{"100/1m", ""} {
			wantNotFound(t, s.SetAPIKeyRateLimit(ctx, id, spec), "api_key_not_found")
		}
	}
	check(t, "k1 untouched", ok(s.GetAPIKey(ctx, "k1"))(t), truncAPIKey(k))
}
