package policy_test

import (
	"slices"
	"testing"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/policy"
)

func TestChangesOf(t *testing.T) {
	cases := []struct {
		name string
		ev   event.Event
		want []policy.Change
	}{
		{"policies", event.Event{Kind: event.KindPolicyChanged, ID: "t1", Tenant: "t1"},
			[]policy.Change{{TenantID: "t1", Part: policy.PartPolicies}}},
		{"one resource", event.Event{Kind: event.KindPolicyChanged, ID: "t1", Tenant: "t1", Resource: "channel:general"},
			[]policy.Change{{TenantID: "t1", Part: policy.PartResource, Key: "channel:general"}}},
		{"an older replica's policy change: the tenant whole", event.Event{Kind: event.KindPolicyChanged, ID: "t1"},
			[]policy.Change{{TenantID: "t1", Part: policy.PartAll}}},
		{"suspension", event.Event{Kind: event.KindTenantSuspended, ID: "t1"},
			[]policy.Change{{TenantID: "t1", Part: policy.PartTenant}}},
		{"activation", event.Event{Kind: event.KindTenantActivated, ID: "t1"},
			[]policy.Change{{TenantID: "t1", Part: policy.PartTenant}}},
		{"a member in a tenant", event.Event{Kind: event.KindActorChanged, ID: "user:9", Tenant: "t1"},
			[]policy.Change{{TenantID: "t1", Part: policy.PartActor, Key: "user:9"}}},
		{"a user disabled everywhere", event.Event{Kind: event.KindActorDisabled, ID: "user:9"},
			[]policy.Change{{Part: policy.PartActor, Key: "user:9"}}},
		{"an agent enabled", event.Event{Kind: event.KindActorEnabled, ID: "agent:a", Tenant: "t1"},
			[]policy.Change{{TenantID: "t1", Part: policy.PartActor, Key: "agent:a"}}},
		{"a custom role", event.Event{Kind: event.KindActorChanged, ID: "role:t1/auditor", Tenant: "t1"},
			[]policy.Change{{TenantID: "t1", Part: policy.PartRoles}}},
		{"a custom role from an older replica", event.Event{Kind: event.KindActorChanged, ID: "role:t1/auditor"},
			[]policy.Change{{TenantID: "t1", Part: policy.PartRoles}}},
		{"a revoked credential concerns no decision", event.Event{Kind: event.KindCredentialRevoked, ID: "k1"}, nil},
		{"rate limits concern no decision", event.Event{Kind: event.KindTenantLimitsChanged, ID: "t1"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := policy.ChangesOf(c.ev); !slices.Equal(got, c.want) {
				t.Fatalf("ChangesOf(%+v) = %+v, want %+v", c.ev, got, c.want)
			}
		})
	}
}
