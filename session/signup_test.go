package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/mail"
	"github.com/tollgate/tollgate/session"
)

// TestInviteOnlySignupDoesTheSameWork: with signup invite_only, an address
// without an invitation gets no email, but its request makes the same
// write as an invited one (its pending sign-up, audited), so that neither
// the answer nor its time tells whether an invitation exists.
func TestInviteOnlySignupDoesTheSameWork(t *testing.T) {
	tpl, err := mail.LoadTemplates("", nil)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(e *env, d *session.Deps) {
		d.Signups = e.st
		d.Signup = session.SignupOptions{Mode: session.SignupInviteOnly, TTL: time.Hour, LinkBase: "https://app.example", Mail: tpl}
	})
	ctx := context.Background()
	owner := e.user(t, "owner@a.example")
	tn := e.tenant(t, owner, "acme")
	now := e.clock.Now().UTC()
	_, hash := identity.NewLinkToken(identity.InvitationTokenPrefix)
	if err := e.st.CreateInvitation(ctx, identity.Invitation{
		ID: "01jz0000000000000000000001", TenantID: tn.ID, Email: "invited@x.example", Roles: []string{identity.RoleMember},
		InvitedBy: owner.ActorID(), Status: identity.InvitationPending, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(time.Hour),
	}, hash); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"stranger@x.example", "invited@x.example"} {
		if err := e.svc.Signup(ctx, session.SignupRequest{Email: email, Password: "a long enough passphrase 42"}); err != nil {
			t.Fatalf("sign-up of %s: %v", email, err)
		}
	}
	msgs, err := e.st.ListMail(ctx, cursor.Page{})
	if err != nil || len(msgs) != 1 || msgs[0].To != "invited@x.example" || msgs[0].Kind != mail.KindVerifyEmail {
		t.Fatalf("outbox %+v, %v", msgs, err)
	}
	events, err := e.st.ReadAudit(ctx, "", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	requests := 0
	for _, ev := range events {
		if ev.Action == audit.ActionSignupRequest {
			requests++
		}
	}
	if requests != 2 {
		t.Fatalf("%d sign-up requests written, want 2 (one each)", requests)
	}
}
