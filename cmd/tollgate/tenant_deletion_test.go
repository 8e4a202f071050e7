package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/internal/testclock"
)

// TestAuditVerifyAfterTenantDeletion: `tollgate audit verify` passes on a
// deleted tenant's stream, before and after the digests that follow it.
func TestAuditVerifyAfterTenantDeletion(t *testing.T) {
	dir, env := migratedEnv(t)
	ctx := context.Background()
	st := openDB(t, dir)
	clock := testclock.New(time.Now().UTC())
	svc := identity.NewService(identity.Deps{Store: st, Now: clock.Now}, identity.Options{DeletionGrace: time.Minute})
	owner, err := svc.CreateUser(ctx, identity.NewUser{Email: "owner@gone.example"})
	if err != nil {
		t.Fatal(err)
	}
	root, err := svc.CreateUser(ctx, identity.NewUser{Email: "root@platform.example", PlatformAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	tn, err := svc.CreateTenant(ctx, owner.ActorID(), identity.NewTenant{Slug: "gone"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateAgent(ctx, identity.Caller{ActorID: owner.ActorID()}, tn.ID, identity.NewAgent{Name: "bot"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// A digest of the stream before the deletion must still verify after.
	if out, _, err := run(t, env, "", "audit", "digest"); err != nil {
		t.Fatalf("digest: %q %v", out, err)
	}

	st = openDB(t, dir)
	svc = identity.NewService(identity.Deps{Store: st, Now: clock.Now}, identity.Options{DeletionGrace: time.Minute})
	if _, err := svc.ScheduleTenantDeletion(ctx, identity.Caller{ActorID: root.ActorID()}, tn.ID, "gone"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if err := svc.EraseDue(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetUser(ctx, owner.ID); err == nil {
		t.Fatal("the owner's account outlived the tenant")
	}
	st.Close()

	for _, args := range [][]string{{"--tenant", tn.ID}, {"--platform"}, {"--all"}} {
		out, errOut, err := run(t, env, "", append([]string{"audit", "verify"}, args...)...)
		if err != nil || !strings.Contains(out, ": ok, ") || strings.Contains(errOut, "warning") {
			t.Fatalf("verify %v after the deletion: %q %q %v", args, out, errOut, err)
		}
	}
	if out, _, err := run(t, env, "", "audit", "digest"); err != nil {
		t.Fatalf("digest after the deletion: %q %v", out, err)
	}
	out, _, err := run(t, env, "", "audit", "verify", "--tenant", tn.ID)
	if err != nil || !strings.Contains(out, "2 digests") {
		t.Fatalf("verify with the later digest: %q %v", out, err)
	}
}
