package policy_test

import (
	"slices"
	"testing"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/policy"
)

// TestCredentialScopesBoundDecisions asks as an admin through credentials
// of several widths: a narrower credential is never permitted an
// administration action its permissions lack, whatever the policies say
// of its holder; channel actions stay the policies' alone.
func TestCredentialScopesBoundDecisions(t *testing.T) {
	w := newPDP(t)
	w.registerGeneral()
	A := w.tenantA.ID
	// The tenant lets agents manage it, so that only the credential's
	// scopes can refuse a delegated token.
	if _, err := w.svc.PutPolicies(w.ctx, session(w.owner, A), A,
		`@id("agents_manage") permit (principal is Agent, action == Action::"MANAGE_TENANT", resource is Tenant);`, nil); err != nil {
		t.Fatal(err)
	}
	tenant := policy.ResourceRef{Type: "tenant", ID: A}
	manageKeys := policy.Request{Action: "MANAGE_API_KEYS", Resource: tenant}
	manageTenant := policy.Request{Action: "MANAGE_TENANT", Resource: tenant}
	viewTenant := policy.Request{Action: "VIEW_TENANT", Resource: tenant}
	send := policy.Request{Action: "SEND_MESSAGE", Resource: policy.ResourceRef{Type: "channel", ID: "general"}}
	delegated := func(perms ...string) identity.ActorContext {
		return identity.ActorContext{ActorID: "agent:x", ActorType: identity.ActorAgent, TenantID: A,
			Credential: identity.CredentialDelegation, OnBehalfOf: w.admin.ActorID(), Permissions: perms, Scopes: perms}
	}
	asService := func(r policy.Request) policy.Request { r.Principal = w.admin.ActorID(); return r }
	cases := []struct {
		name     string
		ac       identity.ActorContext
		req      policy.Request
		decision string
		reason   string
	}{
		{"the admin's session manages keys", session(w.admin, A), manageKeys, policy.Permit, ""},
		{"the admin's tenant:read key may not manage keys", apiKey(w.admin, A, identity.PermTenantRead), manageKeys, policy.Deny, policy.ReasonCredentialScope},
		{"the admin's tenant:read key views the tenant", apiKey(w.admin, A, identity.PermTenantRead), viewTenant, policy.Permit, ""},
		{"the admin's apikeys:write key manages keys", apiKey(w.admin, A, identity.PermTenantRead, identity.PermAPIKeysWrite), manageKeys, policy.Permit, ""},
		{"a key's scope does not widen what the policies give", apiKey(w.member, A, identity.PermTenantRead, identity.PermAPIKeysWrite), manageKeys, policy.Deny, policy.ReasonDefaultDeny},
		{"a delegated tenant:read token may not manage the tenant", delegated("tenant:read"), manageTenant, policy.Deny, policy.ReasonCredentialScope},
		{"a delegated tenant:write token manages the tenant", delegated("tenant:read", "tenant:write"), manageTenant, policy.Permit, ""},
		{"a member's tenant:read key still sends to its channel", apiKey(w.member, A, identity.PermTenantRead), send, policy.Permit, ""},
		{"a service asking about the admin is not bounded", checker(), asService(manageKeys), policy.Permit, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tenantID := ""
			if c.ac.ActorType == identity.ActorService {
				tenantID = A
			}
			d, err := w.svc.Authorize(w.ctx, c.ac, tenantID, c.req)
			if err != nil {
				t.Fatal(err)
			}
			if d.Decision != c.decision || c.reason != "" && !slices.Equal(d.Reasons, []string{c.reason}) {
				t.Fatalf("decision %s %v %v, want %s %s", d.Decision, d.Reasons, d.Errors, c.decision, c.reason)
			}
			// A batch decides the same.
			ds, err := w.svc.AuthorizeBatch(w.ctx, c.ac, tenantID, []policy.Request{c.req})
			if err != nil || ds[0].Decision != d.Decision || !slices.Equal(ds[0].Reasons, d.Reasons) {
				t.Fatalf("batch: %+v %v, want %s %v", ds, err, d.Decision, d.Reasons)
			}
		})
	}
}
