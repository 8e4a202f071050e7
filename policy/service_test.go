package policy_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/policy"
)

// denyGeneral forbids sending to the channel "general".
const denyGeneral = `@id("no_send_general")
forbid (principal, action == Action::"SEND_MESSAGE", resource == Channel::"general");
`

// permitAdminRead is a second, different valid text.
const permitAdminRead = `@id("admins_read")
permit (principal is User, action == Action::"READ", resource is Channel)
when { principal.roles.contains("admin") };
`

// registerGeneral registers the channel "general" in tenant A with the
// member as its member, as a service would.
func (w *pdpWorld) registerGeneral() {
	w.t.Helper()
	if _, err := w.svc.PutResources(w.ctx, writer(), w.tenantA.ID, []policy.Resource{channel("general", w.member.ActorID())}); err != nil {
		w.t.Fatal(err)
	}
	w.takeChanged()
}

func TestAuthorizeDecidesWhoMayAskAboutWhom(t *testing.T) {
	w := newPDP(t)
	w.registerGeneral()
	send := policy.Request{Action: "SEND_MESSAGE", Resource: policy.ResourceRef{Type: "channel", ID: "general"}}
	with := func(f func(*policy.Request)) policy.Request { r := send; f(&r); return r }
	delegated := identity.ActorContext{ActorID: "agent:x", ActorType: identity.ActorAgent, TenantID: w.tenantA.ID,
		Credential: identity.CredentialDelegation, OnBehalfOf: w.member.ActorID()}
	cases := []struct {
		name     string
		ac       identity.ActorContext
		tenantID string
		req      policy.Request
		want     fails
		decision string
	}{
		{"a member asks about themself in their tenant", session(w.member, w.tenantA.ID), "", send, ok, policy.Permit},
		{"a member may name their own tenant", session(w.member, w.tenantA.ID), w.tenantA.ID, send, ok, policy.Permit},
		{"a non-member of the channel is denied", session(w.admin, w.tenantA.ID), "", with(func(r *policy.Request) { r.Action = "EXECUTE_TOOL" }), ok, policy.Deny},
		{"a member naming tenant B gets tenant_not_found", session(w.member, w.tenantA.ID), w.tenantB.ID, send, tenantNotFound, ""},
		{"a person with no tenant selected is refused", session(w.member, ""), w.tenantA.ID, send,
			fails{kind: fault.Forbidden, code: policy.CodeTenantNotSelected}, ""},
		{"a member may not ask about another principal", session(w.member, w.tenantA.ID), "",
			with(func(r *policy.Request) { r.Principal = w.admin.ActorID() }), principalNotYou, ""},
		{"a member may name themself as principal", session(w.member, w.tenantA.ID), "",
			with(func(r *policy.Request) { r.Principal = w.member.ActorID() }), ok, policy.Permit},
		{"on_behalf_of other than the delegation is refused", delegated, "",
			with(func(r *policy.Request) { r.OnBehalfOf = w.admin.ActorID() }), principalNotYou, ""},
		{"a service with authz:check asks about a member", checker(), w.tenantA.ID,
			with(func(r *policy.Request) { r.Principal = w.member.ActorID() }), ok, policy.Permit},
		{"a service without authz:check is refused", service("other:scope"), w.tenantA.ID,
			with(func(r *policy.Request) { r.Principal = w.member.ActorID() }), scopeRequired, ""},
		{"a service must name the tenant", checker(), "",
			with(func(r *policy.Request) { r.Principal = w.member.ActorID() }),
			fails{kind: fault.Invalid, code: identity.CodeTenantRequired, field: "tenant_id"}, ""},
		{"a service naming a missing tenant gets tenant_not_found", checker(), missingTenant,
			with(func(r *policy.Request) { r.Principal = w.member.ActorID() }), tenantNotFound, ""},
		{"a service naming a malformed tenant gets tenant_not_found", checker(), "bad\x00id",
			with(func(r *policy.Request) { r.Principal = w.member.ActorID() }), tenantNotFound, ""},
		{"a service must name the principal", checker(), w.tenantA.ID, send,
			fails{kind: fault.Invalid, code: policy.CodePrincipalRequired, field: "principal"}, ""},
		{"a service with authz:write alone may not ask", service(policy.ScopeAuthzWrite), w.tenantA.ID,
			with(func(r *policy.Request) { r.Principal = w.member.ActorID() }), scopeRequired, ""},
		{"a service registered for tenant B only may not ask about A", reaching(checker(), []string{w.tenantB.ID}, "*"), w.tenantA.ID,
			with(func(r *policy.Request) { r.Principal = w.member.ActorID() }), notRegistered, ""},
		{"a service registered for tools only may not ask about a channel", reaching(checker(), []string{w.tenantA.ID}, "tool"), w.tenantA.ID,
			with(func(r *policy.Request) { r.Principal = w.member.ActorID() }), typeNotRegistered, ""},
		{"a service may not bring entities of a type outside its reach", reaching(checker(), []string{w.tenantA.ID}, "channel"), w.tenantA.ID,
			with(func(r *policy.Request) {
				r.Principal, r.Entities = w.member.ActorID(), []policy.Resource{{Type: "tool", ID: "t"}}
			}), typeNotRegistered, ""},
		{"a service registered for A and channels asks", reaching(checker(), []string{w.tenantA.ID}, "channel"), w.tenantA.ID,
			with(func(r *policy.Request) { r.Principal = w.member.ActorID() }), ok, policy.Permit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := w.svc.Authorize(w.ctx, c.ac, c.tenantID, c.req)
			c.want.check(t, err)
			if err == nil && d.Decision != c.decision {
				t.Fatalf("decision %s (%v), want %s", d.Decision, d.Reasons, c.decision)
			}
		})
	}
}

func TestAuthorizeBatchBoundsAndAppliesTheCallerToEachRequest(t *testing.T) {
	w := newPDP(t)
	w.registerGeneral()
	send := policy.Request{Action: "SEND_MESSAGE", Resource: policy.ResourceRef{Type: "channel", ID: "general"}}
	read := send
	read.Action = "MANAGE"
	memberSend := send
	memberSend.Principal = w.member.ActorID()

	t.Run("decisions come back in order", func(t *testing.T) {
		ds, err := w.svc.AuthorizeBatch(w.ctx, session(w.member, w.tenantA.ID), "", []policy.Request{send, read})
		if err != nil {
			t.Fatal(err)
		}
		if got := []string{ds[0].Decision, ds[1].Decision}; !slices.Equal(got, []string{policy.Permit, policy.Deny}) {
			t.Fatalf("decisions %v, want permit, deny", got)
		}
	})
	cases := []struct {
		name     string
		ac       identity.ActorContext
		tenantID string
		reqs     []policy.Request
		want     fails
	}{
		{"an empty batch is refused", session(w.member, w.tenantA.ID), "", nil,
			fails{kind: fault.Invalid, code: policy.CodeInvalidBatch, field: "requests"}},
		{"a batch over MaxBatch is refused", session(w.member, w.tenantA.ID), "", make([]policy.Request, policy.MaxBatch+1),
			fails{kind: fault.Invalid, code: policy.CodeInvalidBatch, field: "requests"}},
		{"a member naming tenant B gets tenant_not_found", session(w.member, w.tenantA.ID), w.tenantB.ID, []policy.Request{send}, tenantNotFound},
		{"a member asking about another principal in the batch is refused", session(w.member, w.tenantA.ID), "",
			[]policy.Request{send, memberSend, {Principal: w.admin.ActorID(), Action: "READ", Resource: send.Resource}}, principalNotYou},
		{"a service's request without principal names its index", checker(), w.tenantA.ID, []policy.Request{memberSend, send},
			fails{kind: fault.Invalid, code: policy.CodePrincipalRequired, field: "requests[1].principal"}},
		{"a service's batch about members is answered", checker(), w.tenantA.ID, []policy.Request{memberSend}, ok},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ds, err := w.svc.AuthorizeBatch(w.ctx, c.ac, c.tenantID, c.reqs)
			c.want.check(t, err)
			if err == nil && len(ds) != len(c.reqs) {
				t.Fatalf("%d decisions for %d requests", len(ds), len(c.reqs))
			}
		})
	}
}

func TestLookupListsWhatThePrincipalMayActOnPageByPage(t *testing.T) {
	w := newPDP(t)
	m := w.member.ActorID()
	if _, err := w.svc.PutResources(w.ctx, writer(), w.tenantA.ID, []policy.Resource{
		channel("c1", m), channel("c2"), channel("c3", m), channel("c4", m),
	}); err != nil {
		t.Fatal(err)
	}
	q := policy.LookupQuery{Action: "READ", ResourceType: "channel"}

	t.Run("a member pages through the channels they may read", func(t *testing.T) {
		var got []string
		page := q
		page.Limit = 2
		for i := 0; ; i++ {
			if i > 4 {
				t.Fatalf("no end after %d pages: %v", i, got)
			}
			p, err := w.svc.Lookup(w.ctx, session(w.member, w.tenantA.ID), "", page)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.IDs) > 2 {
				t.Fatalf("page of %d over limit 2", len(p.IDs))
			}
			got = append(got, p.IDs...)
			if p.NextCursor == "" {
				break
			}
			page.Cursor = p.NextCursor
		}
		if !slices.Equal(got, []string{"c1", "c3", "c4"}) {
			t.Fatalf("ids %v, want c1 c3 c4", got)
		}
	})
	t.Run("a service looks up for a named principal", func(t *testing.T) {
		sq := q
		sq.Principal = m
		p, err := w.svc.Lookup(w.ctx, checker(), w.tenantA.ID, sq)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.IDs, []string{"c1", "c3", "c4"}) || p.NextCursor != "" {
			t.Fatalf("page %+v, want c1 c3 c4 and no cursor", p)
		}
	})
	withQ := func(f func(*policy.LookupQuery)) policy.LookupQuery { c := q; f(&c); return c }
	cases := []struct {
		name     string
		ac       identity.ActorContext
		tenantID string
		q        policy.LookupQuery
		want     fails
	}{
		{"a member naming tenant B gets tenant_not_found", session(w.member, w.tenantA.ID), w.tenantB.ID, q, tenantNotFound},
		{"a member may not look up for another principal", session(w.member, w.tenantA.ID), "",
			withQ(func(c *policy.LookupQuery) { c.Principal = w.admin.ActorID() }), principalNotYou},
		{"a service must name the principal", checker(), w.tenantA.ID, q,
			fails{kind: fault.Invalid, code: policy.CodePrincipalRequired, field: "principal"}},
		{"a service without authz:check is refused", service(), w.tenantA.ID, withQ(func(c *policy.LookupQuery) { c.Principal = m }), scopeRequired},
		{"only registrable types are listed", session(w.member, w.tenantA.ID), "",
			withQ(func(c *policy.LookupQuery) { c.ResourceType = "tenant" }),
			fails{kind: fault.Invalid, code: policy.CodeInvalidAuthorizationRequest, field: "resource_type"}},
		{"a limit over the maximum is refused", session(w.member, w.tenantA.ID), "",
			withQ(func(c *policy.LookupQuery) { c.Limit = policy.MaxLookupLimit + 1 }),
			fails{kind: fault.Invalid, code: cursor.CodeInvalidLimit, field: "limit"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.svc.Lookup(w.ctx, c.ac, c.tenantID, c.q)
			c.want.check(t, err)
		})
	}
}

// TestWhoMayManageResourcesAndPolicies covers canManage through the three
// permissions it is asked for: tenant:read (GetResource), policies:read
// (Policies) and policies:write (PutResources).
func TestWhoMayManageResourcesAndPolicies(t *testing.T) {
	w := newPDP(t)
	w.registerGeneral()
	A := w.tenantA.ID
	type rights struct{ read, readPolicies, write fails }
	all := rights{ok, ok, ok}
	cases := []struct {
		name     string
		ac       identity.ActorContext
		tenantID string
		want     rights
	}{
		{"the owner may do everything", session(w.owner, A), A, all},
		{"an admin may do everything", session(w.admin, A), A, all},
		{"a session need not have switched to the tenant", session(w.admin, ""), A, all},
		{"a member may read resources only", session(w.member, A), A, rights{ok, permDenied, permDenied}},
		{"a member of tenant A naming tenant B gets tenant_not_found", session(w.member, A), w.tenantB.ID,
			rights{tenantNotFound, tenantNotFound, tenantNotFound}},
		{"the owner of B naming A gets tenant_not_found", session(w.outB, w.tenantB.ID), A,
			rights{tenantNotFound, tenantNotFound, tenantNotFound}},
		{"a user of no tenant gets tenant_not_found", session(w.stranger, ""), A,
			rights{tenantNotFound, tenantNotFound, tenantNotFound}},
		{"a platform admin may do everything", session(w.root, ""), A, all},
		{"a platform admin naming a missing tenant gets tenant_not_found", session(w.root, ""), missingTenant,
			rights{tenantNotFound, tenantNotFound, tenantNotFound}},
		{"a platform admin's API key has no platform standing", apiKey(w.root, "", identity.PermTenantRead, identity.PermPoliciesWrite), A,
			rights{tenantNotFound, tenantNotFound, tenantNotFound}},
		{"an API key with policies:read and write may do everything",
			apiKey(w.owner, A, identity.PermTenantRead, identity.PermPoliciesRead, identity.PermPoliciesWrite), A, all},
		{"an API key with tenant:read only may read resources",
			apiKey(w.owner, A, identity.PermTenantRead), A, rights{ok, permDenied, permDenied}},
		{"an API key without tenant:read learns nothing of the tenant",
			apiKey(w.owner, A, identity.PermPoliciesRead, identity.PermPoliciesWrite), A,
			rights{tenantNotFound, tenantNotFound, tenantNotFound}},
		{"an API key of tenant A naming tenant B gets tenant_not_found",
			apiKey(w.owner, A, identity.PermTenantRead, identity.PermPoliciesRead, identity.PermPoliciesWrite), w.tenantB.ID,
			rights{tenantNotFound, tenantNotFound, tenantNotFound}},
		{"a service with authz:check may read", checker(), A, rights{ok, ok, scopeRequired}},
		{"a service with authz:check and authz:write may do everything", writer(), A, all},
		{"a service with authz:write alone may do everything", service(policy.ScopeAuthzWrite), A, all},
		{"a service registered for tenant B only is refused in A", reaching(writer(), []string{w.tenantB.ID}, "*"), A,
			rights{notRegistered, notRegistered, notRegistered}},
		{"a service registered for tenant B only learns nothing of a missing tenant", reaching(writer(), []string{w.tenantB.ID}, "*"), missingTenant,
			rights{notRegistered, notRegistered, notRegistered}},
		{"a service registered for tools only may not touch channels", reaching(writer(), []string{A}, "tool"), A,
			rights{typeNotRegistered, ok, typeNotRegistered}},
		{"a service with authz:check naming a missing tenant gets tenant_not_found", writer(), missingTenant,
			rights{tenantNotFound, tenantNotFound, tenantNotFound}},
		{"a service without authz:check is refused", service("audit:read"), A, rights{scopeRequired, scopeRequired, scopeRequired}},
		{"an empty tenant id is tenant_not_found", checker(), "", rights{tenantNotFound, tenantNotFound, tenantNotFound}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.svc.GetResource(w.ctx, c.ac, c.tenantID, "channel", "general")
			t.Run("tenant:read", func(t *testing.T) { c.want.read.check(t, err) })
			_, err = w.svc.Policies(w.ctx, c.ac, c.tenantID)
			t.Run("policies:read", func(t *testing.T) { c.want.readPolicies.check(t, err) })
			_, err = w.svc.PutResources(w.ctx, c.ac, c.tenantID, []policy.Resource{channel("general", w.member.ActorID())})
			t.Run("policies:write", func(t *testing.T) { c.want.write.check(t, err) })
		})
	}
}

func TestPutResourcesRegistersAndAnnounces(t *testing.T) {
	w := newPDP(t)
	A := w.tenantA.ID
	got, err := w.svc.PutResources(w.ctx, session(w.admin, A), A, []policy.Resource{
		{Type: "channel", ID: "general"},
		child(channel("thread", w.member.ActorID()), "general"),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if r.TenantID != A || !r.UpdatedAt.Equal(w.clock.Now()) || r.Parents == nil || r.Attrs == nil {
			t.Fatalf("registered %+v: want tenant %s, updated_at %v, non-nil parents and attrs", r, A, w.clock.Now())
		}
	}
	if ch := w.takeChanged(); !slices.Equal(ch, []string{A + " channel:general", A + " channel:thread"}) {
		t.Fatalf("announced %v, want both resources of %s", ch, A)
	}
	stored, err := w.svc.GetResource(w.ctx, session(w.member, A), A, "channel", "thread")
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Parents) != 1 || stored.Parents[0].ID != "general" {
		t.Fatalf("stored parents %v, want general", stored.Parents)
	}
	// The engine sees the new resource at once.
	d, err := w.svc.Authorize(w.ctx, session(w.member, A), "", policy.Request{Action: "READ",
		Resource: policy.ResourceRef{Type: "channel", ID: "thread"}})
	if err != nil || !d.Permitted() {
		t.Fatalf("member reading the registered thread: %v %v", d, err)
	}
	_, err = w.svc.GetResource(w.ctx, session(w.member, A), A, "channel", "nope")
	wantFault(t, err, fault.NotFound, policy.CodeResourceNotFound)
}

func TestPutResourcesRefusesBadBatches(t *testing.T) {
	w := newPDP(t)
	A := w.tenantA.ID
	if _, err := w.svc.PutResources(w.ctx, writer(), A, []policy.Resource{
		channel("root"), child(channel("mid"), "root"),
	}); err != nil {
		t.Fatal(err)
	}
	w.takeChanged()
	many := make([]policy.Resource, policy.MaxBatch+1)
	for i := range many {
		many[i] = channel("c" + strconv.Itoa(i))
	}
	invalid := func(field string, code fault.Code) fails { return fails{kind: fault.Invalid, code: code, field: field} }
	cases := []struct {
		name string
		rs   []policy.Resource
		want fails
	}{
		{"an empty batch", nil, invalid("resources", policy.CodeInvalidBatch)},
		{"a batch over MaxBatch", many, invalid("resources", policy.CodeInvalidBatch)},
		{"an unregistrable type", []policy.Resource{{Type: "tenant", ID: "x"}}, invalid("type", policy.CodeInvalidAuthorizationRequest)},
		{"a bad resource in a batch names its index", []policy.Resource{channel("ok"), {Type: "usage", ID: "x"}},
			invalid("resources[1].type", policy.CodeInvalidAuthorizationRequest)},
		{"a parent of another type", []policy.Resource{{Type: "tool", ID: "t", Parents: []policy.ResourceRef{{Type: "channel", ID: "root"}}}},
			invalid("parents[0]", policy.CodeInvalidAuthorizationRequest)},
		{"its own parent", []policy.Resource{child(channel("self"), "self")}, invalid("parents[0]", policy.CodeInvalidAuthorizationRequest)},
		{"an attribute the schema does not know", []policy.Resource{{Type: "channel", ID: "x", Attrs: map[string]any{"colour": "red"}}},
			invalid("attrs", policy.CodeInvalidAuthorizationRequest)},
		{"the same resource twice", []policy.Resource{channel("a"), channel("b"), channel("a")},
			invalid("resources[2]", policy.CodeDuplicateResource)},
		{"a cycle within the batch", []policy.Resource{child(channel("x"), "y"), child(channel("y"), "x")},
			invalid("resources[0].parents", policy.CodeCyclicParents)},
		{"a cycle through registered resources", []policy.Resource{child(channel("root"), "mid")},
			invalid("resources[0].parents", policy.CodeCyclicParents)},
		{"a longer cycle through registered resources names the resource that closes it",
			[]policy.Resource{channel("z"), child(channel("root"), "leaf"), child(channel("leaf"), "mid")},
			invalid("resources[1].parents", policy.CodeCyclicParents)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.svc.PutResources(w.ctx, writer(), A, c.rs)
			c.want.check(t, err)
			if ch := w.takeChanged(); len(ch) != 0 {
				t.Fatalf("a refused batch announced %v", ch)
			}
		})
	}
	t.Run("a refused batch stores nothing", func(t *testing.T) {
		for _, id := range []string{"ok", "a", "x", "y", "z", "leaf"} {
			_, err := w.svc.GetResource(w.ctx, checker(), A, "channel", id)
			wantFault(t, err, fault.NotFound, policy.CodeResourceNotFound)
		}
	})
	t.Run("re-parenting without a cycle is accepted", func(t *testing.T) {
		if _, err := w.svc.PutResources(w.ctx, writer(), A, []policy.Resource{child(channel("leaf"), "mid", "root")}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDeleteResourceUnregistersAndAnnounces(t *testing.T) {
	w := newPDP(t)
	A := w.tenantA.ID
	w.registerGeneral()
	cases := []struct {
		name     string
		ac       identity.ActorContext
		tenantID string
		id       string
		want     fails
	}{
		{"a member may not unregister", session(w.member, A), A, "general", permDenied},
		{"a member of A naming B gets tenant_not_found", session(w.member, A), w.tenantB.ID, "general", tenantNotFound},
		{"the owner of B naming A gets tenant_not_found", session(w.outB, w.tenantB.ID), A, "general", tenantNotFound},
		{"an admin unregisters a resource", session(w.admin, A), A, "general", ok},
		{"a resource gone is resource_not_found", session(w.admin, A), A, "general",
			fails{kind: fault.NotFound, code: policy.CodeResourceNotFound}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := w.svc.DeleteResource(w.ctx, c.ac, c.tenantID, "channel", c.id)
			c.want.check(t, err)
			ch := w.takeChanged()
			if err == nil && !slices.Equal(ch, []string{A + " channel:" + c.id}) || err != nil && len(ch) != 0 {
				t.Fatalf("announced %v after %v", ch, err)
			}
		})
	}
	t.Run("the engine forgets the resource", func(t *testing.T) {
		d, err := w.svc.Authorize(w.ctx, session(w.member, A), "", policy.Request{Action: "SEND_MESSAGE",
			Resource: policy.ResourceRef{Type: "channel", ID: "general"}})
		if err != nil || d.Permitted() {
			t.Fatalf("member sending to an unregistered channel: %v %v", d, err)
		}
	})
}

func TestPutPoliciesVersionsAndOptimisticConcurrency(t *testing.T) {
	w := newPDP(t)
	A := w.tenantA.ID
	w.registerGeneral()
	admin := session(w.admin, A)
	v := func(n int64) *int64 { return &n }

	ps, err := w.svc.Policies(w.ctx, admin, A)
	if err != nil || ps.Version != 0 || ps.TenantID != A {
		t.Fatalf("policies before any write: %+v %v, want version 0 of %s", ps, err, A)
	}
	ps, err = w.svc.PutPolicies(w.ctx, admin, A, denyGeneral, v(0))
	if err != nil {
		t.Fatal(err)
	}
	if ps.Version != 1 || ps.TenantID != A || ps.CreatedBy != w.admin.ActorID() || !ps.CreatedAt.Equal(w.clock.Now()) || ps.Text != denyGeneral {
		t.Fatalf("first version %+v", ps)
	}
	if ch := w.takeChanged(); !slices.Equal(ch, []string{A}) {
		t.Fatalf("announced %v, want [%s]", ch, A)
	}
	d, err := w.svc.Authorize(w.ctx, session(w.member, A), "", policy.Request{Action: "SEND_MESSAGE",
		Resource: policy.ResourceRef{Type: "channel", ID: "general"}})
	if err != nil || d.Permitted() || d.PolicyVersion != 1 || !slices.Equal(d.Reasons, []string{"no_send_general"}) {
		t.Fatalf("decision under version 1: %+v %v, want a deny by no_send_general", d, err)
	}
	w.clock.Advance(time.Minute)
	if ps, err = w.svc.PutPolicies(w.ctx, admin, A, permitAdminRead, nil); err != nil || ps.Version != 2 {
		t.Fatalf("a write without previous: %+v %v, want version 2", ps, err)
	}
	w.takeChanged()

	cases := []struct {
		name     string
		ac       identity.ActorContext
		tenantID string
		text     string
		previous *int64
		want     fails
	}{
		{"a stale previous version conflicts", admin, A, denyGeneral, v(1),
			fails{kind: fault.Conflict, code: policy.CodePolicyVersionConflict}},
		{"a previous version ahead conflicts", admin, A, denyGeneral, v(7),
			fails{kind: fault.Conflict, code: policy.CodePolicyVersionConflict}},
		{"a syntax error is invalid_policy", admin, A, "permit (", v(2),
			fails{kind: fault.Invalid, code: policy.CodeInvalidPolicy, field: "policies"}},
		{"a default policy's id is invalid_policy", admin, A, `@id("channel_admin") permit (principal, action, resource);`, v(2),
			fails{kind: fault.Invalid, code: policy.CodeInvalidPolicy, field: "policies"}},
		{"naming another tenant is invalid_policy", admin, A,
			`@id("x") permit (principal, action, resource == Tenant::"` + w.tenantB.ID + `");`, v(2),
			fails{kind: fault.Invalid, code: policy.CodeInvalidPolicy, field: "policies"}},
		{"a member may not write", session(w.member, A), A, denyGeneral, v(2), permDenied},
		{"a key with policies:read only may not write", apiKey(w.owner, A, identity.PermTenantRead, identity.PermPoliciesRead), A, denyGeneral, v(2), permDenied},
		{"a member of A naming B gets tenant_not_found", session(w.member, A), w.tenantB.ID, denyGeneral, nil, tenantNotFound},
		{"an admin of A naming B gets tenant_not_found", admin, w.tenantB.ID, denyGeneral, nil, tenantNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.svc.PutPolicies(w.ctx, c.ac, c.tenantID, c.text, c.previous)
			c.want.check(t, err)
			if ch := w.takeChanged(); len(ch) != 0 {
				t.Fatalf("a refused write announced %v", ch)
			}
		})
	}
	t.Run("refused writes leave the current version", func(t *testing.T) {
		cur, err := w.svc.Policies(w.ctx, admin, A)
		if err != nil || cur.Version != 2 || cur.Text != permitAdminRead {
			t.Fatalf("current %+v %v, want version 2", cur, err)
		}
	})
	t.Run("the empty text is a version with no policies", func(t *testing.T) {
		ps, err := w.svc.PutPolicies(w.ctx, writer(), A, "", v(2))
		if err != nil || ps.Version != 3 || ps.CreatedBy != writer().ActorID {
			t.Fatalf("%+v %v, want version 3 by the service", ps, err)
		}
	})
}

func TestRollbackMakesAnOldTextTheNextVersion(t *testing.T) {
	w := newPDP(t)
	A := w.tenantA.ID
	admin := session(w.admin, A)
	for _, text := range []string{denyGeneral, permitAdminRead} {
		if _, err := w.svc.PutPolicies(w.ctx, admin, A, text, nil); err != nil {
			t.Fatal(err)
		}
	}
	w.takeChanged()
	ps, err := w.svc.Rollback(w.ctx, session(w.owner, A), A, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ps.Version != 3 || ps.Text != denyGeneral || ps.CreatedBy != w.owner.ActorID() {
		t.Fatalf("rolled back to %+v, want version 3 with version 1's text by the owner", ps)
	}
	if ch := w.takeChanged(); !slices.Equal(ch, []string{A}) {
		t.Fatalf("announced %v, want [%s]", ch, A)
	}
	cases := []struct {
		name     string
		ac       identity.ActorContext
		tenantID string
		version  int64
		want     fails
	}{
		{"a missing version is policy_version_not_found", admin, A, 9,
			fails{kind: fault.NotFound, code: policy.CodePolicyVersionNotFound}},
		{"a member may not roll back", session(w.member, A), A, 1, permDenied},
		{"a key that may read but not write policies may not roll back",
			apiKey(w.owner, A, identity.PermTenantRead, identity.PermPoliciesRead), A, 1, permDenied},
		{"a member of A naming B gets tenant_not_found", session(w.member, A), w.tenantB.ID, 1, tenantNotFound},
		{"an admin of A naming B gets tenant_not_found", admin, w.tenantB.ID, 1, tenantNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.svc.Rollback(w.ctx, c.ac, c.tenantID, c.version)
			c.want.check(t, err)
			if ch := w.takeChanged(); len(ch) != 0 {
				t.Fatalf("a refused rollback announced %v", ch)
			}
		})
	}
}

func TestPolicyVersionsPagesNewestFirst(t *testing.T) {
	w := newPDP(t)
	A := w.tenantA.ID
	admin := session(w.admin, A)
	texts := []string{denyGeneral, permitAdminRead, ""}
	for _, text := range texts {
		if _, err := w.svc.PutPolicies(w.ctx, admin, A, text, nil); err != nil {
			t.Fatal(err)
		}
	}
	versions := func(ps []policy.PolicySet) []int64 {
		out := make([]int64, len(ps))
		for i, p := range ps {
			out[i] = p.Version
		}
		return out
	}
	t.Run("pages follow the cursor", func(t *testing.T) {
		first, err := w.svc.PolicyVersions(w.ctx, admin, A, cursor.Page{Limit: 2})
		if err != nil || !slices.Equal(versions(first), []int64{3, 2}) {
			t.Fatalf("first page %v %v, want 3 2", versions(first), err)
		}
		for _, p := range first {
			if p.Text != "" {
				t.Fatalf("version %d listed with its text", p.Version)
			}
		}
		next, err := w.svc.PolicyVersions(w.ctx, admin, A, cursor.Page{Limit: 2, After: "2"})
		if err != nil || !slices.Equal(versions(next), []int64{1}) {
			t.Fatalf("second page %v %v, want 1", versions(next), err)
		}
	})
	t.Run("one version is read with its text", func(t *testing.T) {
		ps, err := w.svc.PolicyVersion(w.ctx, apiKey(w.owner, A, identity.PermTenantRead, identity.PermPoliciesRead), A, 2)
		if err != nil || ps.Version != 2 || ps.Text != permitAdminRead {
			t.Fatalf("version 2: %+v %v", ps, err)
		}
		_, err = w.svc.PolicyVersion(w.ctx, admin, A, 4)
		wantFault(t, err, fault.NotFound, policy.CodePolicyVersionNotFound)
	})
	cases := []struct {
		name     string
		ac       identity.ActorContext
		tenantID string
		page     cursor.Page
		want     fails
	}{
		{"a cursor that is not a version is invalid_cursor", admin, A, cursor.Page{After: "v2"},
			fails{kind: fault.Invalid, code: cursor.CodeInvalidCursor, field: "after"}},
		{"a member may not list versions", session(w.member, A), A, cursor.Page{}, permDenied},
		{"a member of A naming B gets tenant_not_found", session(w.member, A), w.tenantB.ID, cursor.Page{}, tenantNotFound},
		{"a service with authz:check lists versions", checker(), A, cursor.Page{}, ok},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.svc.PolicyVersions(w.ctx, c.ac, c.tenantID, c.page)
			c.want.check(t, err)
		})
	}
}

func TestValidateNeedsTheRightToReadPolicies(t *testing.T) {
	w := newPDP(t)
	A := w.tenantA.ID
	invalidPolicy := fails{kind: fault.Invalid, code: policy.CodeInvalidPolicy, field: "policies"}
	otherTenant := `@id("x") permit (principal, action, resource == Tenant::"` + w.tenantB.ID + `");`
	cases := []struct {
		name     string
		ac       identity.ActorContext
		tenantID string
		text     string
		want     fails
	}{
		{"an admin checks a text for their tenant", session(w.admin, A), A, denyGeneral, ok},
		{"a key with policies:read checks a text", apiKey(w.owner, A, identity.PermTenantRead, identity.PermPoliciesRead), A, denyGeneral, ok},
		{"a member may not check", session(w.member, A), A, denyGeneral, permDenied},
		{"a member of A naming B gets tenant_not_found", session(w.member, A), w.tenantB.ID, denyGeneral, tenantNotFound},
		{"an admin of A naming B gets tenant_not_found", session(w.admin, A), w.tenantB.ID, denyGeneral, tenantNotFound},
		{"a bad text is invalid_policy", session(w.admin, A), A, "forbid", invalidPolicy},
		{"a text naming another tenant is invalid_policy", session(w.admin, A), A, otherTenant, invalidPolicy},
		{"with no tenant a service with authz:check may check", checker(), "", denyGeneral, ok},
		{"with no tenant a platform admin may check", session(w.root, ""), "", denyGeneral, ok},
		{"with no tenant a platform admin's text is still checked", session(w.root, ""), "", "forbid", invalidPolicy},
		{"with no tenant an owner may not check", session(w.owner, A), "", denyGeneral, permDenied},
		{"with no tenant a service without authz:check may not check", service("audit:read"), "", denyGeneral, permDenied},
		{"with no tenant a platform admin's API key may not check", apiKey(w.root, "", identity.PermPoliciesRead), "", denyGeneral, permDenied},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.want.check(t, w.svc.Validate(w.ctx, c.ac, c.tenantID, c.text))
		})
	}
}

func TestServiceExposesItsEngine(t *testing.T) {
	w := newPDP(t)
	e := w.svc.Engine()
	if e == nil || e.Compiler() == nil {
		t.Fatal("no engine or compiler")
	}
	if err := e.Known(w.ctx, missingTenant); err == nil {
		t.Fatal("a missing tenant is known")
	}
	if err := e.Known(w.ctx, w.tenantA.ID); err != nil {
		t.Fatal(err)
	}
}
