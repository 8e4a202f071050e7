package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/identity"
)

// TestAuditRetentionAndPrune: a tenant's own retention prunes its old
// events; the platform stream, on the default 400 days, keeps its own; and
// both still verify.
func TestAuditRetentionAndPrune(t *testing.T) {
	dir, env := migratedEnv(t)
	ctx := context.Background()
	st := openDB(t, dir)
	now := time.Now()
	if err := st.CreateTenant(ctx, identity.Tenant{ID: "t1", Slug: "t1", Name: "T1", Status: identity.TenantActive, CreatedAt: now, UpdatedAt: now},
		identity.Membership{TenantID: "t1", ActorID: "user:1", Roles: []string{identity.RoleOwner}, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	var evs []audit.Event
	for _, tenant := range []string{"t1", ""} {
		for i, age := range []int{100, 90, 10, 1} {
			evs = append(evs, audit.Event{TenantID: tenant, Time: now.AddDate(0, 0, -age), ActorID: "user:1",
				Action: audit.ActionSessionLogin, Outcome: audit.Success, RequestID: fmt.Sprint(i)})
		}
	}
	if _, err := st.AppendAudit(ctx, evs); err != nil {
		t.Fatal(err)
	}
	st.Close()

	for _, args := range [][]string{{"--tenant", "t1"}, {"--days", "30"}, {"--tenant", "nope", "--days", "30"}, {"--tenant", "t1", "--days", "40000"}} {
		if _, _, err := run(t, env, "", append([]string{"audit", "retention"}, args...)...); err == nil {
			t.Errorf("retention %v: no error", args)
		}
	}
	if out, _, err := run(t, env, "", "audit", "retention", "--tenant", "t1", "--days", "30"); err != nil || !strings.Contains(out, "kept 30 days") {
		t.Fatalf("retention: %q %v", out, err)
	}
	if out, _, err := run(t, env, "", "audit", "prune"); err != nil || !strings.Contains(out, "pruned 2 events") {
		t.Fatalf("prune: %q %v", out, err)
	}
	out, _, err := run(t, env, "", "audit", "verify", "--all")
	if err != nil || !strings.Contains(out, "tenant t1: ok, 4 events (seq 3..6), 1 digests, anchored through seq 2, pruned through seq 2") ||
		!strings.Contains(out, "platform stream: ok, 4 events (seq 1..4)") {
		t.Fatalf("verify after pruning: %q %v", out, err)
	}
}
