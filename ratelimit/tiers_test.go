package ratelimit_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ratelimit"
)

func TestAnonymousTiers(t *testing.T) {
	ip := "203.0.113.7"
	for _, c := range []struct {
		class ratelimit.Class
		want  []string
	}{
		{ratelimit.ClassExempt, nil},
		{ratelimit.ClassDefault, []string{ratelimit.TierIP}},
		{ratelimit.ClassLogin, []string{ratelimit.TierIP}},
		{ratelimit.ClassToken, []string{ratelimit.TierIP, ratelimit.TierToken}},
	} {
		var got []string
		for _, tc := range ratelimit.AnonymousTiers(c.class, ip) {
			if tc.Key != ip || tc.TenantID != "" || tc.Own != nil {
				t.Fatalf("class %d: check %+v, want keyed by the IP alone", c.class, tc)
			}
			got = append(got, tc.Name)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("class %d: tiers %v, want %v", c.class, got, c.want)
		}
	}
}

func TestActorTiers(t *testing.T) {
	for _, c := range []struct {
		name string
		ac   identity.ActorContext
		want []ratelimit.TierCheck
	}{
		{"a session: the actor, then its tenant",
			identity.ActorContext{ActorID: "user:1", ActorType: identity.ActorHuman, Credential: identity.CredentialSession, TenantID: "t1"},
			[]ratelimit.TierCheck{{Name: ratelimit.TierActor, TenantID: "t1", Key: "user:1"}, {Name: ratelimit.TierTenant, TenantID: "t1", Key: "t1"}}},
		{"a tenantless session: the actor only",
			identity.ActorContext{ActorID: "user:1", ActorType: identity.ActorHuman, Credential: identity.CredentialSession},
			[]ratelimit.TierCheck{{Name: ratelimit.TierActor, Key: "user:1"}}},
		{"an API key is its own actor",
			identity.ActorContext{ActorID: "user:1", ActorType: identity.ActorHuman, Credential: identity.CredentialAPIKey, CredentialID: "k1", TenantID: "t1"},
			[]ratelimit.TierCheck{{Name: ratelimit.TierActor, TenantID: "t1", Key: "key:k1"}, {Name: ratelimit.TierTenant, TenantID: "t1", Key: "t1"}}},
		{"a service: the service tier alone",
			identity.ActorContext{ActorID: "service:messaging", ActorType: identity.ActorService, TenantID: "t1"},
			[]ratelimit.TierCheck{{Name: ratelimit.TierService, Key: "service:messaging"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ratelimit.ActorTiers(&c.ac)
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("ActorTiers = %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func TestActorTiersTakeAKeysOwnPolicy(t *testing.T) {
	ac := identity.ActorContext{ActorID: "agent:7", ActorType: identity.ActorAgent, Credential: identity.CredentialAPIKey, CredentialID: "k1", TenantID: "t1", RateLimit: "5/1m"}
	got, err := ratelimit.ActorTiers(&ac)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Own == nil || got[0].Own.String() != "5/1m" || got[0].Own.Limit.Name != ratelimit.TierActor {
		t.Fatalf("ActorTiers = %+v", got)
	}
	ac.RateLimit = "not a spec"
	if _, err := ratelimit.ActorTiers(&ac); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("a malformed own policy: %v", err)
	}
}

func TestApplyTiersStopsAtTheFirstRefusal(t *testing.T) {
	e := newLimiterEnv(t, nil, map[string]string{ratelimit.TierActor: "1/1h", ratelimit.TierTenant: "10/1h", ratelimit.TierIP: "off"})
	ctx := context.Background()
	checks := []ratelimit.TierCheck{{Name: ratelimit.TierActor, TenantID: "t1", Key: "user:1"}, {Name: ratelimit.TierTenant, TenantID: "t1", Key: "t1"}}
	ds, err := e.l.ApplyTiers(ctx, checks, nil)
	if err != nil || len(ds) != 2 {
		t.Fatalf("first request: %d decisions, %v", len(ds), err)
	}
	// The actor is refused; the tenant's quota is not spent on a request
	// that will not run.
	ds, err = e.l.ApplyTiers(ctx, checks, nil)
	if !errors.Is(err, fault.ErrRateLimited) || len(ds) != 1 || ds[0].Name != ratelimit.TierActor {
		t.Fatalf("second request: %+v, %v", ds, err)
	}
	tenant, err := e.l.ApplyTiers(ctx, checks[1:], nil)
	if err != nil || tenant[0].Result.Remaining != 8 {
		t.Fatalf("the tenant's quota: %+v, %v; want 8 left after two charges", tenant, err)
	}
	// A tier that is off, or not configured, is skipped.
	ds, err = e.l.ApplyTiers(ctx, []ratelimit.TierCheck{{Name: ratelimit.TierIP, Key: "1.2.3.4"}, {Name: ratelimit.TierService, Key: "service:x"}}, nil)
	if err != nil || len(ds) > 1 || len(ds) == 1 && !ds[0].Unchecked {
		t.Fatalf("off tiers: %+v, %v", ds, err)
	}
	// A key's own policy replaces the configured one.
	own := mustParse(t, ratelimit.TierActor, "3/1h")
	ds, err = e.l.ApplyTiers(ctx, []ratelimit.TierCheck{{Name: ratelimit.TierActor, Key: "key:k1", Own: &own}}, nil)
	if err != nil || ds[0].Result.Quota != 3 {
		t.Fatalf("own policy: %+v, %v", ds, err)
	}
}
