package storetest

import (
	"testing"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/store"
)

func testResourceDeleteRemovesOnlyThatOne(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	a := resource("tool", "a", map[string]any{"n": 1})
	b := resource("tool", "a/b", map[string]any{"n": 2})
	c := resource("toolx", "a", map[string]any{"n": 3})
	putResources(t, s, "t1", a, b, c)

	must(t, s.DeleteResource(ctx, "t1", "tool", "a"))
	_, err := s.GetResource(ctx, "t1", "tool", "a")
	wantNotFound(t, err, "resource_not_found")
	wantNotFound(t, s.DeleteResource(ctx, "t1", "tool", "a"), "resource_not_found")
	// Only that one went: not the id it prefixes, nor the same id
	// of another type.
	checkResource(t, "tool a/b", ok(s.GetResource(ctx, "t1", "tool", "a/b"))(t), stored("t1", b))
	checkResource(t, "toolx a", ok(s.GetResource(ctx, "t1", "toolx", "a"))(t), stored("t1", c))
	check(t, "keys", resourceKeys(ok(s.ListResources(ctx, "t1", cursor.Page{}))(t)), []string{"tool/a/b", "toolx/a"})

	// It can be registered again.
	a2 := resource("tool", "a", map[string]any{"n": 4})
	putResources(t, s, "t1", a2)
	must(t, s.DeleteResource(ctx, "t1", "tool", "a/b"))
	check(t, "keys", resourceKeys(ok(s.ListResources(ctx, "t1", cursor.Page{}))(t)), []string{"tool/a", "toolx/a"})
}

func testResourceUnknownKeyNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	r := resource("channel", "c1", map[string]any{"n": 1})
	putResources(t, s, "t1", r)
	for _, tc := range []struct{ name, tenant, typ, id string }{
		{"unknown id", "t1", "channel", "c2"},
		{"unknown type", "t1", "tool", "c1"},
		{"unknown tenant", "nope", "channel", "c1"},
		{"no tenant", "", "channel", "c1"},
		{"prefix of id", "t1", "channel", "c"},
		{"id with suffix", "t1", "channel", "c1 "},
		{"other case", "t1", "Channel", "c1"},
		{"pattern", "t1", "channel", "%"},
		{"type/id as id", "t1", "", "channel/c1"},
		{"empty", "t1", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.GetResource(ctx, tc.tenant, tc.typ, tc.id)
			wantNotFound(t, err, "resource_not_found")
			wantNotFound(t, s.DeleteResource(ctx, tc.tenant, tc.typ, tc.id), "resource_not_found")
		})
	}
	checkResource(t, "c1 untouched", ok(s.GetResource(ctx, "t1", "channel", "c1"))(t), stored("t1", r))
}

func testResourcePutUnknownTenantNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	rs := []policy.Resource{resource("channel", "c1", map[string]any{"n": 1}), resource("tool", "x", nil)}
	for _, tc := range []struct {
		name, tenant string
		rs           []policy.Resource
	}{
		{"unknown", "nope", rs},
		{"no tenant", "", rs},
		{"prefix of a tenant", "t", rs},
		// The tenant is checked even when there is nothing to write.
		{"unknown, nothing to write", "nope", nil},
		{"unknown, empty batch", "nope", []policy.Resource{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantNotFound(t, s.PutResources(ctx, tc.tenant, tc.rs), "tenant_not_found")
			check(t, "stored nothing", resourceKeys(ok(s.ListResources(ctx, tc.tenant, cursor.Page{}))(t)), []string{})
			_, err := s.GetResource(ctx, tc.tenant, "channel", "c1")
			wantNotFound(t, err, "resource_not_found")
		})
	}
	check(t, "t1 has none", resourceKeys(ok(s.ListResources(ctx, "t1", cursor.Page{}))(t)), []string{})

	// An empty batch for a tenant that exists writes nothing.
	must(t, s.PutResources(ctx, "t1", nil))
	must(t, s.PutResources(ctx, "t1", []policy.Resource{}))
	check(t, "t1 still has none", resourceKeys(ok(s.ListResources(ctx, "t1", cursor.Page{}))(t)), []string{})
}

func testResourceTenantIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:alice")
	newTenant(t, s, "tb", "user:bob")
	newTenant(t, s, "tc", "user:carol")
	shared := resource("channel", "general", map[string]any{"owner": "a"}, ref("tenant", "ta"))
	onlyA := resource("tool", "secret", map[string]any{"risk": "high"})
	putResources(t, s, "ta", shared, onlyA)

	// B cannot see, list or delete A's.
	_, err := s.GetResource(ctx, "tb", "tool", "secret")
	wantNotFound(t, err, "resource_not_found")
	wantNotFound(t, s.DeleteResource(ctx, "tb", "tool", "secret"), "resource_not_found")
	wantNotFound(t, s.DeleteResource(ctx, "tb", "channel", "general"), "resource_not_found")
	check(t, "tb list", resourceKeys(ok(s.ListResources(ctx, "tb", cursor.Page{}))(t)), []string{})
	check(t, "tb list after A's key", resourceKeys(ok(s.ListResources(ctx, "tb", cursor.Page{After: "channel/"}))(t)), []string{})

	// The same (type, id) in B is a resource of its own.
	sharedB := resource("channel", "general", map[string]any{"owner": "b", "extra": true}, ref("tenant", "tb"))
	putResources(t, s, "tb", sharedB)
	checkResource(t, "ta general", ok(s.GetResource(ctx, "ta", "channel", "general"))(t), stored("ta", shared))
	checkResource(t, "tb general", ok(s.GetResource(ctx, "tb", "channel", "general"))(t), stored("tb", sharedB))
	checkResources(t, "tb list", ok(s.ListResources(ctx, "tb", cursor.Page{}))(t), []policy.Resource{stored("tb", sharedB)})
	checkResources(t, "ta list", ok(s.ListResources(ctx, "ta", cursor.Page{}))(t), []policy.Resource{stored("ta", shared), stored("ta", onlyA)})

	// Deleting B's leaves A's.
	must(t, s.DeleteResource(ctx, "tb", "channel", "general"))
	checkResource(t, "ta general after tb delete", ok(s.GetResource(ctx, "ta", "channel", "general"))(t), stored("ta", shared))
	check(t, "tc list", resourceKeys(ok(s.ListResources(ctx, "tc", cursor.Page{}))(t)), []string{})
}
