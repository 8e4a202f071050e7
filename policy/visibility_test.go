package policy_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/policy"
)

// TestChannelVisibility is the channel defaults' table: who may READ,
// SEND_MESSAGE and MANAGE a public, a private and a channel that says
// nothing (private), without being listed in it. Members read what is
// public; admins and owners manage every channel but read only what a
// member may; nobody sends unless the channel lists them.
func TestChannelVisibility(t *testing.T) {
	src := &fakeSource{data: map[string]policy.TenantData{}}
	src.set(policy.TenantData{
		TenantID: "7", Active: true,
		Members: []policy.Member{
			{ActorID: "user:1", Roles: []string{"owner"}, Active: true},
			{ActorID: "user:2", Roles: []string{"admin"}, Active: true},
			{ActorID: "user:93", Roles: []string{"member"}, Active: true},
			{ActorID: "user:94", Roles: []string{"member"}, Active: true},
		},
		Resources: []policy.Resource{
			{Type: "channel", ID: "public", Attrs: map[string]any{"visibility": "public", "members": []any{"user:94"}}},
			{Type: "channel", ID: "private", Attrs: map[string]any{"visibility": "private", "members": []any{"user:94"}}},
			{Type: "channel", ID: "absent", Attrs: map[string]any{"members": []any{"user:94"}}},
		},
	})
	// Tenant 8's member is an outsider to tenant 7.
	src.set(policy.TenantData{TenantID: "8", Active: true, Members: []policy.Member{{ActorID: "user:800", Roles: []string{"member"}, Active: true}}})
	e := newEngine(t, src)

	// A row gives, per visibility, the reasons for READ, SEND_MESSAGE and
	// MANAGE; "" is a deny with default_deny.
	type row [3]string
	for _, c := range []struct {
		who, principal          string
		public, private, absent row
	}{
		{"member", "user:93", row{"channel_public", "", ""}, row{"", "", ""}, row{"", "", ""}},
		{"admin", "user:2", row{"channel_public", "", "channel_admin"}, row{"", "", "channel_admin"}, row{"", "", "channel_admin"}},
		{"owner", "user:1", row{"channel_public", "", "channel_admin"}, row{"", "", "channel_admin"}, row{"", "", "channel_admin"}},
		{"outsider", "user:800", row{"", "", ""}, row{"", "", ""}, row{"", "", ""}},
		{"listed member", "user:94", row{"channel_member channel_public", "channel_member", ""}, row{"channel_member", "channel_member", ""}, row{"channel_member", "channel_member", ""}},
	} {
		for channel, r := range map[string]row{"public": c.public, "private": c.private, "absent": c.absent} {
			for i, action := range []string{"READ", "SEND_MESSAGE", "MANAGE"} {
				t.Run(c.who+"/"+channel+"/"+action, func(t *testing.T) {
					d := e.Authorize(context.Background(), "7", policy.Request{Principal: c.principal, Action: action, Resource: policy.ResourceRef{Type: "channel", ID: channel}})
					want, reasons := policy.Permit, strings.Fields(r[i])
					if r[i] == "" {
						want, reasons = policy.Deny, []string{policy.ReasonDefaultDeny}
					}
					if d.Decision != want || !slices.Equal(d.Reasons, reasons) {
						t.Fatalf("got %s %v %v, want %s %v", d.Decision, d.Reasons, d.Errors, want, reasons)
					}
				})
			}
		}
	}
}

// TestChannelVisibilityValues: a channel is public or private; any other
// value is refused where it is written, whether registered or carried by
// a request, and a tool's attributes are not a channel's.
func TestChannelVisibilityValues(t *testing.T) {
	c, err := policy.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		r     policy.Resource
		field string // of the refusal; "" when accepted
	}{
		{"public", policy.Resource{Type: "channel", ID: "c", Attrs: map[string]any{"visibility": "public"}}, ""},
		{"private", policy.Resource{Type: "channel", ID: "c", Attrs: map[string]any{"visibility": "private"}}, ""},
		{"absent", policy.Resource{Type: "channel", ID: "c"}, ""},
		{"another word", policy.Resource{Type: "channel", ID: "c", Attrs: map[string]any{"visibility": "Public"}}, "attrs.visibility"},
		{"empty", policy.Resource{Type: "channel", ID: "c", Attrs: map[string]any{"visibility": ""}}, "attrs.visibility"},
		{"not a string", policy.Resource{Type: "channel", ID: "c", Attrs: map[string]any{"visibility": true}}, "attrs.visibility"},
		{"a tool has no visibility", policy.Resource{Type: "tool", ID: "t", Attrs: map[string]any{"visibility": "public"}}, "attrs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ValidateResource(tc.r)
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Kind != fault.Invalid || fe.Field != tc.field {
				t.Fatalf("err %#v, want a validation error of %s", err, tc.field)
			}
		})
	}

	src := &fakeSource{data: map[string]policy.TenantData{}}
	src.set(policy.TenantData{TenantID: "7", Active: true, Members: []policy.Member{{ActorID: "user:93", Roles: []string{"member"}, Active: true}}})
	e := newEngine(t, src)
	read := func(vis string) policy.Decision {
		return e.Authorize(context.Background(), "7", policy.Request{Principal: "user:93", Action: "READ", Resource: policy.ResourceRef{Type: "channel", ID: "x"},
			Entities: []policy.Resource{{Type: "channel", ID: "x", Attrs: map[string]any{"visibility": vis}}}})
	}
	if d := read("public"); d.Decision != policy.Permit || !slices.Equal(d.Reasons, []string{"channel_public"}) {
		t.Fatalf("a public channel the request carries: %+v", d)
	}
	if d := read("everyone"); d.Decision != policy.Deny || !slices.Equal(d.Reasons, []string{policy.ReasonInvalidRequest}) {
		t.Fatalf("a request's channel of another visibility: %+v", d)
	}
}
