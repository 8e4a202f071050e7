package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/webhook"
)

func webhookTests() []test {
	return []test{
		{"EndpointsRoundTrip", testWebhookEndpoints},
		{"RotationKeepsThePrevious", testWebhookRotation},
		{"CrossTenantIsNotFound", testWebhookIsolation},
		{"DispatchFollowsTheAuditStream", testWebhookDispatch},
		{"ClaimLeaseAndFinish", testWebhookClaimAndFinish},
		{"DisablingFailsPending", testWebhookDisableFailsPending},
		{"PatchKeepsConcurrentDisable", testWebhookPatchKeepsConcurrentDisable},
		{"TenantOwnerEmails", testWebhookTenantOwnerEmails},
	}
}

func endpoint(id, tenantID string) webhook.Endpoint {
	return webhook.Endpoint{
		ID: id, TenantID: tenantID, URL: "https://hooks.example.com/" + id, Description: "endpoint " + id,
		EventTypes: []string{webhook.TypeMemberAdded}, Status: webhook.Enabled,
		Secret: webhook.SealedSecret{ID: "s-" + id, Sealed: []byte("sealed " + id)}, CreatedBy: "user:owner",
		CreatedAt: at(time.Minute), UpdatedAt: at(time.Minute),
	}
}

func truncEndpoint(e webhook.Endpoint) webhook.Endpoint {
	e.CreatedAt, e.UpdatedAt = us(e.CreatedAt), us(e.UpdatedAt)
	return e
}

func delivery(id, tenantID, endpointID, msg string, due time.Time) webhook.Delivery {
	return webhook.Delivery{
		ID: id, TenantID: tenantID, EndpointID: endpointID, MessageID: msg, EventType: webhook.TypeTest,
		Payload: []byte(`{"type":"webhook.test"}`), Status: webhook.Pending, NextAttemptAt: due, CreatedAt: due,
	}
}

// testWebhookEndpoints: create, read, list, count, update and delete.
func testWebhookEndpoints(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:owner")
	wantNotFound(t, s.CreateWebhook(ctx, endpoint("w0", "nope")), identity.CodeTenantNotFound)
	e := endpoint("w1", "ta")
	must(t, s.CreateWebhook(ctx, e))
	wantConflict(t, s.CreateWebhook(ctx, e), webhook.CodeWebhookExists)
	must(t, s.CreateWebhook(ctx, endpoint("w2", "ta")))
	check(t, "get", ok(s.GetWebhook(ctx, "ta", "w1"))(t), truncEndpoint(e))
	if l := ok(s.ListWebhooks(ctx, "ta", cursor.Page{After: "w1", Limit: 10}))(t); len(l) != 1 || l[0].ID != "w2" {
		t.Fatalf("list after w1: %+v", l)
	}
	if n := ok(s.CountWebhooks(ctx, "ta"))(t); n != 2 {
		t.Fatalf("count %d", n)
	}
	e.URL, e.Description, e.EventTypes, e.UpdatedAt = "https://other.example.com/", "changed", []string{}, at(time.Hour)
	check(t, "update", ok(s.UpdateWebhook(ctx, "ta", "w1", webhook.EndpointPatch{URL: &e.URL, Description: &e.Description, EventTypes: &e.EventTypes}, e.UpdatedAt))(t), truncEndpoint(e))
	_, err := s.UpdateWebhook(ctx, "ta", "w9", webhook.EndpointPatch{Description: &e.Description}, at(time.Hour))
	wantNotFound(t, err, webhook.CodeWebhookNotFound)
	must(t, s.DeleteWebhook(ctx, "ta", "w1"))
	wantNotFound(t, s.DeleteWebhook(ctx, "ta", "w1"), webhook.CodeWebhookNotFound)
	_, err = s.GetWebhook(ctx, "ta", "w1")
	wantNotFound(t, err, webhook.CodeWebhookNotFound)
}

// testWebhookRotation: the current secret becomes the previous one until
// the given time, or is dropped.
func testWebhookRotation(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:owner")
	e := endpoint("w1", "ta")
	must(t, s.CreateWebhook(ctx, e))
	until := at(25 * time.Hour)
	next := webhook.SealedSecret{ID: "s2", Sealed: []byte("sealed 2")}
	got := ok(s.RotateWebhookSecret(ctx, "ta", "w1", next, &until, at(time.Hour)))(t)
	if got.Secret.ID != "s2" || got.PreviousSecret == nil || got.PreviousSecret.ID != e.Secret.ID ||
		string(got.PreviousSecret.Sealed) != string(e.Secret.Sealed) || !got.PreviousExpiresAt.Equal(us(until)) {
		t.Fatalf("after rotation with overlap: %+v", got)
	}
	got = ok(s.RotateWebhookSecret(ctx, "ta", "w1", webhook.SealedSecret{ID: "s3", Sealed: []byte("3")}, nil, at(2*time.Hour)))(t)
	if got.Secret.ID != "s3" || got.PreviousSecret != nil || got.PreviousExpiresAt != nil {
		t.Fatalf("after rotation without overlap: %+v", got)
	}
	_, err := s.RotateWebhookSecret(ctx, "tb", "w1", next, nil, at(time.Hour))
	wantNotFound(t, err, webhook.CodeWebhookNotFound)
}

// testWebhookIsolation: every read and write names its tenant; another
// tenant's endpoint or delivery is not found.
func testWebhookIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:owner")
	newTenant(t, s, "tb", "user:other")
	must(t, s.CreateWebhook(ctx, endpoint("wa", "ta")))
	must(t, s.EnqueueDelivery(ctx, delivery("da", "ta", "wa", "msg_a", at(0))))
	_, err := s.GetWebhook(ctx, "tb", "wa")
	wantNotFound(t, err, webhook.CodeWebhookNotFound)
	disabled := webhook.Disabled
	_, err = s.UpdateWebhook(ctx, "tb", "wa", webhook.EndpointPatch{Status: &disabled, DisabledReason: webhook.ReasonByUser}, at(0))
	wantNotFound(t, err, webhook.CodeWebhookNotFound)
	wantNotFound(t, s.DeleteWebhook(ctx, "tb", "wa"), webhook.CodeWebhookNotFound)
	if l := ok(s.ListWebhooks(ctx, "tb", cursor.Page{Limit: 10}))(t); len(l) != 0 {
		t.Fatalf("tenant B lists %+v", l)
	}
	_, err = s.GetDelivery(ctx, "tb", "wa", "da")
	wantNotFound(t, err, webhook.CodeDeliveryNotFound)
	_, err = s.RedeliverWebhook(ctx, "tb", "wa", "da", at(time.Hour))
	wantNotFound(t, err, webhook.CodeDeliveryNotFound)
	if l := ok(s.ListDeliveries(ctx, "tb", "wa", cursor.Page{Limit: 10}))(t); len(l) != 0 {
		t.Fatalf("tenant B lists deliveries %+v", l)
	}
	if got := ok(s.GetWebhook(ctx, "ta", "wa"))(t); got.URL != endpoint("wa", "ta").URL {
		t.Fatalf("tenant A's endpoint changed: %+v", got)
	}
}

// recordingRoute routes every event to every endpoint, keyed by the audit
// event id as the real router does, and counts what it saw.
func recordingRoute(seen *[]string) webhook.Route {
	return func(tenantID string, events []audit.Event, eps []webhook.Endpoint) []webhook.Delivery {
		var out []webhook.Delivery
		for _, e := range events {
			*seen = append(*seen, e.Action)
			for _, ep := range eps {
				out = append(out, delivery("d-"+ep.ID+"-"+e.ID, tenantID, ep.ID, "msg_"+e.ID, at(time.Hour)))
			}
		}
		return out
	}
}

// testWebhookDispatch: a tenant's cursor starts at its audit head when its
// first endpoint is made, so earlier events are never routed; later ones
// are, once; a tenant without endpoints is never read; deleting the last
// endpoint drops the cursor.
func testWebhookDispatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:owner")
	newTenant(t, s, "tb", "user:other")
	appendEvents := func(tenantID string, n int, action string) {
		evs := make([]audit.Event, n)
		for i := range evs {
			evs[i] = audit.Event{TenantID: tenantID, ActorID: "user:owner", Action: action, TargetType: "member",
				TargetID: fmt.Sprint("user:", i), Outcome: audit.Success}
		}
		ok(s.AppendAudit(ctx, evs))(t)
	}
	appendEvents("ta", 3, "member.before")
	appendEvents("tb", 3, "member.other")
	must(t, s.CreateWebhook(ctx, endpoint("w1", "ta")))
	var seen []string
	route := recordingRoute(&seen)
	if n := ok(s.DispatchWebhooks(ctx, 10, 100, route, at(time.Hour)))(t); n != 0 || len(seen) != 0 {
		t.Fatalf("dispatched %d events before any new one: %v", n, seen)
	}
	appendEvents("ta", 5, "member.after")
	if n := ok(s.DispatchWebhooks(ctx, 10, 3, route, at(time.Hour)))(t); n != 3 {
		t.Fatalf("first round consumed %d events, want 3 (the limit)", n)
	}
	if n := ok(s.DispatchWebhooks(ctx, 10, 3, route, at(time.Hour)))(t); n != 2 {
		t.Fatalf("second round consumed %d events, want 2", n)
	}
	if n := ok(s.DispatchWebhooks(ctx, 10, 3, route, at(time.Hour)))(t); n != 0 {
		t.Fatalf("third round consumed %d events, want 0", n)
	}
	for _, a := range seen {
		if a != "member.after" {
			t.Fatalf("routed %v", seen)
		}
	}
	if l := ok(s.ListDeliveries(ctx, "ta", "w1", cursor.Page{Limit: 100}))(t); len(l) != 5 {
		t.Fatalf("%d deliveries, want 5", len(l))
	}
	// Enqueuing a message an endpoint already has is skipped.
	l := ok(s.ListDeliveries(ctx, "ta", "w1", cursor.Page{Limit: 1}))(t)
	dup := l[0]
	dup.ID = "another-id"
	must(t, s.EnqueueDelivery(ctx, dup))
	if l := ok(s.ListDeliveries(ctx, "ta", "w1", cursor.Page{Limit: 100}))(t); len(l) != 5 {
		t.Fatalf("a duplicate message was enqueued: %d deliveries", len(l))
	}
	must(t, s.DeleteWebhook(ctx, "ta", "w1"))
	appendEvents("ta", 2, "member.gone")
	if n := ok(s.DispatchWebhooks(ctx, 10, 100, route, at(time.Hour)))(t); n != 0 {
		t.Fatalf("a tenant without endpoints was read: %d events", n)
	}
}

// testWebhookClaimAndFinish: a claim takes due deliveries once until its
// lease ends, and the results set each delivery's state and its
// endpoint's failure streak.
func testWebhookClaimAndFinish(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:owner")
	must(t, s.CreateWebhook(ctx, endpoint("w1", "ta")))
	must(t, s.CreateWebhook(ctx, endpoint("w2", "ta")))
	must(t, s.EnqueueDelivery(ctx, delivery("d1", "ta", "w1", "msg_1", at(0))))
	must(t, s.EnqueueDelivery(ctx, delivery("d2", "ta", "w2", "msg_2", at(0))))
	must(t, s.EnqueueDelivery(ctx, delivery("d3", "ta", "w1", "msg_3", at(time.Hour))))
	lease := at(time.Minute)
	ds, eps := claim(t, s, at(time.Second), lease, 10)
	if len(ds) != 2 || ds[0].Attempts != 1 || !ds[0].NextAttemptAt.Equal(us(lease)) || eps["w1"].ID != "w1" || eps["w2"].ID != "w2" {
		t.Fatalf("claimed %+v, endpoints %v", ds, eps)
	}
	if again, _ := claim(t, s, at(2*time.Second), lease, 10); len(again) != 0 {
		t.Fatalf("claimed again within the lease: %+v", again)
	}
	next := us(at(time.Hour))
	failing := ok(s.FinishDeliveries(ctx, []webhook.Result{
		{DeliveryID: "d1", EndpointID: "w1", At: at(3 * time.Second), OK: true, Status: 200, Latency: 12 * time.Millisecond, Response: "ok"},
		{DeliveryID: "d2", EndpointID: "w2", At: at(3 * time.Second), Status: 503, Error: "http_status", Next: &next},
	}, at(-time.Hour)))(t)
	if len(failing) != 0 {
		t.Fatalf("failing endpoints %+v", failing)
	}
	d1 := ok(s.GetDelivery(ctx, "ta", "w1", "d1"))(t)
	if d1.Status != webhook.Succeeded || d1.LastStatus != 200 || d1.LastLatency != 12*time.Millisecond || d1.LastResponse != "ok" || !d1.LastAttemptAt.Equal(us(at(3*time.Second))) {
		t.Fatalf("d1 %+v", d1)
	}
	d2 := ok(s.GetDelivery(ctx, "ta", "w2", "d2"))(t)
	if d2.Status != webhook.Pending || !d2.NextAttemptAt.Equal(next) || d2.LastStatus != 503 || d2.LastError != "http_status" {
		t.Fatalf("d2 %+v", d2)
	}
	if w2 := ok(s.GetWebhook(ctx, "ta", "w2"))(t); w2.FailingSince == nil || !w2.FailingSince.Equal(us(at(3*time.Second))) {
		t.Fatalf("w2 failing since %v", w2.FailingSince)
	}
	// The lease ended and the retry is due: both pending ones come back.
	ds, _ = claim(t, s, at(2*time.Hour), at(3*time.Hour), 10)
	if len(ds) != 2 {
		t.Fatalf("claimed %+v", ds)
	}
	// w2 fails again, two hours into its streak: past a one-hour limit.
	failing = ok(s.FinishDeliveries(ctx, []webhook.Result{
		{DeliveryID: "d2", EndpointID: "w2", At: at(2 * time.Hour), Error: "timeout"},
		{DeliveryID: "d3", EndpointID: "w1", At: at(2 * time.Hour), OK: true, Status: 204},
	}, at(time.Hour)))(t)
	if len(failing) != 1 || failing[0].ID != "w2" {
		t.Fatalf("failing endpoints %+v", failing)
	}
	if d2 := ok(s.GetDelivery(ctx, "ta", "w2", "d2"))(t); d2.Status != webhook.Failed || d2.Attempts != 2 {
		t.Fatalf("d2 after its last attempt %+v", d2)
	}
	// A redelivery makes it pending and due again, attempts reset.
	d2 = ok(s.RedeliverWebhook(ctx, "ta", "w2", "d2", at(3*time.Hour)))(t)
	if d2.Status != webhook.Pending || d2.Attempts != 0 || !d2.NextAttemptAt.Equal(us(at(3*time.Hour))) || d2.MessageID != "msg_2" {
		t.Fatalf("redelivered %+v", d2)
	}
}

func claim(t *testing.T, s store.Store, now, lease time.Time, limit int) ([]webhook.Delivery, map[string]webhook.Endpoint) {
	t.Helper()
	ds, eps, err := s.ClaimDeliveries(t.Context(), now, lease, limit)
	must(t, err)
	return ds, eps
}

// testWebhookDisableFailsPending: disabling an endpoint fails its waiting
// deliveries, so no worker sends them; enabling clears the failure streak.
func testWebhookDisableFailsPending(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:owner")
	e := endpoint("w1", "ta")
	must(t, s.CreateWebhook(ctx, e))
	must(t, s.EnqueueDelivery(ctx, delivery("d1", "ta", "w1", "msg_1", at(0))))
	ok(s.FinishDeliveries(ctx, []webhook.Result{{DeliveryID: "none", EndpointID: "w1", At: at(0), Error: "timeout"}}, at(-time.Hour)))(t)
	disabled, enabled := webhook.Disabled, webhook.Enabled
	got := ok(s.UpdateWebhook(ctx, "ta", "w1", webhook.EndpointPatch{Status: &disabled, DisabledReason: webhook.ReasonByUser}, at(time.Minute)))(t)
	if got.Status != webhook.Disabled || got.DisabledReason != webhook.ReasonByUser || got.FailingSince == nil {
		t.Fatalf("disabled %+v", got)
	}
	if ds, _ := claim(t, s, at(time.Hour), at(2*time.Hour), 10); len(ds) != 0 {
		t.Fatalf("claimed for a disabled endpoint: %+v", ds)
	}
	if d := ok(s.GetDelivery(ctx, "ta", "w1", "d1"))(t); d.Status != webhook.Failed || d.LastError != "endpoint_disabled" {
		t.Fatalf("pending delivery of a disabled endpoint: %+v", d)
	}
	if got := ok(s.UpdateWebhook(ctx, "ta", "w1", webhook.EndpointPatch{Status: &enabled}, at(time.Minute)))(t); got.FailingSince != nil || got.DisabledReason != "" {
		t.Fatalf("enabled %+v", got)
	}
}

// testWebhookPatchKeepsConcurrentDisable: the race of a PATCH with the
// worker, played in both orders. A PATCH read before the worker disabled
// the endpoint and written after writes only its own fields, so the
// endpoint stays disabled; a disable read before a user re-enabled the
// endpoint and written after changes nothing.
func testWebhookPatchKeepsConcurrentDisable(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:owner")
	must(t, s.CreateWebhook(ctx, endpoint("w1", "ta")))
	ok(s.FinishDeliveries(ctx, []webhook.Result{{DeliveryID: "none", EndpointID: "w1", At: at(0), Error: "timeout"}}, at(-time.Hour)))(t)
	stale := ok(s.GetWebhook(ctx, "ta", "w1"))(t) // the PATCH's read, and the worker's
	disabled, enabled := webhook.Disabled, webhook.Enabled
	ok(s.UpdateWebhook(ctx, "ta", "w1", webhook.EndpointPatch{Status: &disabled, DisabledReason: webhook.ReasonFailing, IfFailing: stale.FailingSince}, at(time.Minute)))(t)
	desc := "renamed"
	got := ok(s.UpdateWebhook(ctx, "ta", "w1", webhook.EndpointPatch{Description: &desc}, at(2*time.Minute)))(t)
	if got.Status != webhook.Disabled || got.DisabledReason != webhook.ReasonFailing || got.Description != desc || got.URL != stale.URL {
		t.Fatalf("after the PATCH: %+v", got)
	}
	// The user re-enables; the worker's disable from its earlier read
	// (failing since stale.FailingSince) no longer applies.
	ok(s.UpdateWebhook(ctx, "ta", "w1", webhook.EndpointPatch{Status: &enabled}, at(3*time.Minute)))(t)
	_, err := s.UpdateWebhook(ctx, "ta", "w1", webhook.EndpointPatch{Status: &disabled, DisabledReason: webhook.ReasonFailing, IfFailing: stale.FailingSince}, at(4*time.Minute))
	wantConflict(t, err, webhook.CodeWebhookChanged)
	if got := ok(s.GetWebhook(ctx, "ta", "w1"))(t); got.Status != webhook.Enabled {
		t.Fatalf("after the stale disable: %+v", got)
	}
}

// testWebhookClaimsNeverShared: workers on two replicas claiming at once
// never take the same delivery (FOR UPDATE SKIP LOCKED on PostgreSQL, the
// single writer on SQLite), and together take every one.
func testWebhookClaimsNeverShared(t *testing.T, b AuditBackend) {
	ctx := t.Context()
	s := b.Store
	newTenant(t, s, "ta", "user:owner")
	must(t, s.CreateWebhook(ctx, endpoint("w1", "ta")))
	const n = 300
	for i := range n {
		must(t, s.EnqueueDelivery(ctx, delivery(fmt.Sprintf("d%03d", i), "ta", "w1", fmt.Sprintf("msg_%03d", i), at(0))))
	}
	warmUp(t, s)
	warmUp(t, b.Replica)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := range 6 {
		st := []store.Store{s, b.Replica}[w%2]
		wg.Go(func() {
			for {
				ds, _, err := st.ClaimDeliveries(ctx, at(time.Second), at(time.Hour), 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d distinct deliveries, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("%s was claimed %d times", id, c)
		}
	}
}

// testWebhookTenantOwnerEmails: the active owners of the tenant, by
// address, at most limit; not its other members, nor another tenant's
// owners, nor a disabled owner.
func testWebhookTenantOwnerEmails(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, u := range []identity.User{user("o1", "zed@x.example"), user("o2", "amy@x.example"), user("o3", "off@x.example"),
		user("m1", "member@x.example"), user("b1", "other@x.example")} {
		must(t, s.CreateUser(ctx, u))
	}
	off := ok(s.GetUser(ctx, "o3"))(t)
	off.Status = identity.UserDisabled
	must(t, s.UpdateUser(ctx, off))
	newTenant(t, s, "ta", "user:o1")
	newTenant(t, s, "tb", "user:b1")
	addMember(t, s, "ta", "user:o2", identity.RoleAdmin, identity.RoleOwner)
	addMember(t, s, "ta", "user:o3", identity.RoleOwner)
	addMember(t, s, "ta", "user:m1", identity.RoleAdmin)
	addMember(t, s, "ta", "agent:a1", identity.RoleOwner)
	check(t, "owners", ok(s.TenantOwnerEmails(ctx, "ta", 10))(t), []string{"amy@x.example", "zed@x.example"})
	check(t, "limited", ok(s.TenantOwnerEmails(ctx, "ta", 1))(t), []string{"amy@x.example"})
	check(t, "unknown tenant", ok(s.TenantOwnerEmails(ctx, "nope", 10))(t), []string{})
}
