package policy_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/cedar-policy/cedar-go"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/policy"
)

// fuzzSource serves one tenant whose policy text the fuzz target sets.
type fuzzSource struct {
	mu   sync.Mutex
	text string
}

func (s *fuzzSource) TenantData(_ context.Context, tenantID string) (policy.TenantData, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return policy.TenantData{
		TenantID: tenantID, Active: true, Roles: []string{"moderator"},
		Members: []policy.Member{
			{ActorID: "user:1", Roles: []string{"owner"}, Active: true},
			{ActorID: "user:93", Roles: []string{"member", "moderator"}, Active: true},
		},
		Agents: []policy.AgentInfo{{ActorID: "agent:a1", OwnerID: "user:93", Active: true}},
		Resources: []policy.Resource{
			{Type: "channel", ID: "general", Attrs: map[string]any{"members": []any{"user:93"}}},
			{Type: "tool", ID: "search", Attrs: map[string]any{"allowed_agents": []any{"agent:a1"}, "roles": []any{"member"}}},
		},
		Policies: policy.PolicySet{TenantID: tenantID, Version: 1, Text: s.text},
	}, nil
}

var (
	fuzzTenantRef = regexp.MustCompile(`\bTenant::"((?:[^"\\]|\\.)*)"`)
	fuzzPolicyID  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
)

// FuzzCompile feeds arbitrary text to Compiler.Compile as a tenant's own
// policies. It must never panic; a refusal is an *InvalidError with
// problems, an Invalid fault; what it accepts keeps every policy of the
// text, each under a valid, unique @id that is no default's and no
// reserved reason, names no other tenant, and evaluates to a permit or a
// deny without panicking.
func FuzzCompile(f *testing.F) {
	c, err := policy.NewCompiler()
	if err != nil {
		f.Fatal(err)
	}
	for _, text := range policy.DefaultFiles() {
		f.Add(string(text), true)
	}
	for _, seed := range []string{
		`@id("freeze") forbid (principal, action == Action::"SEND_MESSAGE", resource == Channel::"general");`,
		`@id("mods") permit (principal in Role::"moderator", action in [Action::"READ", Action::"MANAGE"], resource is Channel);`,
		`@id("own") permit (principal, action == Action::"VIEW_TENANT", resource == Tenant::"t1");`,
		`@id("other") permit (principal, action == Action::"VIEW_TENANT", resource == Tenant::"t2");`,
		`@id("ip") forbid (principal, action, resource) unless { context has ip && context.ip.isInRange(ip("10.0.0.0/8")) };`,
		`@id("x") permit (principal, action, resource) when { resource.members.contains("a") };`,
		`@id("y") permit (principal is User, action == Action::"EXECUTE_TOOL", resource is Tool) when { context.on_behalf_of.roles.contains("x") };`,
		`@id("a.b-c_1") permit (principal, action, resource); @id("a.b-c_1") permit (principal, action, resource);`,
		`permit (principal, action, resource);`,
		`@id("") permit (principal, action, resource);`,
		`@id("default_deny") permit (principal, action, resource);`,
		`@id("channel_member") permit (principal, action, resource);`,
		`@id("bad id!") permit (principal, action, resource);`,
		`@id("z") permit (principal, action == Action::"FLY", resource);`,
		`@id("n") permit (principal, action, resource) when { 9223372036854775807 + 1 > 0 };`,
		`@id("t") permit (principal, action, resource) when { Tenant::"t1" == context.tenant };`,
		"@id(\"q\")\npermit (principal, action, resource\n",
		"", "// nothing", "permit (", `@id("w") permit (principal, action, resource) when { ?principal };`,
	} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	defaults := c.DefaultIDs()
	src := &fuzzSource{}
	engine := policy.NewEngine(policy.EngineDeps{Source: src, Compiler: c}, policy.EngineOptions{})
	requests := []policy.Request{
		{Principal: "user:93", Action: "SEND_MESSAGE", Resource: policy.ResourceRef{Type: "channel", ID: "general"}},
		{Principal: "user:1", Action: "VIEW_TENANT", Resource: policy.ResourceRef{Type: "tenant", ID: "t1"}},
		{Principal: "agent:a1", OnBehalfOf: "user:93", Action: "EXECUTE_TOOL", Resource: policy.ResourceRef{Type: "tool", ID: "search"},
			Context: map[string]any{"ip": "10.1.2.3"}},
		{Principal: "service:x", Action: "VIEW_USAGE", Resource: policy.ResourceRef{Type: "usage", ID: "tenant"}},
		{Principal: "user:7", Action: "MANAGE_AGENT", Resource: policy.ResourceRef{Type: "agent", ID: "a1"}},
	}
	f.Fuzz(func(t *testing.T, text string, own bool) {
		tenant := ""
		if own {
			tenant = "t1"
		}
		list, err := c.Compile(tenant, text)
		if err != nil {
			var inv *policy.InvalidError
			if !errors.As(err, &inv) || len(inv.Problems) == 0 {
				t.Fatalf("refusal %T %v is not an InvalidError with problems", err, err)
			}
			if fault.KindOf(err) != fault.Invalid {
				t.Fatalf("refusal of kind %v", fault.KindOf(err))
			}
			for _, p := range inv.Problems {
				if p.Message == "" || p.Line < 0 || p.Column < 0 {
					t.Fatalf("problem %+v", p)
				}
			}
			return
		}
		parsed, err := cedar.NewPolicyListFromBytes("policies.cedar", []byte(text))
		if err != nil {
			t.Fatalf("accepted a text cedar-go does not parse: %v", err)
		}
		seen := map[cedar.PolicyID]bool{}
		for id, p := range list.All() {
			ann, ok := p.Annotations()["id"]
			switch {
			case !ok || string(ann) != string(id) || id == "":
				t.Fatalf("policy accepted under %q with @id %q", id, ann)
			case !fuzzPolicyID.MatchString(string(id)):
				t.Fatalf("accepted @id %q", id)
			case seen[id] || slices.Contains(defaults, string(id)):
				t.Fatalf("accepted @id %q twice or a default's", id)
			case slices.Contains([]string{policy.ReasonDefaultDeny, policy.ReasonEvaluationError, policy.ReasonUnavailable, policy.ReasonInvalidRequest, policy.ReasonCredentialScope}, string(id)):
				t.Fatalf("accepted the reserved @id %q", id)
			}
			seen[id] = true
			if own {
				for _, m := range fuzzTenantRef.FindAllStringSubmatch(string(p.MarshalCedar()), -1) {
					if m[1] != tenant {
						t.Fatalf("policy %q names Tenant::%q", id, m[1])
					}
				}
			}
		}
		if len(seen) != len(parsed) {
			t.Fatalf("accepted %d of %d policies", len(seen), len(parsed))
		}
		if !own {
			return
		}
		// What is accepted can be stored: it evaluates without panicking,
		// to a permit or a deny, and a policy that errors denies.
		src.mu.Lock()
		src.text = text
		src.mu.Unlock()
		engine.Apply(context.Background(), policy.Change{TenantID: tenant, Part: policy.PartAll})
		for _, req := range requests {
			d := engine.Authorize(context.Background(), tenant, req)
			switch {
			case d.Decision != policy.Permit && d.Decision != policy.Deny:
				t.Fatalf("decision %+v", d)
			case len(d.Reasons) == 0:
				t.Fatalf("decision without a reason: %+v", d)
			case slices.Contains(d.Reasons, policy.ReasonUnavailable):
				t.Fatalf("an accepted text did not build a snapshot: %+v", d)
			case d.Permitted() && len(d.Errors) != 0:
				t.Fatalf("a permit with errors: %+v", d)
			case slices.Contains(d.Reasons, policy.ReasonEvaluationError) && d.Permitted():
				t.Fatalf("an evaluation error permitted: %+v", d)
			case d.PolicyVersion != 1:
				t.Fatalf("decision under version %d", d.PolicyVersion)
			}
		}
	})
}
