package apikey_test

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/secret"
	"github.com/tollgate/tollgate/serviceaccount"
)

// hashOf parses raw as an API key and returns the hash a verifier looks up.
func hashOf(t *testing.T, raw string) []byte {
	t.Helper()
	p, err := secret.Parse(raw, secret.KeyPrefix, "api_key")
	must(t, err)
	return p.Hash[:]
}

func TestCreateIssuesKeyStoredOnlyAsHash(t *testing.T) {
	w := newWorld(t)
	k, raw := w.create(t, w.memberS, apikey.NewKey{Name: "ci", Scopes: []string{"tenant:read", "members:read", "tenant:read"}})

	if k.ActorID != w.member.ActorID() || k.CreatedBy != w.member.ActorID() || k.TenantID != w.tenantA || k.Name != "ci" ||
		!slices.Equal(k.Scopes, []string{"members:read", "tenant:read"}) || !k.CreatedAt.Equal(t0) ||
		k.ExpiresAt != nil || k.RevokedAt != nil || k.RotatedAt != nil || k.RateLimit != "" {
		t.Fatalf("created %+v", k)
	}
	if !strings.HasPrefix(raw, "tg_live_"+k.ID+"_") {
		t.Fatalf("key %q does not carry its id %s", raw, k.ID)
	}
	got := w.stored(t, k.ID)
	sum := sha256.Sum256([]byte(raw))
	if !bytes.Equal(got.Hash, sum[:]) || got.PreviousHash != nil {
		t.Fatalf("stored hash %x, want the SHA-256 of the key %x", got.Hash, sum)
	}
	if !got.Matches(hashOf(t, raw), t0) || got.Usable(t0) != nil {
		t.Fatal("a new key does not open its own record")
	}
	if ev := w.events.Take(); len(ev) != 0 {
		t.Fatalf("creating a key announced %v", ev)
	}
}

func TestCreateMarksKeysWithTheConfiguredEnvironment(t *testing.T) {
	for _, c := range []struct{ env, prefix string }{
		{"", "tg_live_"},
		{secret.EnvLive, "tg_live_"},
		{secret.EnvTest, "tg_test_"},
	} {
		t.Run("env="+c.env, func(t *testing.T) {
			w := newWorldWith(t, apikey.Options{Env: c.env})
			k, raw := w.create(t, w.memberS, apikey.NewKey{})
			if !strings.HasPrefix(raw, c.prefix+k.ID+"_") {
				t.Fatalf("key %q, want prefix %s", raw, c.prefix)
			}
		})
	}
}

func TestCreateRefusesBadInputAndMakesNothing(t *testing.T) {
	w := newWorld(t)
	retired, err := w.idents.CreateAgent(w.ctx, identity.Caller{ActorID: w.member.ActorID()}, w.tenantA, identity.NewAgent{Name: "retired"})
	must(t, err)
	_, err = w.idents.UpdateAgent(w.ctx, identity.Caller{ActorID: w.member.ActorID()}, w.tenantA, retired.ID,
		identity.AgentPatch{Status: ptr(identity.AgentDisabled)})
	must(t, err)
	bAgent, err := w.idents.CreateAgent(w.ctx, identity.Caller{ActorID: w.outB.ActorID()}, w.tenantB, identity.NewAgent{Name: "b's agent"})
	must(t, err)
	narrow, _ := w.create(t, w.memberS, apikey.NewKey{Name: "narrow", Scopes: []string{"tenant:read"}})
	narrowS := w.keyCaller(t, narrow)
	many := make([]string, 65)
	for i := range many {
		many[i] = "tenant:read"
	}
	past, now := t0.Add(-time.Minute), t0
	// 9999-12-31T23:59:59-23:59 is in the year 10000 once in UTC.
	year10000 := time.Date(9999, 12, 31, 23, 59, 59, 0, time.FixedZone("", -(23*3600+59*60)))

	// A case's Name "" is sent as "k", and "-" as no name at all; its
	// TenantID "" is tenant A.
	cases := []struct {
		name   string
		caller identity.ActorContext
		in     apikey.NewKey
		kind   fault.Kind
		code   string
		field  string
	}{
		{"scope beyond the member's rights", w.memberS, apikey.NewKey{Scopes: []string{"apikeys:write"}}, fault.Forbidden, "scope_exceeds_rights", ""},
		{"one scope beyond the member's rights", w.memberS, apikey.NewKey{Scopes: []string{"tenant:read", "members:write"}}, fault.Forbidden, "scope_exceeds_rights", ""},
		{"narrow key minting a wider one", narrowS, apikey.NewKey{Scopes: []string{"members:read"}}, fault.Forbidden, "scope_exceeds_rights", ""},
		{"unknown scope", w.memberS, apikey.NewKey{Scopes: []string{"everything"}}, fault.Invalid, "unknown_scope", "scopes"},
		{"service scope", w.memberS, apikey.NewKey{Scopes: []string{serviceaccount.ScopeAuthzCheck}}, fault.Invalid, "unknown_scope", "scopes"},
		{"long unknown scope", w.memberS, apikey.NewKey{Scopes: []string{strings.Repeat("x", 500)}}, fault.Invalid, "unknown_scope", "scopes"},
		{"scope with a space", w.memberS, apikey.NewKey{Scopes: []string{" tenant:read"}}, fault.Invalid, "unknown_scope", "scopes"},
		{"too many scopes", w.memberS, apikey.NewKey{Scopes: many}, fault.Invalid, "too_many_scopes", "scopes"},
		{"key for another human", w.memberS, apikey.NewKey{ActorID: w.admin.ActorID()}, fault.Forbidden, "key_for_other_user", ""},
		{"key for a human of another tenant", w.memberS, apikey.NewKey{ActorID: w.outB.ActorID()}, fault.Forbidden, "key_for_other_user", ""},
		{"key for someone else's agent", w.memberS, apikey.NewKey{ActorID: w.adminsAgent.ActorID()}, fault.Forbidden, "permission_denied", ""},
		{"key for a missing agent", w.memberS, apikey.NewKey{ActorID: "agent:" + ids.New()}, fault.NotFound, "agent_not_found", ""},
		{"key for a malformed agent id", w.memberS, apikey.NewKey{ActorID: "agent:../../x"}, fault.NotFound, "agent_not_found", ""},
		{"key for an agent of another tenant", w.ownerS, apikey.NewKey{ActorID: bAgent.ActorID()}, fault.NotFound, "agent_not_found", ""},
		{"key for a disabled agent", w.memberS, apikey.NewKey{ActorID: retired.ActorID()}, fault.Conflict, "agent_disabled", ""},
		{"key for a service by a tenant owner", w.ownerS, apikey.NewKey{ActorID: "service:messaging"}, fault.Forbidden, "platform_admin_required", ""},
		{"malformed actor id", w.memberS, apikey.NewKey{ActorID: "root"}, fault.Invalid, "invalid_actor_id", "actor_id"},
		{"expires in the past", w.memberS, apikey.NewKey{ExpiresAt: &past}, fault.Invalid, "expires_at_in_past", "expires_at"},
		{"expires now", w.memberS, apikey.NewKey{ExpiresAt: &now}, fault.Invalid, "expires_at_in_past", "expires_at"},
		{"expires after the year 9999 in UTC", w.memberS, apikey.NewKey{ExpiresAt: &year10000}, fault.Invalid, "expires_at_out_of_range", "expires_at"},
		{"missing name", w.memberS, apikey.NewKey{Name: "-"}, fault.Invalid, "invalid_name", "name"},
		{"control character in the name", w.memberS, apikey.NewKey{Name: "bad\u0007name"}, fault.Invalid, "invalid_name", "name"},
		{"zero-width space in the name", w.memberS, apikey.NewKey{Name: "o\u200ba"}, fault.Invalid, "invalid_name", "name"},
		{"bidi override in the name", w.memberS, apikey.NewKey{Name: "a\u202eb"}, fault.Invalid, "invalid_name", "name"},
		{"name too long", w.memberS, apikey.NewKey{Name: strings.Repeat("n", 201)}, fault.Invalid, "invalid_name", "name"},
		{"own rate limit by a tenant owner", w.ownerS, apikey.NewKey{RateLimit: "5/1m"}, fault.Forbidden, "platform_admin_required", ""},
		{"tenant of someone else", w.memberS, apikey.NewKey{TenantID: w.tenantB}, fault.NotFound, "tenant_not_found", ""},
		{"tenant of someone else, with a bad name too", w.memberS, apikey.NewKey{TenantID: w.tenantB, Name: "-"}, fault.NotFound, "tenant_not_found", ""},
		{"malformed tenant", w.memberS, apikey.NewKey{TenantID: "'; drop table api_keys; --"}, fault.NotFound, "tenant_not_found", ""},
		{"missing tenant", w.memberS, apikey.NewKey{TenantID: ids.New()}, fault.NotFound, "tenant_not_found", ""},
		{"key of tenant A minting in tenant B", narrowS, apikey.NewKey{TenantID: w.tenantB}, fault.NotFound, "tenant_not_found", ""},
		{"platform admin outside the tenant, for themself", w.rootS, apikey.NewKey{Scopes: []string{"tenant:read"}}, fault.NotFound, "tenant_not_found", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			switch in.Name {
			case "":
				in.Name = "k"
			case "-":
				in.Name = ""
			}
			if in.TenantID == "" {
				in.TenantID = w.tenantA
			}
			k, raw, err := w.keys.Create(w.ctx, c.caller, in)
			wantFault(t, err, c.kind, c.code, c.field)
			if k.ID != "" || raw != "" {
				t.Fatalf("a refused create returned %+v %q", k, raw)
			}
		})
	}
	for _, tenant := range []string{w.tenantA, w.tenantB} {
		list, err := w.st.ListAPIKeys(w.ctx, apikey.Filter{TenantID: tenant, IncludeRevoked: true}, cursor.Page{})
		must(t, err)
		if len(list) != 0 && !(len(list) == 1 && list[0].ID == narrow.ID) {
			t.Fatalf("refused creates stored keys: %+v", list)
		}
	}
}

func TestCreateStoresExpiryInUTCToTheMicrosecond(t *testing.T) {
	w := newWorld(t)
	at := t0.Add(time.Hour + 123456789*time.Nanosecond).In(time.FixedZone("UTC+5", 5*3600))
	k, _ := w.create(t, w.memberS, apikey.NewKey{ExpiresAt: &at})
	want := at.UTC().Truncate(time.Microsecond)
	got := w.stored(t, k.ID)
	if k.ExpiresAt == nil || !k.ExpiresAt.Equal(want) || k.ExpiresAt.Location() != time.UTC || got.ExpiresAt == nil || !got.ExpiresAt.Equal(want) {
		t.Fatalf("expires_at = %v (stored %v), want %v", k.ExpiresAt, got.ExpiresAt, want)
	}
	if err := got.Usable(want.Add(-time.Microsecond)); err != nil {
		t.Fatalf("usable just before expiry: %v", err)
	}
	wantFault(t, got.Usable(want), fault.Unauthenticated, "api_key_expired", "")
}

// TestCreateKeysForAgents checks who may give an agent a key: its owner in
// their own session, or a holder of agents:write; and that a key or
// delegated token mints keys only with apikeys:write, for itself or its
// agents too (and for an agent only with agents:write).
func TestCreateKeysForAgents(t *testing.T) {
	w := newWorld(t)
	agentKey, _ := w.create(t, w.memberS, apikey.NewKey{ActorID: w.agent.ActorID(), Scopes: []string{"agents:read", "tenant:read"}})
	agentS := w.keyCaller(t, agentKey)
	adminsAgentKey, _ := w.create(t, w.adminS, apikey.NewKey{ActorID: w.adminsAgent.ActorID(), Scopes: []string{"apikeys:write", "tenant:read"}})
	adminsAgentS := w.keyCaller(t, adminsAgentKey)
	adminKey, _ := w.create(t, w.adminS, apikey.NewKey{Scopes: []string{"apikeys:write", "tenant:read"}})
	adminKeyS := w.keyCaller(t, adminKey)
	adminAgentsKey, _ := w.create(t, w.adminS, apikey.NewKey{Scopes: []string{"agents:write", "apikeys:write", "tenant:read"}})
	adminAgentsKeyS := w.keyCaller(t, adminAgentsKey)
	memberKey, _ := w.create(t, w.memberS, apikey.NewKey{Scopes: []string{"tenant:read"}})
	memberKeyS := w.keyCaller(t, memberKey)

	for _, c := range []struct {
		name      string
		caller    identity.ActorContext
		in        apikey.NewKey
		holder    string
		createdBy string
	}{
		{"by the agent's owner", w.memberS, apikey.NewKey{ActorID: w.agent.ActorID(), Scopes: []string{"tenant:read"}}, w.agent.ActorID(), w.member.ActorID()},
		{"by a holder of agents:write", w.adminS, apikey.NewKey{ActorID: w.agent.ActorID(), Scopes: []string{"tenant:read"}}, w.agent.ActorID(), w.admin.ActorID()},
		{"by an agent with apikeys:write for itself", adminsAgentS, apikey.NewKey{Scopes: []string{"tenant:read"}}, w.adminsAgent.ActorID(), w.adminsAgent.ActorID()},
		{"by an agent with apikeys:write naming itself", adminsAgentS, apikey.NewKey{ActorID: w.adminsAgent.ActorID(), Scopes: []string{"apikeys:write"}}, w.adminsAgent.ActorID(), w.adminsAgent.ActorID()},
		{"by its owner's key with agents:write and apikeys:write", adminAgentsKeyS, apikey.NewKey{ActorID: w.adminsAgent.ActorID(), Scopes: []string{"tenant:read"}}, w.adminsAgent.ActorID(), w.admin.ActorID()},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, _ := w.create(t, c.caller, c.in)
			if k.ActorID != c.holder || k.CreatedBy != c.createdBy {
				t.Fatalf("holder %s created by %s, want %s by %s", k.ActorID, k.CreatedBy, c.holder, c.createdBy)
			}
		})
	}
	for _, c := range []struct {
		name   string
		caller identity.ActorContext
		in     apikey.NewKey
		kind   fault.Kind
		code   string
	}{
		{"the agent for its owner", agentS, apikey.NewKey{ActorID: w.member.ActorID()}, fault.Forbidden, "key_for_other_user"},
		{"the agent beyond its key's scopes", agentS, apikey.NewKey{Scopes: []string{"members:read"}}, fault.Forbidden, "scope_exceeds_rights"},
		{"the agent beyond its owner's rights", agentS, apikey.NewKey{Scopes: []string{"apikeys:write"}}, fault.Forbidden, "scope_exceeds_rights"},
		{"the agent for another agent", agentS, apikey.NewKey{ActorID: w.adminsAgent.ActorID()}, fault.Forbidden, "permission_denied"},
		{"the agent without apikeys:write for itself", agentS, apikey.NewKey{Scopes: []string{"tenant:read"}}, fault.Forbidden, "permission_denied"},
		{"the agent without apikeys:write naming itself", agentS, apikey.NewKey{ActorID: w.agent.ActorID(), Scopes: []string{"agents:read"}}, fault.Forbidden, "permission_denied"},
		{"an agent with apikeys:write for another agent", adminsAgentS, apikey.NewKey{ActorID: w.agent.ActorID()}, fault.Forbidden, "permission_denied"},
		{"its owner's key without agents:write", adminKeyS, apikey.NewKey{ActorID: w.adminsAgent.ActorID()}, fault.Forbidden, "permission_denied"},
		{"its owner's tenant:read key", memberKeyS, apikey.NewKey{ActorID: w.agent.ActorID()}, fault.Forbidden, "permission_denied"},
		{"a tenant:read key for its holder", memberKeyS, apikey.NewKey{Scopes: []string{"tenant:read"}}, fault.Forbidden, "permission_denied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			in.Name, in.TenantID = "k", w.tenantA
			k, raw, err := w.keys.Create(w.ctx, c.caller, in)
			wantFault(t, err, c.kind, c.code, "")
			if k.ID != "" || raw != "" {
				t.Fatalf("a refused create returned %+v", k)
			}
		})
	}
}

func TestCreateKeysForServicesByPlatformAdminsOnly(t *testing.T) {
	w := newWorld(t)
	svc := w.service(t, "messaging")
	idle := w.service(t, "idle")
	_, err := w.registry.Update(w.ctx, w.rootS, idle.ID, serviceaccount.Patch{Status: ptr(serviceaccount.Disabled)})
	must(t, err)

	// Root belongs to neither tenant, yet gives the service any permission
	// of the catalogue in either: a service's rights there are its scopes.
	for _, tenant := range []string{w.tenantA, w.tenantB} {
		k, _ := w.create(t, w.rootS, apikey.NewKey{
			TenantID: tenant, ActorID: svc.ActorID(), Scopes: []string{"owners:write", "apikeys:write"}, RateLimit: "5/m burst=2 fail=closed",
		})
		if k.ActorID != "service:messaging" || k.CreatedBy != w.root.ActorID() || k.TenantID != tenant ||
			!slices.Equal(k.Scopes, []string{"apikeys:write", "owners:write"}) || k.RateLimit != "5/1m burst=2 fail=closed" {
			t.Fatalf("service key %+v", k)
		}
	}

	// Root acting through a key is not a platform admin.
	rootKeyS := identity.ActorContext{
		ActorID: w.root.ActorID(), TenantID: w.tenantA, Credential: identity.CredentialAPIKey, Permissions: []string{"tenant:read"},
	}
	for _, c := range []struct {
		name   string
		caller identity.ActorContext
		in     apikey.NewKey
		kind   fault.Kind
		code   string
		field  string
	}{
		{"tenant owner", w.ownerS, apikey.NewKey{ActorID: svc.ActorID()}, fault.Forbidden, "platform_admin_required", ""},
		{"platform admin through a key", rootKeyS, apikey.NewKey{ActorID: svc.ActorID()}, fault.Forbidden, "platform_admin_required", ""},
		{"unknown service", w.rootS, apikey.NewKey{ActorID: "service:nobody"}, fault.NotFound, "service_not_found", ""},
		{"disabled service", w.rootS, apikey.NewKey{ActorID: idle.ActorID()}, fault.Conflict, "service_disabled", ""},
		{"unknown tenant", w.rootS, apikey.NewKey{ActorID: svc.ActorID(), TenantID: ids.New()}, fault.NotFound, "tenant_not_found", ""},
		{"malformed tenant", w.rootS, apikey.NewKey{ActorID: svc.ActorID(), TenantID: "nope"}, fault.NotFound, "tenant_not_found", ""},
		{"unknown scope", w.rootS, apikey.NewKey{ActorID: svc.ActorID(), Scopes: []string{"root"}}, fault.Invalid, "unknown_scope", "scopes"},
		{"bad rate limit", w.rootS, apikey.NewKey{ActorID: svc.ActorID(), RateLimit: "5 per minute"}, fault.Invalid, "invalid_rate_limit", "rate_limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			in.Name = "k"
			if in.TenantID == "" {
				in.TenantID = w.tenantA
			}
			_, _, err := w.keys.Create(w.ctx, c.caller, in)
			wantFault(t, err, c.kind, c.code, c.field)
		})
	}
}

// keySet is a world with keys of every kind of holder.
type keySet struct {
	*world
	memberKey, agentKey, adminKey, bKey apikey.Key
	reader                              identity.ActorContext // holds apikeys:read without apikeys:write
}

func newKeySet(t *testing.T) *keySet {
	t.Helper()
	w := newWorld(t)
	ks := &keySet{world: w}
	ks.memberKey, _ = w.create(t, w.memberS, apikey.NewKey{Name: "member's", Scopes: []string{"tenant:read"}})
	ks.agentKey, _ = w.create(t, w.memberS, apikey.NewKey{Name: "agent's", ActorID: w.agent.ActorID(), Scopes: []string{"tenant:read"}})
	ks.adminKey, _ = w.create(t, w.adminS, apikey.NewKey{Name: "admin's", Scopes: []string{"apikeys:write"}})
	ks.bKey, _ = w.create(t, w.outBS, apikey.NewKey{Name: "b's", TenantID: w.tenantB, Scopes: []string{"tenant:read"}})

	owner := identity.Caller{ActorID: w.owner.ActorID()}
	_, err := w.idents.PutRole(w.ctx, owner, w.tenantA, "key-reader", identity.RoleInput{Permissions: []string{"apikeys:read", "tenant:read"}})
	must(t, err)
	reader, err := w.idents.CreateUser(w.ctx, identity.NewUser{Email: "reader@a.example"})
	must(t, err)
	_, err = w.idents.AddMember(w.ctx, owner, w.tenantA, identity.NewMember{ActorID: reader.ActorID(), Roles: []string{"key-reader"}})
	must(t, err)
	ks.reader = session(reader, w.tenantA)
	w.events.Take()
	return ks
}

func TestGetShowsKeysToHoldersOwnersAndReadersOnly(t *testing.T) {
	ks := newKeySet(t)
	ownerKey, _ := ks.create(t, ks.ownerS, apikey.NewKey{Scopes: []string{"apikeys:read", "tenant:read"}})
	ownerKeyS := ks.keyCaller(t, ownerKey)
	memberKeyS := ks.keyCaller(t, ks.memberKey)

	for _, c := range []struct {
		name   string
		caller identity.ActorContext
		key    apikey.Key
		ok     bool
	}{
		{"holder", ks.memberS, ks.memberKey, true},
		{"holder through the key itself", memberKeyS, ks.memberKey, true},
		{"owner of the holding agent", ks.memberS, ks.agentKey, true},
		{"holder of apikeys:read", ks.reader, ks.adminKey, true},
		{"tenant owner", ks.ownerS, ks.memberKey, true},
		{"tenant owner's key with apikeys:read", ownerKeyS, ks.adminKey, true},
		{"member, someone else's key", ks.memberS, ks.adminKey, false},
		{"member's key, someone else's key", memberKeyS, ks.adminKey, false},
		{"tenant B's owner, a key of A", ks.outBS, ks.memberKey, false},
		{"tenant A's owner, a key of B", ks.ownerS, ks.bKey, false},
		{"tenant A's key, a key of B", ownerKeyS, ks.bKey, false},
		{"platform admin outside the tenant", ks.rootS, ks.memberKey, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ks.keys.Get(ks.ctx, c.caller, c.key.ID)
			if c.ok {
				must(t, err)
				if got.ID != c.key.ID || !bytes.Equal(got.Hash, c.key.Hash) {
					t.Fatalf("got %+v, want %+v", got, c.key)
				}
				return
			}
			wantFault(t, err, fault.NotFound, "api_key_not_found", "")
			_, missing := ks.keys.Get(ks.ctx, c.caller, ids.New())
			sameFault(t, err, missing)
			if got.ID != "" {
				t.Fatalf("a hidden key was returned: %+v", got)
			}
		})
	}
	for _, id := range []string{ids.New(), "not-an-id", "' OR 1=1"} {
		_, err := ks.keys.Get(ks.ctx, ks.ownerS, id)
		wantFault(t, err, fault.NotFound, "api_key_not_found", "")
	}
}

// TestCrossTenantCallersLearnNothing checks that every operation on a key of
// tenant B, by any caller of tenant A, answers exactly as for a key that does
// not exist, and leaves B's key as it was.
func TestCrossTenantCallersLearnNothing(t *testing.T) {
	ks := newKeySet(t)
	ownerKey, _ := ks.create(t, ks.ownerS, apikey.NewKey{Scopes: []string{"apikeys:read", "apikeys:write", "tenant:read"}})
	ks.events.Take()
	ops := []struct {
		name string
		do   func(ac identity.ActorContext, id string) error
	}{
		{"get", func(ac identity.ActorContext, id string) error { _, err := ks.keys.Get(ks.ctx, ac, id); return err }},
		{"revoke", func(ac identity.ActorContext, id string) error { return ks.keys.Revoke(ks.ctx, ac, id) }},
		{"rotate", func(ac identity.ActorContext, id string) error {
			_, _, err := ks.keys.Rotate(ks.ctx, ac, id, time.Minute)
			return err
		}},
		{"set rate limit", func(ac identity.ActorContext, id string) error {
			_, err := ks.keys.SetRateLimit(ks.ctx, ac, id, "1/1h")
			return err
		}},
		{"remove rate limit", func(ac identity.ActorContext, id string) error {
			_, err := ks.keys.SetRateLimit(ks.ctx, ac, id, "")
			return err
		}},
	}
	callers := []struct {
		name string
		ac   identity.ActorContext
	}{
		{"owner of A", ks.ownerS},
		{"member of A", ks.memberS},
		{"owner's key of A", ks.keyCaller(t, ownerKey)},
	}
	for _, c := range callers {
		for _, op := range ops {
			t.Run(c.name+"/"+op.name, func(t *testing.T) {
				foreign := op.do(c.ac, ks.bKey.ID)
				wantFault(t, foreign, fault.NotFound, "api_key_not_found", "")
				sameFault(t, foreign, op.do(c.ac, ids.New()))
			})
		}
		t.Run(c.name+"/list", func(t *testing.T) {
			_, err := ks.keys.List(ks.ctx, c.ac, ks.tenantB, "", true, cursor.Page{})
			wantFault(t, err, fault.NotFound, "tenant_not_found", "")
			// Filtering by B's holder looks in A, where they hold nothing.
			list, err := ks.keys.List(ks.ctx, c.ac, ks.tenantA, ks.outB.ActorID(), true, cursor.Page{})
			must(t, err)
			if len(list) != 0 {
				t.Fatalf("lists B's keys: %+v", list)
			}
		})
		t.Run(c.name+"/create", func(t *testing.T) {
			_, _, err := ks.keys.Create(ks.ctx, c.ac, apikey.NewKey{Name: "x", TenantID: ks.tenantB})
			wantFault(t, err, fault.NotFound, "tenant_not_found", "")
		})
	}
	got := ks.stored(t, ks.bKey.ID)
	if got.RevokedAt != nil || got.RotatedAt != nil || got.RateLimit != "" || !bytes.Equal(got.Hash, ks.bKey.Hash) {
		t.Fatalf("B's key changed: %+v", got)
	}
	if ev := ks.events.Take(); len(ev) != 0 {
		t.Fatalf("refused operations announced %v", ev)
	}
}

func TestRevokeEndsKeyAndAnnouncesIt(t *testing.T) {
	ks := newKeySet(t)
	must(t, ks.keys.Revoke(ks.ctx, ks.memberS, ks.memberKey.ID))

	want := []event.Event{{Kind: event.KindCredentialRevoked, ID: ks.memberKey.ID, At: t0}}
	sameEvents(t, ks.events.Take(), want)
	got := ks.stored(t, ks.memberKey.ID)
	if got.RevokedAt == nil || !got.RevokedAt.Equal(t0) {
		t.Fatalf("revoked_at = %v, want %v", got.RevokedAt, t0)
	}
	wantFault(t, got.Usable(t0), fault.Unauthenticated, "api_key_revoked", "")

	// Revoking again is no error and the first revocation's time stays.
	ks.clock.Advance(time.Minute)
	must(t, ks.keys.Revoke(ks.ctx, ks.memberS, ks.memberKey.ID))
	if again := ks.stored(t, ks.memberKey.ID); !again.RevokedAt.Equal(t0) {
		t.Fatalf("revoking twice moved revoked_at to %v", again.RevokedAt)
	}
	// The record stays visible; a revoked key cannot be rotated back to life.
	if k, err := ks.keys.Get(ks.ctx, ks.memberS, ks.memberKey.ID); err != nil || k.RevokedAt == nil {
		t.Fatalf("get revoked: %+v %v", k, err)
	}
	_, _, err := ks.keys.Rotate(ks.ctx, ks.memberS, ks.memberKey.ID, 0)
	wantFault(t, err, fault.Conflict, "api_key_revoked", "")
}

func TestRevokeNeedsHoldingOwningOrApikeysWrite(t *testing.T) {
	for _, c := range []struct {
		name   string
		caller func(ks *keySet) identity.ActorContext
		key    func(ks *keySet) apikey.Key
		kind   fault.Kind // Internal: allowed
		code   string
	}{
		{"holder", func(ks *keySet) identity.ActorContext { return ks.adminS }, func(ks *keySet) apikey.Key { return ks.adminKey }, fault.Internal, ""},
		{"owner of the holding agent", func(ks *keySet) identity.ActorContext { return ks.memberS }, func(ks *keySet) apikey.Key { return ks.agentKey }, fault.Internal, ""},
		{"holder of apikeys:write", func(ks *keySet) identity.ActorContext { return ks.ownerS }, func(ks *keySet) apikey.Key { return ks.memberKey }, fault.Internal, ""},
		{"holder of apikeys:read only", func(ks *keySet) identity.ActorContext { return ks.reader }, func(ks *keySet) apikey.Key { return ks.adminKey }, fault.Forbidden, "permission_denied"},
		{"member, someone else's key", func(ks *keySet) identity.ActorContext { return ks.memberS }, func(ks *keySet) apikey.Key { return ks.adminKey }, fault.NotFound, "api_key_not_found"},
		{"tenant B's owner", func(ks *keySet) identity.ActorContext { return ks.outBS }, func(ks *keySet) apikey.Key { return ks.memberKey }, fault.NotFound, "api_key_not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ks := newKeySet(t)
			k := c.key(ks)
			err := ks.keys.Revoke(ks.ctx, c.caller(ks), k.ID)
			revoked := ks.stored(t, k.ID).RevokedAt != nil
			ev := ks.events.Take()
			if c.kind == fault.Internal {
				must(t, err)
				if !revoked || len(ev) != 1 || ev[0].Kind != event.KindCredentialRevoked || ev[0].ID != k.ID {
					t.Fatalf("revoked %v, announced %v", revoked, ev)
				}
				return
			}
			wantFault(t, err, c.kind, c.code, "")
			if revoked || len(ev) != 0 {
				t.Fatalf("a refused revocation revoked %v, announced %v", revoked, ev)
			}
		})
	}
}

func TestRotateWithoutGraceStopsTheOldSecretAtOnce(t *testing.T) {
	w := newWorld(t)
	k, old := w.create(t, w.memberS, apikey.NewKey{Scopes: []string{"tenant:read"}})
	w.clock.Advance(time.Hour)
	now := t0.Add(time.Hour)

	rotated, raw, err := w.keys.Rotate(w.ctx, w.memberS, k.ID, 0)
	must(t, err)
	if raw == old || !strings.HasPrefix(raw, "tg_live_"+k.ID+"_") || rotated.ID != k.ID ||
		rotated.RotatedAt == nil || !rotated.RotatedAt.Equal(now) || rotated.PreviousHash != nil || rotated.PreviousExpiresAt != nil {
		t.Fatalf("rotated %+v with %q", rotated, raw)
	}
	got := w.stored(t, k.ID)
	if !got.Matches(hashOf(t, raw), now) {
		t.Fatal("the new secret does not open the key")
	}
	if got.Matches(hashOf(t, old), now) {
		t.Fatal("the old secret still opens the key without grace")
	}
	// Caches hold the old hash: the holder is announced as changed.
	want := []event.Event{{Kind: event.KindActorChanged, ID: w.member.ActorID(), At: now}}
	sameEvents(t, w.events.Take(), want)
}

func TestRotateWithGraceKeepsTheOldSecretUntilItEnds(t *testing.T) {
	w := newWorld(t)
	k, k1 := w.create(t, w.memberS, apikey.NewKey{ActorID: w.agent.ActorID(), Scopes: []string{"tenant:read"}})
	_, k2, err := w.keys.Rotate(w.ctx, w.memberS, k.ID, 30*time.Minute)
	must(t, err)
	end := t0.Add(30 * time.Minute)
	got := w.stored(t, k.ID)
	if got.PreviousExpiresAt == nil || !got.PreviousExpiresAt.Equal(end) {
		t.Fatalf("previous expires at %v, want %v", got.PreviousExpiresAt, end)
	}
	for _, c := range []struct {
		name  string
		raw   string
		at    time.Time
		opens bool
	}{
		{"new secret now", k2, t0, true},
		{"new secret after the grace", k2, end.Add(time.Hour), true},
		{"old secret now", k1, t0, true},
		{"old secret just before the grace ends", k1, end.Add(-time.Microsecond), true},
		{"old secret when the grace ends", k1, end, false},
		{"old secret after the grace", k1, end.Add(time.Hour), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got.Matches(hashOf(t, c.raw), c.at) != c.opens {
				t.Fatalf("opens = %v, want %v", !c.opens, c.opens)
			}
		})
	}
	if ev := w.events.Take(); len(ev) != 1 || ev[0].Kind != event.KindActorChanged || ev[0].ID != w.agent.ActorID() {
		t.Fatalf("announced %v, want the agent changed", ev)
	}

	// A second rotation without grace ends the first one's grace too.
	_, k3, err := w.keys.Rotate(w.ctx, w.memberS, k.ID, 0)
	must(t, err)
	got = w.stored(t, k.ID)
	for raw, opens := range map[string]bool{k1: false, k2: false, k3: true} {
		if got.Matches(hashOf(t, raw), t0) != opens {
			t.Fatalf("after rotating again, %q opens = %v, want %v", raw[:20], !opens, opens)
		}
	}
}

func TestRotateBoundsTheGracePeriod(t *testing.T) {
	for _, c := range []struct {
		name  string
		max   time.Duration
		grace time.Duration
		ok    bool
	}{
		{"zero", 0, 0, true},
		{"negative", 0, -time.Nanosecond, false},
		{"the default bound of a week", 0, 7 * 24 * time.Hour, true},
		{"just over the default bound", 0, 7*24*time.Hour + time.Second, false},
		{"a year", 0, 365 * 24 * time.Hour, false},
		{"the configured bound", time.Hour, time.Hour, true},
		{"over the configured bound", time.Hour, time.Hour + time.Nanosecond, false},
		{"a negative configured bound means the default", -time.Hour, 7 * 24 * time.Hour, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorldWith(t, apikey.Options{MaxRotationGrace: c.max})
			k, _ := w.create(t, w.memberS, apikey.NewKey{})
			_, raw, err := w.keys.Rotate(w.ctx, w.memberS, k.ID, c.grace)
			got := w.stored(t, k.ID)
			if c.ok {
				must(t, err)
				if !got.Matches(hashOf(t, raw), t0) {
					t.Fatal("rotation did not take")
				}
				return
			}
			wantFault(t, err, fault.Invalid, "invalid_grace_period", "grace_period_seconds")
			if raw != "" || !bytes.Equal(got.Hash, k.Hash) || got.RotatedAt != nil {
				t.Fatalf("a refused rotation changed the key: %+v", got)
			}
			if ev := w.events.Take(); len(ev) != 0 {
				t.Fatalf("a refused rotation announced %v", ev)
			}
		})
	}
}

func TestRotateOthersKeysNeedsApikeysWrite(t *testing.T) {
	ks := newKeySet(t)
	_, _, err := ks.keys.Rotate(ks.ctx, ks.memberS, ks.adminKey.ID, 0)
	wantFault(t, err, fault.NotFound, "api_key_not_found", "")
	_, _, err = ks.keys.Rotate(ks.ctx, ks.reader, ks.adminKey.ID, 0)
	wantFault(t, err, fault.Forbidden, "permission_denied", "")
	if got := ks.stored(t, ks.adminKey.ID); !bytes.Equal(got.Hash, ks.adminKey.Hash) {
		t.Fatal("a refused rotation changed the key")
	}
	_, raw, err := ks.keys.Rotate(ks.ctx, ks.ownerS, ks.memberKey.ID, 0)
	must(t, err)
	if !ks.stored(t, ks.memberKey.ID).Matches(hashOf(t, raw), t0) {
		t.Fatal("the owner's rotation did not take")
	}
	_, _, err = ks.keys.Rotate(ks.ctx, ks.memberS, ks.agentKey.ID, 0)
	must(t, err)
}

// TestNarrowKeyCannotTakeOverItsHoldersWiderKey checks that a credential
// bounded to few scopes cannot obtain the secret of a wider key by rotating
// it: a key never does more than whoever made it.
func TestNarrowKeyCannotTakeOverItsHoldersWiderKey(t *testing.T) {
	w := newWorld(t)
	narrow, _ := w.create(t, w.adminS, apikey.NewKey{Name: "ci", Scopes: []string{"tenant:read"}})
	wide, _ := w.create(t, w.adminS, apikey.NewKey{Name: "deploy", Scopes: []string{"apikeys:write", "members:write", "tenant:read"}})
	narrowS := w.keyCaller(t, narrow)

	_, raw, err := w.keys.Rotate(w.ctx, narrowS, wide.ID, 0)
	if err == nil || raw != "" {
		t.Fatalf("a tenant:read key rotated an apikeys:write key and got its secret %q", raw)
	}
	if got := w.stored(t, wide.ID); !bytes.Equal(got.Hash, wide.Hash) {
		t.Fatal("the wider key's secret changed")
	}
}

func TestListPagesAndFilters(t *testing.T) {
	ks := newKeySet(t)
	var mine []string
	for range 3 {
		k, _ := ks.create(t, ks.memberS, apikey.NewKey{})
		mine = append(mine, k.ID)
	}
	mine = append(mine, ks.memberKey.ID)
	slices.Sort(mine)
	sorted := func(ids ...string) []string { return slices.Sorted(slices.Values(ids)) }
	agentKeyS := ks.keyCaller(t, ks.agentKey)

	// listAll walks every page of two and returns the ids in order.
	listAll := func(t *testing.T, ac identity.ActorContext, actorID string, includeRevoked bool) []string {
		t.Helper()
		var out []string
		p := cursor.Page{Limit: 2}
		for pages := 0; ; pages++ {
			page, err := ks.keys.List(ks.ctx, ac, ks.tenantA, actorID, includeRevoked, p)
			must(t, err)
			if len(page) > 2 {
				t.Fatalf("page of %d, over the limit", len(page))
			}
			for _, k := range page {
				if k.TenantID != ks.tenantA {
					t.Fatalf("listed a key of %s", k.TenantID)
				}
				out = append(out, k.ID)
			}
			if len(page) < p.Limit {
				return out
			}
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			p.After = page[len(page)-1].ID
		}
	}
	for _, c := range []struct {
		name    string
		caller  identity.ActorContext
		actorID string
		want    []string
	}{
		{"owner, every holder", ks.ownerS, "", sorted(append(slices.Clone(mine), ks.agentKey.ID, ks.adminKey.ID)...)},
		{"owner, by the member", ks.ownerS, ks.member.ActorID(), mine},
		{"owner, by the agent", ks.ownerS, ks.agent.ActorID(), []string{ks.agentKey.ID}},
		{"holder of apikeys:read, by the admin", ks.reader, ks.admin.ActorID(), []string{ks.adminKey.ID}},
		{"member, own and own agent's", ks.memberS, "", sorted(append(slices.Clone(mine), ks.agentKey.ID)...)},
		{"member, by own agent", ks.memberS, ks.agent.ActorID(), []string{ks.agentKey.ID}},
		{"member, by the admin", ks.memberS, ks.admin.ActorID(), nil},
		{"agent's key, its own only", agentKeyS, "", []string{ks.agentKey.ID}},
		{"agent's key, by its owner", agentKeyS, ks.member.ActorID(), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := listAll(t, c.caller, c.actorID, false); !slices.Equal(got, c.want) {
				t.Fatalf("listed %v, want %v", got, c.want)
			}
		})
	}

	// A page without a limit takes the default, which holds them all.
	all, err := ks.keys.List(ks.ctx, ks.ownerS, ks.tenantA, "", false, cursor.Page{})
	must(t, err)
	if len(all) != len(mine)+2 {
		t.Fatalf("default page of %d keys, want %d", len(all), len(mine)+2)
	}

	// Revoked keys are listed only when asked for.
	must(t, ks.keys.Revoke(ks.ctx, ks.memberS, mine[1]))
	if got := listAll(t, ks.memberS, ks.member.ActorID(), false); slices.Contains(got, mine[1]) || len(got) != len(mine)-1 {
		t.Fatalf("without revoked: %v", got)
	}
	if got := listAll(t, ks.memberS, ks.member.ActorID(), true); !slices.Equal(got, mine) {
		t.Fatalf("with revoked: %v, want %v", got, mine)
	}

	for _, c := range []struct {
		name   string
		caller identity.ActorContext
		tenant string
	}{
		{"tenant B's owner in A", ks.outBS, ks.tenantA},
		{"A's key in B", agentKeyS, ks.tenantB},
		{"platform admin outside the tenant", ks.rootS, ks.tenantA},
		{"malformed tenant", ks.ownerS, "x' OR 1=1"},
		{"missing tenant", ks.ownerS, ids.New()},
	} {
		t.Run(c.name, func(t *testing.T) {
			list, err := ks.keys.List(ks.ctx, c.caller, c.tenant, "", true, cursor.Page{})
			wantFault(t, err, fault.NotFound, "tenant_not_found", "")
			if list != nil {
				t.Fatalf("listed %v", list)
			}
		})
	}
}

func TestSetRateLimitIsForPlatformAdmins(t *testing.T) {
	ks := newKeySet(t)
	rootKeyS := identity.ActorContext{
		ActorID: ks.root.ActorID(), TenantID: ks.tenantA, Credential: identity.CredentialAPIKey, Permissions: []string{"apikeys:read", "apikeys:write"},
	}
	for _, c := range []struct {
		name   string
		caller identity.ActorContext
		id     string
		spec   string
		kind   fault.Kind
		code   string
		field  string
	}{
		{"holder", ks.memberS, ks.memberKey.ID, "2/h", fault.Forbidden, "platform_admin_required", ""},
		{"holder removing it", ks.memberS, ks.memberKey.ID, "", fault.Forbidden, "platform_admin_required", ""},
		{"holder through the key", ks.keyCaller(t, ks.memberKey), ks.memberKey.ID, "100000/1m", fault.Forbidden, "platform_admin_required", ""},
		{"tenant owner", ks.ownerS, ks.memberKey.ID, "2/h", fault.Forbidden, "platform_admin_required", ""},
		{"platform admin through a key", rootKeyS, ks.memberKey.ID, "2/h", fault.Forbidden, "platform_admin_required", ""},
		{"member, someone else's key", ks.memberS, ks.adminKey.ID, "2/h", fault.NotFound, "api_key_not_found", ""},
		{"tenant B's owner", ks.outBS, ks.memberKey.ID, "2/h", fault.NotFound, "api_key_not_found", ""},
		{"platform admin, missing key", ks.rootS, ids.New(), "2/h", fault.NotFound, "api_key_not_found", ""},
		{"platform admin, malformed id", ks.rootS, "nope", "2/h", fault.NotFound, "api_key_not_found", ""},
		{"platform admin, bad spec", ks.rootS, ks.memberKey.ID, "lots", fault.Invalid, "invalid_rate_limit", "rate_limit"},
		{"platform admin, zero rate", ks.rootS, ks.memberKey.ID, "0/1m", fault.Invalid, "invalid_rate_limit", "rate_limit"},
		{"platform admin, bad strategy option", ks.rootS, ks.memberKey.ID, "10/1m sliding_window burst=2", fault.Invalid, "invalid_rate_limit", "rate_limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, err := ks.keys.SetRateLimit(ks.ctx, c.caller, c.id, c.spec)
			wantFault(t, err, c.kind, c.code, c.field)
			if k.ID != "" {
				t.Fatalf("a refused change returned %+v", k)
			}
		})
	}
	if got := ks.stored(t, ks.memberKey.ID); got.RateLimit != "" {
		t.Fatalf("refused changes set %q", got.RateLimit)
	}
	if ev := ks.events.Take(); len(ev) != 0 {
		t.Fatalf("refused changes announced %v", ev)
	}

	// Root belongs to neither tenant and sets the limit of a key in either.
	for _, k := range []apikey.Key{ks.memberKey, ks.bKey} {
		set, err := ks.keys.SetRateLimit(ks.ctx, ks.rootS, k.ID, "2/h")
		must(t, err)
		if set.ID != k.ID || set.RateLimit != "2/1h" || ks.stored(t, k.ID).RateLimit != "2/1h" {
			t.Fatalf("set %+v", set)
		}
		want := []event.Event{{Kind: event.KindCredentialChanged, ID: k.ID, At: t0}}
		sameEvents(t, ks.events.Take(), want)
	}
	// "" removes it.
	cleared, err := ks.keys.SetRateLimit(ks.ctx, ks.rootS, ks.memberKey.ID, "")
	must(t, err)
	if cleared.RateLimit != "" || ks.stored(t, ks.memberKey.ID).RateLimit != "" {
		t.Fatalf("cleared %+v", cleared)
	}
	if ev := ks.events.Take(); len(ev) != 1 || ev[0].Kind != event.KindCredentialChanged {
		t.Fatalf("removal announced %v", ev)
	}
}

func TestKeyUsable(t *testing.T) {
	end := t0.Add(time.Hour)
	revoked := t0.Add(-time.Minute)
	for _, c := range []struct {
		name string
		key  apikey.Key
		at   time.Time
		code string
	}{
		{"live without expiry", apikey.Key{}, t0, ""},
		{"before its expiry", apikey.Key{ExpiresAt: &end}, end.Add(-time.Nanosecond), ""},
		{"at its expiry", apikey.Key{ExpiresAt: &end}, end, "api_key_expired"},
		{"after its expiry", apikey.Key{ExpiresAt: &end}, end.Add(time.Hour), "api_key_expired"},
		{"revoked", apikey.Key{RevokedAt: &revoked}, t0, "api_key_revoked"},
		{"revoked and expired: revocation wins", apikey.Key{RevokedAt: &revoked, ExpiresAt: &end}, end.Add(time.Hour), "api_key_revoked"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.key.Usable(c.at)
			if c.code == "" {
				must(t, err)
				return
			}
			wantFault(t, err, fault.Unauthenticated, c.code, "")
		})
	}
}

func TestKeyMatches(t *testing.T) {
	cur, prev, other := sha256.Sum256([]byte("current")), sha256.Sum256([]byte("previous")), sha256.Sum256([]byte("other"))
	end := t0.Add(time.Minute)
	graced := apikey.Key{Hash: cur[:], PreviousHash: prev[:], PreviousExpiresAt: &end}
	for _, c := range []struct {
		name string
		key  apikey.Key
		hash []byte
		at   time.Time
		want bool
	}{
		{"current secret", apikey.Key{Hash: cur[:]}, cur[:], t0, true},
		{"current secret during a grace", graced, cur[:], t0, true},
		{"current secret after a grace", graced, cur[:], end.Add(time.Hour), true},
		{"previous secret during its grace", graced, prev[:], t0, true},
		{"previous secret when its grace ends", graced, prev[:], end, false},
		{"previous secret without an end", apikey.Key{Hash: cur[:], PreviousHash: prev[:]}, prev[:], t0, false},
		{"another secret", graced, other[:], t0, false},
		{"a truncated hash", graced, cur[:16], t0, false},
		{"no hash", graced, nil, t0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.key.Matches(c.hash, c.at); got != c.want {
				t.Fatalf("Matches = %v, want %v", got, c.want)
			}
		})
	}
}

// TestSecretsAreCheckedBeforeAndAtTheRecord follows the verifier's path:
// parse the presented string, find the record by the id it carries, compare
// the hash. Altered strings fail the parse; well-formed strangers fail the
// lookup or the compare.
func TestSecretsAreCheckedBeforeAndAtTheRecord(t *testing.T) {
	w := newWorld(t)
	k, raw := w.create(t, w.memberS, apikey.NewKey{})
	sibling, siblingRaw := w.create(t, w.memberS, apikey.NewKey{})
	record := w.stored(t, k.ID)
	forged, _ := secret.Generate(secret.KeyPrefix, secret.EnvLive, ids.New())
	lastChanged := []byte(raw)
	lastChanged[len(lastChanged)-1] = map[bool]byte{true: '0', false: '1'}[lastChanged[len(lastChanged)-1] != '0']

	for _, c := range []struct{ name, raw string }{
		{"wrong checksum", string(lastChanged)},
		{"truncated", raw[:len(raw)-1]},
		{"extended", raw + "0"},
		{"other environment", strings.Replace(raw, "tg_live_", "tg_test_", 1)},
		{"client secret prefix", "tgcs" + raw[2:]},
		{"bare prefix", "tg_"},
		{"another key's id", strings.Replace(raw, k.ID, sibling.ID, 1)},
		{"overlong", raw + strings.Repeat("0", 200)},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := secret.Parse(c.raw, secret.KeyPrefix, "api_key")
			wantFault(t, err, fault.Unauthenticated, "invalid_api_key", "")
		})
	}

	p, err := secret.Parse(forged, secret.KeyPrefix, "api_key")
	must(t, err)
	_, err = w.st.GetAPIKey(w.ctx, p.ID)
	wantFault(t, err, fault.NotFound, "api_key_not_found", "")

	p, err = secret.Parse(raw, secret.KeyPrefix, "api_key")
	must(t, err)
	if p.ID != k.ID || !record.Matches(p.Hash[:], t0) {
		t.Fatalf("the key's own secret: id %s, matches %v", p.ID, record.Matches(p.Hash[:], t0))
	}
	if record.Matches(hashOf(t, siblingRaw), t0) {
		t.Fatal("another key's secret opens this key")
	}
}
