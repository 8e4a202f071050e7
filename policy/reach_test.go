package policy_test

import (
	"testing"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/policy"
)

// TestServiceReachBoundsWritesAndQuestions walks the acts a service may
// do with the scope and reach each needs: asking needs authz:check,
// writing authz:write, and both only in the tenants and on the resource
// types the service is registered for.
func TestServiceReachBoundsWritesAndQuestions(t *testing.T) {
	w := newPDP(t)
	w.registerGeneral()
	A, B := w.tenantA.ID, w.tenantB.ID
	onlyB := reaching(writer(), []string{B}, identity.Everything)
	channels := reaching(writer(), []string{A}, "channel")
	send := policy.Request{Principal: w.member.ActorID(), Action: "SEND_MESSAGE", Resource: policy.ResourceRef{Type: "channel", ID: "general"}}
	tool := policy.Request{Principal: w.member.ActorID(), Action: "EXECUTE_TOOL", Resource: policy.ResourceRef{Type: "tool", ID: "t"}}
	acts := map[string]func(ac identity.ActorContext) error{
		"put policies": func(ac identity.ActorContext) error {
			_, err := w.svc.PutPolicies(w.ctx, ac, A, permitAdminRead, nil)
			return err
		},
		"roll back": func(ac identity.ActorContext) error { _, err := w.svc.Rollback(w.ctx, ac, A, 1); return err },
		"delete a channel": func(ac identity.ActorContext) error {
			return w.svc.DeleteResource(w.ctx, ac, A, "channel", "nope")
		},
		"register a tool": func(ac identity.ActorContext) error {
			_, err := w.svc.PutResources(w.ctx, ac, A, []policy.Resource{{Type: "tool", ID: "t"}})
			return err
		},
		"ask a batch with a tool": func(ac identity.ActorContext) error {
			_, err := w.svc.AuthorizeBatch(w.ctx, ac, A, []policy.Request{send, tool})
			return err
		},
		"look up tools": func(ac identity.ActorContext) error {
			_, err := w.svc.Lookup(w.ctx, ac, A, policy.LookupQuery{Principal: w.member.ActorID(), Action: "EXECUTE_TOOL", ResourceType: "tool"})
			return err
		},
		"validate with no tenant": func(ac identity.ActorContext) error { return w.svc.Validate(w.ctx, ac, "", permitAdminRead) },
	}
	cases := []struct {
		act  string
		ac   identity.ActorContext
		want fails
	}{
		// Rollback finds no version 1 until a write made one: not found is
		// past every check of the caller.
		{"put policies", checker(), scopeRequired},
		{"put policies", onlyB, notRegistered},
		{"put policies", channels, typeNotRegistered},
		{"put policies", writer(), ok},
		{"roll back", checker(), scopeRequired},
		{"roll back", onlyB, notRegistered},
		{"roll back", channels, typeNotRegistered},
		{"roll back", writer(), ok},
		{"delete a channel", checker(), scopeRequired},
		{"delete a channel", onlyB, notRegistered},
		{"delete a channel", reaching(writer(), []string{A}, "tool"), typeNotRegistered},
		{"register a tool", checker(), scopeRequired},
		{"register a tool", channels, typeNotRegistered},
		{"register a tool", reaching(writer(), []string{A}, "tool"), ok},
		{"ask a batch with a tool", channels, typeNotRegistered},
		{"ask a batch with a tool", onlyB, notRegistered},
		{"ask a batch with a tool", checker(), ok},
		{"look up tools", channels, typeNotRegistered},
		{"look up tools", onlyB, notRegistered},
		{"look up tools", checker(), ok},
		{"validate with no tenant", service(policy.ScopeAuthzWrite), ok},
		{"validate with no tenant", service("ratelimit:check"), permDenied},
	}
	for _, c := range cases {
		t.Run(c.act+" as "+name(c.ac), func(t *testing.T) { c.want.check(t, acts[c.act](c.ac)) })
	}
}

// TestServiceOfOneTenantCannotWriteAnother replays the attack the reach
// closes: a service writing a permit-all into a tenant it does not serve.
func TestServiceOfOneTenantCannotWriteAnother(t *testing.T) {
	w := newPDP(t)
	A := w.tenantA.ID
	rogue := reaching(writer(), []string{w.tenantB.ID}, identity.Everything)
	_, err := w.svc.PutPolicies(w.ctx, rogue, A, "permit (principal, action, resource);", nil)
	notRegistered.check(t, err)
	ps, err := w.svc.Policies(w.ctx, session(w.owner, A), A)
	if err != nil || ps.Version != 0 {
		t.Fatalf("tenant A's policies after the attempt: version %d, %v", ps.Version, err)
	}
	d, err := w.svc.Authorize(w.ctx, checker(), A, policy.Request{Principal: w.stranger.ActorID(), Action: "MANAGE_TENANT",
		Resource: policy.ResourceRef{Type: "tenant", ID: A}})
	if err != nil || d.Permitted() {
		t.Fatalf("an outsider managing tenant A: %v %v", d, err)
	}
}

// name tells the services of these tests apart in subtest names.
func name(ac identity.ActorContext) string {
	return ac.Scopes[len(ac.Scopes)-1] + " in " + reachName(ac.Tenants) + " on " + reachName(ac.ResourceTypes)
}

func reachName(l []string) string {
	if len(l) == 1 && l[0] != identity.Everything && len(l[0]) > 8 {
		return "one tenant"
	}
	return l[0]
}
