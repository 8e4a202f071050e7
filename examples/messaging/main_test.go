package main

import (
	"net/http"
	"slices"
	"testing"

	"github.com/tollgate/tollgate/examples/internal/fakepdp"
	"github.com/tollgate/tollgate/examples/internal/seedsvc"
	"github.com/tollgate/tollgate/identity"
)

// channelPolicy mimics the default policies for tenant "t1": admins
// MANAGE_TENANT and do anything on channels; members of a registered
// channel READ and SEND_MESSAGE; its managers MANAGE.
func channelPolicy(f **fakepdp.Server) func(q fakepdp.Question) string {
	return func(q fakepdp.Question) string {
		if q.TenantID != "t1" {
			return ""
		}
		if q.Principal == "user:admin" {
			return "tenant_admin"
		}
		attrs := (*f).Resource("t1/channel/" + q.Resource.ID)
		has := func(attr string) bool {
			list, _ := attrs[attr].([]any)
			return slices.Contains(list, any(q.Principal))
		}
		switch {
		case q.Resource.Type != "channel":
		case (q.Action == "READ" || q.Action == "SEND_MESSAGE") && has("members"):
			return "channel_member"
		case q.Action == "MANAGE" && has("managers"):
			return "channel_manager"
		}
		return ""
	}
}

func TestMessaging(t *testing.T) {
	var f *fakepdp.Server
	f = fakepdp.New(t, channelPolicy(&f))
	pdp, reg := f.Clients(t)
	h := (&server{Server: seedsvc.Server{PDP: pdp}, registry: reg, channels: map[key]*channel{}}).routes(fakepdp.Actors(map[string]identity.ActorContext{
		"admin":    {ActorID: "user:admin", TenantID: "t1"},
		"member":   {ActorID: "user:m", TenantID: "t1"},
		"outsider": {ActorID: "user:o", TenantID: "t2"},
		"agent":    {ActorID: "agent:a", TenantID: "t1", OnBehalfOf: "user:m"},
	}))

	if code, _ := fakepdp.Send(t, h, "PUT", "/channels/general", "member", map[string]any{"members": []string{"user:m"}}); code != http.StatusForbidden {
		t.Fatalf("a member creating a channel: %d", code)
	}
	if code, out := fakepdp.Send(t, h, "PUT", "/channels/general", "admin", map[string]any{"name": "general", "members": []string{"user:m"}}); code != http.StatusCreated {
		t.Fatalf("creating: %d %v", code, out)
	}
	if attrs := f.Resource("t1/channel/general"); attrs == nil || len(attrs["managers"].([]any)) != 1 {
		t.Fatalf("registered: %v", attrs)
	}
	if code, _ := fakepdp.Send(t, h, "PUT", "/channels/general", "admin", map[string]any{}); code != http.StatusConflict {
		t.Fatalf("creating twice: %d", code)
	}
	if code, out := fakepdp.Send(t, h, "PUT", "/channels/bad", "admin", map[string]any{}); code != http.StatusBadRequest || out["code"] != "invalid_resource" {
		t.Fatalf("a channel the registry refuses: %d %v", code, out)
	}
	if code, out := fakepdp.Send(t, h, "POST", "/channels/general/messages", "member", map[string]string{"text": "hi"}); code != http.StatusCreated || out["author"] != "user:m" {
		t.Fatalf("sending: %d %v", code, out)
	}
	code, out := fakepdp.Send(t, h, "GET", "/channels/general/messages", "member", nil)
	if msgs, _ := out["messages"].([]any); code != http.StatusOK || len(msgs) != 1 {
		t.Fatalf("reading: %d %v", code, out)
	}
	code, out = fakepdp.Send(t, h, "POST", "/channels/general/messages", "outsider", map[string]string{"text": "hi"})
	if reasons, _ := out["reasons"].([]any); code != http.StatusForbidden || len(reasons) != 1 || reasons[0] != "default_deny" {
		t.Fatalf("an outsider sending: %d %v", code, out)
	}
	if code, _ := fakepdp.Send(t, h, "PATCH", "/channels/general", "member", map[string]any{"name": "x"}); code != http.StatusForbidden {
		t.Fatalf("a member managing: %d", code)
	}
	if code, out := fakepdp.Send(t, h, "PATCH", "/channels/general", "admin", map[string]any{"members": []string{"user:m", "agent:a"}}); code != http.StatusOK || out["name"] != "general" {
		t.Fatalf("managing: %d %v", code, out)
	}
	if code, out := fakepdp.Send(t, h, "POST", "/channels/general/messages", "agent", map[string]string{"text": "beep"}); code != http.StatusCreated || out["on_behalf_of"] != "user:m" {
		t.Fatalf("the agent sending after being added: %d %v", code, out)
	}
	if code, _ := fakepdp.Send(t, h, "POST", "/channels/general/messages", "member", map[string]string{}); code != http.StatusBadRequest {
		t.Fatalf("an empty message: %d", code)
	}

	// Tollgate unavailable: fail closed.
	f.SetDown(true)
	if code, _ := fakepdp.Send(t, h, "GET", "/channels/general/messages", "member", nil); code != http.StatusServiceUnavailable {
		t.Fatalf("reading, Tollgate down: %d", code)
	}
	if code, _ := fakepdp.Send(t, h, "PUT", "/channels/other", "admin", map[string]any{}); code != http.StatusServiceUnavailable {
		t.Fatalf("creating, Tollgate down: %d", code)
	}
}
