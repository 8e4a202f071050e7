package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/examples/internal/fakepdp"
	"github.com/tollgate/tollgate/examples/internal/seedsvc"
	"github.com/tollgate/tollgate/identity"
)

// channelPolicy mimics the default policies for tenant "t1", whose users
// are all members and user:admin and user:owner its admins: admins
// MANAGE_TENANT and MANAGE every registered channel; members of a channel
// READ and SEND_MESSAGE, its managers also MANAGE; every member READs a
// public channel.
func channelPolicy(f **fakepdp.Server) func(q fakepdp.Question) string {
	return func(q fakepdp.Question) string {
		if q.TenantID != "t1" {
			return ""
		}
		admin := q.Principal == "user:admin" || q.Principal == "user:owner"
		if q.Resource.Type != "channel" {
			if admin && q.Action == "MANAGE_TENANT" {
				return "tenant_admin"
			}
			return ""
		}
		attrs := (*f).Resource("t1/channel/" + q.Resource.ID)
		has := func(attr string) bool {
			list, _ := attrs[attr].([]any)
			return slices.Contains(list, any(q.Principal))
		}
		switch {
		case attrs == nil:
		case q.Action != "MANAGE" && has("members"):
			return "channel_member"
		case has("managers"):
			return "channel_manager"
		case q.Action == "READ" && attrs["visibility"] == "public" && strings.HasPrefix(q.Principal, "user:"):
			return "channel_public"
		case q.Action == "MANAGE" && admin:
			return "channel_admin"
		}
		return ""
	}
}

func TestMessaging(t *testing.T) {
	var f *fakepdp.Server
	f = fakepdp.New(t, channelPolicy(&f))
	pdp, reg := f.Clients(t)
	h := (&server{Server: seedsvc.Server{PDP: pdp}, registry: reg, channels: map[key]*channel{}}).routes(fakepdp.Actors(map[string]identity.ActorContext{
		"owner":    {ActorID: "user:owner", TenantID: "t1"},
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
	if attrs := f.Resource("t1/channel/general"); attrs == nil || len(attrs["managers"].([]any)) != 1 || attrs["visibility"] != "private" {
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

	// The owner's private channel: the admin sees and changes its
	// settings, not its messages; making it public lets every member read
	// it, and still only its members send.
	if code, out := fakepdp.Send(t, h, "PUT", "/channels/board", "owner", map[string]any{"name": "board", "members": []string{"user:owner"}}); code != http.StatusCreated {
		t.Fatalf("the owner creating: %d %v", code, out)
	}
	if code, out := fakepdp.Send(t, h, "GET", "/channels/board", "admin", nil); code != http.StatusOK || out["visibility"] != "private" || out["name"] != "board" {
		t.Fatalf("the admin seeing a private channel's settings: %d %v", code, out)
	}
	for _, who := range []string{"admin", "member"} {
		if code, _ := fakepdp.Send(t, h, "GET", "/channels/board/messages", who, nil); code != http.StatusForbidden {
			t.Fatalf("%s reading a private channel: %d", who, code)
		}
	}
	if code, out := fakepdp.Send(t, h, "PATCH", "/channels/board", "admin", map[string]any{"visibility": "public"}); code != http.StatusOK || out["visibility"] != "public" {
		t.Fatalf("the admin making it public: %d %v", code, out)
	}
	if code, _ := fakepdp.Send(t, h, "GET", "/channels/board/messages", "member", nil); code != http.StatusOK {
		t.Fatalf("a member reading a public channel: %d", code)
	}
	if code, _ := fakepdp.Send(t, h, "POST", "/channels/board/messages", "member", map[string]string{"text": "hi"}); code != http.StatusForbidden {
		t.Fatalf("a member not listed sending to a public channel: %d", code)
	}
	if code, _ := fakepdp.Send(t, h, "GET", "/channels/board", "member", nil); code != http.StatusForbidden {
		t.Fatalf("a member seeing a channel's settings: %d", code)
	}
	if code, _ := fakepdp.Send(t, h, "GET", "/channels/nowhere", "admin", nil); code != http.StatusForbidden {
		t.Fatalf("an unregistered channel: %d", code)
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
