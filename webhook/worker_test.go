package webhook_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/mail"
	"github.com/tollgate/tollgate/webhook"
)

// TestWorkerDeliversOnceSigned: an act after the endpoint's creation
// reaches it once, signed, with the audit event's id as webhook-id; acts
// before its creation and of types it does not take do not.
func TestWorkerDeliversOnceSigned(t *testing.T) {
	w := newWorld(t, webhook.WorkerOptions{})
	rc := newReceiver(t, http.StatusOK)
	early := newUser(t, w, "early@a.example")
	w.addMember(t, early) // before the endpoint: not delivered
	e, secret, err := w.hooks.Create(w.ctx, w.ownerS, w.tenantA, webhook.NewEndpoint{URL: rc.URL + "/in", EventTypes: []string{webhook.TypeMemberAdded}})
	must(t, err)
	w.clock.Advance(time.Second)
	w.addMember(t, w.outsider)
	_, err = w.idents.CreateAgent(w.ctx, callerOf(w.owner.ActorID()), w.tenantA, agentNamed("bot")) // not subscribed
	must(t, err)
	w.drain(t)
	w.drain(t) // a second pass finds nothing new

	got := rc.received()
	if len(got) != 1 {
		t.Fatalf("received %d deliveries, want 1", len(got))
	}
	key, err := webhook.SecretKey(secret)
	must(t, err)
	h := got[0].header
	if !webhook.Verify(key, h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature"), got[0].body, w.clock.Now(), 5*time.Minute) {
		t.Fatalf("the signature does not verify: %v", h)
	}
	var msg webhook.Message
	must(t, json.Unmarshal(got[0].body, &msg))
	if msg.Type != webhook.TypeMemberAdded || msg.Data["member_id"] != w.outsider.ActorID() || msg.Data["tenant_id"] != w.tenantA ||
		h.Get("webhook-id") != "msg_"+msg.Data["event_id"].(string) {
		t.Fatalf("message %s with id %s", got[0].body, h.Get("webhook-id"))
	}
	ds, err := w.hooks.Deliveries(w.ctx, w.ownerS, w.tenantA, e.ID, cursor.Page{})
	must(t, err)
	if len(ds) != 1 || ds[0].Status != webhook.Succeeded || ds[0].Attempts != 1 || ds[0].LastStatus != 200 || ds[0].LastResponse != "answered" {
		t.Fatalf("deliveries %+v", ds)
	}
	if got, want := w.outcomes(), map[string]int{webhook.OutcomeDelivered: 1}; !maps.Equal(got, want) || w.worker.InFlight() != 0 {
		t.Fatalf("observed %v (in flight %d), want %v", got, w.worker.InFlight(), want)
	}
}

// TestWorkerRetriesThenDisables: a failing endpoint is tried on the
// specification's schedule, the delivery fails after the last attempt, and
// the endpoint is disabled once it has failed for DisableAfter, with an
// audit event and an email to the tenant's owners (not its members); every
// attempt is observed with its outcome.
func TestWorkerRetriesThenDisables(t *testing.T) {
	w := newWorld(t, webhook.WorkerOptions{DisableAfter: 24 * time.Hour})
	rc := newReceiver(t, http.StatusInternalServerError)
	e, _, err := w.hooks.Create(w.ctx, w.ownerS, w.tenantA, webhook.NewEndpoint{URL: rc.URL})
	must(t, err)
	w.clock.Advance(time.Second)
	w.addMember(t, w.outsider)
	w.drain(t)
	delays := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	for i, d := range delays {
		ds, err := w.hooks.Deliveries(w.ctx, w.ownerS, w.tenantA, e.ID, cursor.Page{})
		must(t, err)
		if len(ds) != 1 || ds[0].Status != webhook.Pending || ds[0].Attempts != i+1 || ds[0].LastStatus != 500 || ds[0].LastError != "http_status" {
			t.Fatalf("after attempt %d: %+v", i+1, ds)
		}
		if want := ds[0].LastAttemptAt.Add(d); !ds[0].NextAttemptAt.Equal(want) {
			t.Fatalf("after attempt %d: next at %v, want %v", i+1, ds[0].NextAttemptAt, want)
		}
		w.clock.Advance(d - time.Second)
		w.drain(t)
		if n := len(rc.received()); n != i+1 {
			t.Fatalf("attempt %d was sent early: %d requests", i+2, n)
		}
		w.clock.Advance(time.Second)
		w.drain(t)
	}
	if n := len(rc.received()); n != webhook.MaxAttempts {
		t.Fatalf("%d attempts, want %d", n, webhook.MaxAttempts)
	}
	ds, err := w.hooks.Deliveries(w.ctx, w.ownerS, w.tenantA, e.ID, cursor.Page{})
	must(t, err)
	if ds[0].Status != webhook.Failed {
		t.Fatalf("after the last attempt: %+v", ds[0])
	}
	got, err := w.hooks.Get(w.ctx, w.ownerS, w.tenantA, e.ID)
	must(t, err)
	if got.Status != webhook.Disabled || got.DisabledReason != webhook.ReasonFailing {
		t.Fatalf("endpoint %+v", got)
	}
	head, err := w.st.AuditHead(w.ctx, w.tenantA)
	must(t, err)
	evs, err := w.st.ReadAudit(w.ctx, w.tenantA, head.Seq-1, 1)
	must(t, err)
	if len(evs) != 1 || evs[0].Action != audit.ActionWebhookDisable || evs[0].TargetID != e.ID || evs[0].Reason != webhook.ReasonFailing {
		t.Fatalf("last audit event %+v", evs)
	}
	msgs, err := w.st.ListMail(w.ctx, cursor.Page{Limit: 10})
	must(t, err)
	if len(msgs) != 1 || msgs[0].To != w.owner.Email || msgs[0].Kind != mail.KindWebhookDisabled || msgs[0].TenantID != w.tenantA ||
		!strings.Contains(msgs[0].Text, rc.URL) || !strings.Contains(msgs[0].Text, e.ID) {
		t.Fatalf("outbox %+v", msgs)
	}
	if got, want := w.outcomes(), map[string]int{webhook.OutcomeRetry: webhook.MaxAttempts - 1, webhook.OutcomeFailed: 1}; !maps.Equal(got, want) {
		t.Fatalf("observed %v, want %v", got, want)
	}
	// Re-enabled, it works again and its failure streak is forgotten.
	enabled := webhook.Enabled
	got, err = w.hooks.Update(w.ctx, w.ownerS, w.tenantA, e.ID, webhook.EndpointPatch{Status: &enabled})
	must(t, err)
	if got.Status != webhook.Enabled || got.FailingSince != nil || got.DisabledReason != "" {
		t.Fatalf("re-enabled endpoint %+v", got)
	}
}

// TestWorkerRedeliverKeepsMessageID: a redelivery sends the same
// webhook-id again, with a fresh set of attempts.
func TestWorkerRedeliverKeepsMessageID(t *testing.T) {
	w := newWorld(t, webhook.WorkerOptions{})
	rc := newReceiver(t, http.StatusNoContent)
	e, _, err := w.hooks.Create(w.ctx, w.ownerS, w.tenantA, webhook.NewEndpoint{URL: rc.URL})
	must(t, err)
	d, err := w.hooks.Test(w.ctx, w.ownerS, w.tenantA, e.ID)
	must(t, err)
	w.drain(t)
	again, err := w.hooks.Redeliver(w.ctx, w.ownerS, w.tenantA, e.ID, d.ID)
	must(t, err)
	if again.Status != webhook.Pending || again.Attempts != 0 {
		t.Fatalf("redelivery %+v", again)
	}
	w.drain(t)
	got := rc.received()
	if len(got) != 2 || got[0].header.Get("webhook-id") != got[1].header.Get("webhook-id") || got[0].header.Get("webhook-id") != d.MessageID {
		t.Fatalf("received %d, ids %q %q, want twice %q", len(got), got[0].header.Get("webhook-id"), got[len(got)-1].header.Get("webhook-id"), d.MessageID)
	}
}

// TestWorkerRotationSendsBothSignatures: during the overlap a delivery
// carries a signature by each secret; after it, only the new one's.
func TestWorkerRotationSendsBothSignatures(t *testing.T) {
	w := newWorld(t, webhook.WorkerOptions{})
	rc := newReceiver(t, http.StatusOK)
	e, oldSecret, err := w.hooks.Create(w.ctx, w.ownerS, w.tenantA, webhook.NewEndpoint{URL: rc.URL})
	must(t, err)
	overlap := int64(3600)
	_, newSecret, err := w.hooks.Rotate(w.ctx, w.ownerS, w.tenantA, e.ID, &overlap)
	must(t, err)
	_, err = w.hooks.Test(w.ctx, w.ownerS, w.tenantA, e.ID)
	must(t, err)
	w.drain(t)
	w.clock.Advance(time.Hour + time.Second)
	_, err = w.hooks.Test(w.ctx, w.ownerS, w.tenantA, e.ID)
	must(t, err)
	w.drain(t)
	got := rc.received()
	if len(got) != 2 {
		t.Fatalf("received %d", len(got))
	}
	oldKey, _ := webhook.SecretKey(oldSecret)
	newKey, _ := webhook.SecretKey(newSecret)
	verify := func(r received, key []byte) bool {
		h := r.header
		return webhook.Verify(key, h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature"), r.body, w.clock.Now(), 2*time.Hour)
	}
	if !verify(got[0], oldKey) || !verify(got[0], newKey) {
		t.Fatalf("during the overlap both secrets must verify: %q", got[0].header.Get("webhook-signature"))
	}
	if verify(got[1], oldKey) || !verify(got[1], newKey) {
		t.Fatalf("after the overlap only the new secret may verify: %q", got[1].header.Get("webhook-signature"))
	}
}
