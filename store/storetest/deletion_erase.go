package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/mail"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/store"
)

// erasureWorld is tenant ta, to be deleted, and tb, which stays. only is a
// person of ta alone (ta's owner), both belongs to ta and tb, root is a
// platform admin in ta alone. Each tenant has a session, key, agent,
// webhook with a delivery, invitation, email, usage and audit events.
func erasureWorld(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	only, both, root := user("u-only", "only@erase.example"), user("u-both", "both@erase.example"), user("u-root", "root@erase.example")
	root.PlatformAdmin = true
	for _, u := range []identity.User{only, both, root} {
		must(t, s.CreateUser(ctx, u))
	}
	newTenant(t, s, "ta", "user:u-only")
	newTenant(t, s, "tb", "user:u-both")
	addMember(t, s, "ta", "user:u-both", identity.RoleMember)
	addMember(t, s, "ta", "user:u-root", identity.RoleAdmin)
	for _, tn := range []string{"ta", "tb"} {
		ss := sess("s-"+tn, "user:u-both")
		ss.TenantID = tn
		must(t, s.CreateSession(ctx, ss, hash("s-"+tn+"-0")))
		must(t, s.CreateAPIKey(ctx, apiKey("k-"+tn, tn, "user:u-both")))
		newAgent(t, s, tn, "ag-"+tn, "user:u-both")
		must(t, s.CreateWebhook(ctx, endpoint("w-"+tn, tn)))
		must(t, s.EnqueueDelivery(ctx, delivery("d-"+tn, tn, "w-"+tn, "m-"+tn, at(0))))
		must(t, s.CreateInvitation(ctx, invitation("i-"+tn, tn, "guest@erase.example"), tokenHash("i-"+tn)))
		msg := message("team-" + tn + "@erase.example")
		msg.TenantID = tn
		must(t, s.SetMemberRoles(mail.Queue(ctx, msg), tn, "user:u-both", []string{identity.RoleOwner, identity.RoleMember}))
		appendAudit(t, s, auditEvents(tn, 0, 4), 4)
	}
	// only's own tenantless session and a reset email.
	ss := sess("s-only", "user:u-only")
	ss.TenantID = ""
	must(t, s.CreateSession(ctx, ss, hash("s-only-0")))
	must(t, s.SetMemberRoles(mail.Queue(ctx, message("only@erase.example")), "ta", "user:u-root", []string{identity.RoleAdmin}))
	svc := usageService(t, s)
	wantResult(t, record(t, svc, llm("ta", "a", "user:u-only", "gpt", 0, 10, 1), llm("tb", "b", "user:u-both", "gpt", 0, 20, 2)), 2, 0)
}

// eraseAll claims d's tenant's deletion and erases it in batches of limit.
func eraseAll(t *testing.T, s store.Store, d identity.TenantDeletion, now time.Time, limit int) identity.TenantDeletion {
	t.Helper()
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatal("erasure does not end")
		}
		_, done, err := s.EraseTenantBatch(t.Context(), d, now, time.Minute, limit)
		must(t, err)
		if done {
			return d
		}
	}
}

// finish records the deletion in the platform stream and the tenant's and
// leaves the tombstone.
func finish(t *testing.T, s store.Store, d identity.TenantDeletion, now time.Time) {
	t.Helper()
	ctx := audit.Record(context.WithoutCancel(t.Context()),
		audit.Event{Action: audit.ActionTenantDeleted, TargetType: "tenant", TargetID: d.TenantID},
		audit.Event{TenantID: d.TenantID, Action: audit.ActionTenantDeleted, TargetType: "tenant", TargetID: d.TenantID})
	must(t, s.FinishTenantDeletion(ctx, d, now))
}

// testDeletionErase: erasure removes every row of the tenant and the people
// who belong nowhere else, keeps the other tenant and everyone else whole,
// and leaves both audit streams verifiable.
func testDeletionErase(t *testing.T, s store.Store) {
	ctx := t.Context()
	erasureWorld(t, s)
	must(t, s.ScheduleTenantDeletion(ctx, deletion("ta", 0)))
	now := at(time.Minute)
	d, found := ok2(s.ClaimTenantDeletion(ctx, now, time.Minute))(t)
	if !found {
		t.Fatal("no due deletion")
	}
	finish(t, s, eraseAll(t, s, d, now, 2), now)

	if tn := ok(s.GetTenant(ctx, "ta"))(t); tn.Status != identity.TenantDeleted || tn.Name != "" || tn.Slug != "deleted-ta" {
		t.Fatalf("tombstone = %+v", tn)
	}
	if got := ok(s.GetTenantDeletion(ctx, "ta"))(t); got.Status != identity.DeletionDone || got.FinishedAt == nil || got.Erased == 0 {
		t.Fatalf("deletion = %+v", got)
	}
	// The slug is free again.
	newTenant(t, s, "tc", "user:u-both")
	must(t, s.UpdateTenant(ctx, identity.Tenant{ID: "tc", Name: "C", Status: identity.TenantActive}))

	_, err := s.GetUser(ctx, "u-only")
	wantNotFound(t, err, identity.CodeUserNotFound)
	for _, id := range []string{"u-both", "u-root"} {
		if _, err := s.GetUser(ctx, id); err != nil {
			t.Fatalf("user %s: %v", id, err)
		}
	}
	if l := ok(s.ListMembers(ctx, "ta", pageAll))(t); len(l) != 0 {
		t.Fatalf("members of ta: %+v", l)
	}
	ok(s.GetMember(ctx, "tb", "user:u-both"))(t)

	// The erased person's own session is revoked, its network details gone.
	if ss := ok(s.GetSession(ctx, "s-only"))(t); ss.RevokedAt == nil || ss.RevokeReason != "tenant_deleted" || ss.IP != "" || ss.UserAgent != "" {
		t.Fatalf("s-only = %+v", ss)
	}
	_, err = s.GetSession(ctx, "s-ta")
	wantNotFound(t, err, session.CodeSessionNotFound)
	ok(s.GetSession(ctx, "s-tb"))(t)
	_, err = s.GetAPIKey(ctx, "k-ta")
	wantNotFound(t, err, apikey.CodeAPIKeyNotFound)
	ok(s.GetAPIKey(ctx, "k-tb"))(t)

	counts := func(tn string) []int {
		return []int{
			len(ok(s.ListAgents(ctx, tn, "", pageAll))(t)),
			len(ok(s.ListWebhooks(ctx, tn, pageAll))(t)),
			len(ok(s.ListInvitations(ctx, tn, pageAll))(t)),
		}
	}
	check(t, "agents, webhooks, invitations of ta", counts("ta"), []int{0, 0, 0})
	check(t, "agents, webhooks, invitations of tb", counts("tb"), []int{1, 1, 1})
	if l := ok(s.ListDeliveries(ctx, "tb", "w-tb", pageAll))(t); len(l) != 1 {
		t.Fatalf("tb deliveries: %+v", l)
	}
	var left []string
	for _, m := range ok(s.ListMail(ctx, cursor.Page{Limit: 100}))(t) {
		left = append(left, m.To)
	}
	check(t, "mail left", left, []string{"team-tb@erase.example"})

	svc := usageService(t, s)
	if got := total(t, svc, "ta", "llm_input_tokens"); got != 0 {
		t.Errorf("ta usage = %v, want none", got)
	}
	if got := total(t, svc, "tb", "llm_input_tokens"); got != 20 {
		t.Errorf("tb usage = %v, want 20", got)
	}

	// Audit chains: ta's 4 events and its closing one, the platform's one.
	_, keys := digestKeys(t, s)
	wantVerified(t, verify(t, s, "ta", keys), 5)
	wantVerified(t, verify(t, s, "", keys), 1)
	wantVerified(t, verify(t, s, "tb", keys), 4)
}

// testDeletionResumes: a worker that stops midway leaves the deletion to
// the next claimer once its lease ends, which resumes at the recorded step.
func testDeletionResumes(t *testing.T, s store.Store) {
	ctx := t.Context()
	erasureWorld(t, s)
	must(t, s.ScheduleTenantDeletion(ctx, deletion("ta", 0)))
	now := at(time.Minute)
	first, _ := ok2(s.ClaimTenantDeletion(ctx, now, time.Minute))(t)
	for range 4 {
		_, done, err := s.EraseTenantBatch(ctx, first, now, time.Minute, 1)
		must(t, err)
		if done {
			t.Fatal("erased everything in 4 rows")
		}
	}
	progress := ok(s.GetTenantDeletion(ctx, "ta"))(t)
	if progress.Erased != 4 {
		t.Fatalf("erased %d rows, want 4", progress.Erased)
	}
	later := now.Add(5 * time.Minute)
	second, found := ok2(s.ClaimTenantDeletion(ctx, later, time.Minute))(t)
	if !found || second.Attempts != 2 || second.Step != progress.Step || second.Erased != 4 {
		t.Fatalf("second claim = %+v, %v (progress %+v)", second, found, progress)
	}
	finish(t, s, eraseAll(t, s, second, later, 100), later)
	if got := ok(s.GetTenant(ctx, "ta"))(t); got.Status != identity.TenantDeleted {
		t.Fatalf("tenant = %+v", got)
	}
	_, keys := digestKeys(t, s)
	wantVerified(t, verify(t, s, "ta", keys), 5)
}
