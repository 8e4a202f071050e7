package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/mail"
)

// mailedToken reads the newest message to email in the outbox (the
// embedded default keeps every body) and returns the link token in it.
func mailedToken(t *testing.T, ts *testServer, email, prefix string) string {
	t.Helper()
	msgs, err := ts.listMail(context.Background(), cursor.Page{Limit: cursor.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.To != email {
			continue
		}
		i := strings.Index(m.Text, prefix)
		if i < 0 || len(m.Text) < i+len(prefix)+43 {
			t.Fatalf("no %s token in %q", prefix, m.Text)
		}
		return m.Text[i : i+len(prefix)+43]
	}
	t.Fatalf("no message to %s in %+v", email, msgs)
	return ""
}

func TestInvitationNewAccount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		base := "/v1/tenants/" + w.tenantA + "/invitations"
		r := ts.do("POST", base, w.adminTok, map[string]any{"email": " New.Person@A.EXAMPLE", "roles": []string{"member"}})
		expect(t, r, http.StatusAccepted, "")
		if r.str("email") != "new.person@a.example" || r.str("status") != "pending" || r.str("token") != "" {
			t.Fatalf("invitation %s", r.raw)
		}
		if ids := listAll(t, ts, w.memberTok, base, "id"); !slices.Equal(ids, []string{r.str("id")}) {
			t.Fatalf("pending %v", ids)
		}
		msgs, err := ts.listMail(context.Background(), cursor.Page{})
		if err != nil || len(msgs) != 1 || msgs[0].Kind != mail.KindInvitation || msgs[0].TenantID != w.tenantA ||
			!strings.Contains(msgs[0].Text, "http://") || !strings.Contains(msgs[0].Text, "/invitations/accept?token=tginv_") ||
			!strings.Contains(msgs[0].HTML, "/invitations/accept?token=tginv_") {
			t.Fatalf("outbox %+v, %v", msgs, err)
		}
		tok := mailedToken(t, ts, "new.person@a.example", identity.InvitationTokenPrefix)
		accept := "/v1/invitations/accept"
		expect(t, ts.do("POST", accept, "", map[string]any{"token": tok}), http.StatusBadRequest, "invalid_password")
		expect(t, ts.do("POST", accept, "", map[string]any{"token": tok, "password": "password"}), http.StatusBadRequest, "")
		// Signed in as someone else: the invitation is not theirs.
		expect(t, ts.do("POST", accept, w.memberTok, map[string]any{"token": tok, "password": testPassword}), http.StatusForbidden, "invitation_email_mismatch")

		ok := ts.do("POST", accept, "", map[string]any{"token": tok, "password": testPassword, "display_name": "New Person"})
		expect(t, ok, http.StatusOK, "")
		tokens := ok.body["tokens"].(map[string]any)
		member := ok.body["member"].(map[string]any)
		if member["tenant_id"] != w.tenantA || tokens["access_token"] == "" || tokens["refresh_token"] == "" {
			t.Fatalf("accepted %s", ok.raw)
		}
		me := ts.do("GET", "/v1/auth/me", tokens["access_token"].(string), nil)
		expect(t, me, http.StatusOK, "")
		if me.str("tenant_id") != w.tenantA || !slices.Equal(me.strs("roles"), []string{"member"}) {
			t.Fatalf("me %s", me.raw)
		}
		ts.login("new.person@a.example", w.tenantA)
		// Single use.
		expect(t, ts.do("POST", accept, "", map[string]any{"token": tok, "password": testPassword}), http.StatusConflict, "invitation_used")
		if ids := listAll(t, ts, w.memberTok, base, "id"); len(ids) != 0 {
			t.Fatalf("still pending %v", ids)
		}
	})
}

func TestInvitationExistingAccount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		base := "/v1/tenants/" + w.tenantA + "/invitations"
		expect(t, ts.do("POST", base, w.adminTok, map[string]any{"email": w.outB.Email, "roles": []string{"admin"}}), http.StatusAccepted, "")
		tok := mailedToken(t, ts, w.outB.Email, identity.InvitationTokenPrefix)
		accept := "/v1/invitations/accept"
		expect(t, ts.do("POST", accept, "", map[string]any{"token": tok, "password": testPassword}), http.StatusUnauthorized, "sign_in_required")
		expect(t, ts.do("POST", accept, w.memberTok, map[string]any{"token": tok}), http.StatusForbidden, "invitation_email_mismatch")
		// Only the person's session: an API key of theirs is refused.
		_, key := createKey(t, ts, w.outBTok, map[string]any{"name": "k", "scopes": []string{"tenant:read"}})
		expect(t, ts.withKey("POST", accept, key, map[string]any{"token": tok}), http.StatusForbidden, "session_required")
		ok := ts.do("POST", accept, w.outBTok, map[string]any{"token": tok})
		expect(t, ok, http.StatusOK, "")
		if _, has := ok.body["tokens"]; has {
			t.Fatalf("an existing account got new tokens: %s", ok.raw)
		}
		expect(t, ts.do("GET", "/v1/tenants/"+w.tenantA+"/members/"+w.outB.ActorID(), w.adminTok, nil), http.StatusOK, "")
		ts.login(w.outB.Email, w.tenantA)
		expect(t, ts.do("POST", accept, w.outBTok, map[string]any{"token": tok}), http.StatusConflict, "invitation_used")
	})
}

func TestInvitationResendRevoke(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		base := "/v1/tenants/" + w.tenantA + "/invitations"
		inv := ts.do("POST", base, w.adminTok, map[string]any{"email": "x@a.example", "roles": []string{"member"}}).str("id")
		first := mailedToken(t, ts, "x@a.example", identity.InvitationTokenPrefix)
		expect(t, ts.do("POST", base, w.adminTok, map[string]any{"email": "X@a.example", "roles": []string{"member"}}), http.StatusConflict, "invitation_pending")
		expect(t, ts.do("POST", base+"/"+inv+"/resend", w.adminTok, nil), http.StatusAccepted, "")
		second := mailedToken(t, ts, "x@a.example", identity.InvitationTokenPrefix)
		if first == second {
			t.Fatal("resending kept the token")
		}
		accept := "/v1/invitations/accept"
		expect(t, ts.do("POST", accept, "", map[string]any{"token": first, "password": testPassword}), http.StatusNotFound, "invalid_invitation_token")
		expect(t, ts.do("DELETE", base+"/"+inv, w.adminTok, nil), http.StatusNoContent, "")
		expect(t, ts.do("POST", accept, "", map[string]any{"token": second, "password": testPassword}), http.StatusConflict, "invitation_revoked")
		expect(t, ts.do("DELETE", base+"/"+inv, w.adminTok, nil), http.StatusNotFound, "invitation_not_found")
		expect(t, ts.do("POST", base+"/"+inv+"/resend", w.adminTok, nil), http.StatusNotFound, "invitation_not_found")
	})
}

func TestInvitationRightsAndTenants(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		base := "/v1/tenants/" + w.tenantA + "/invitations"
		// Never a role above the inviter's; members may not invite.
		expect(t, ts.do("POST", base, w.adminTok, map[string]any{"email": "o@a.example", "roles": []string{"owner"}}), http.StatusForbidden, "permission_denied")
		expect(t, ts.do("POST", base, w.memberTok, map[string]any{"email": "o@a.example", "roles": []string{"member"}}), http.StatusForbidden, "permission_denied")
		inv := ts.do("POST", base, w.ownerTok, map[string]any{"email": "o@a.example", "roles": []string{"owner"}}).str("id")
		// An admin may not resend an owner's invitation either.
		expect(t, ts.do("POST", base+"/"+inv+"/resend", w.adminTok, nil), http.StatusForbidden, "permission_denied")

		// Another tenant's invitation: 404 through either tenant's path.
		baseB := "/v1/tenants/" + w.tenantB + "/invitations"
		expect(t, ts.do("DELETE", baseB+"/"+inv, w.outBTok, nil), http.StatusNotFound, "invitation_not_found")
		expect(t, ts.do("POST", baseB+"/"+inv+"/resend", w.outBTok, nil), http.StatusNotFound, "invitation_not_found")
		expect(t, ts.do("DELETE", base+"/"+inv, w.outBTok, nil), http.StatusNotFound, "tenant_not_found")
		expect(t, ts.do("GET", base, w.outBTok, nil), http.StatusNotFound, "tenant_not_found")
		if ids := listAll(t, ts, w.outBTok, baseB, "id"); len(ids) != 0 {
			t.Fatalf("tenant B lists %v", ids)
		}
	})
}

func TestInvitationBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		base := "/v1/tenants/" + w.tenantA + "/invitations"
		for _, c := range []struct {
			name string
			body any
			code string
		}{
			{"no email", map[string]any{"roles": []string{"member"}}, "invalid_email"},
			{"not an address", map[string]any{"email": "nobody", "roles": []string{"member"}}, "invalid_email"},
			{"invisible character", map[string]any{"email": "ali\u200bce@a.example", "roles": []string{"member"}}, "invalid_email"},
			{"oversized", map[string]any{"email": strings.Repeat("a", 300) + "@a.example", "roles": []string{"member"}}, "invalid_email"},
			{"no roles", map[string]any{"email": "r@a.example"}, "invalid_roles"},
			{"unknown role", map[string]any{"email": "r@a.example", "roles": []string{"wizard"}}, "unknown_role"},
		} {
			t.Run(c.name, func(t *testing.T) {
				expect(t, ts.do("POST", base, w.adminTok, c.body), http.StatusBadRequest, c.code)
			})
		}
		accept := "/v1/invitations/accept"
		valid, _ := identity.NewLinkToken(identity.InvitationTokenPrefix)
		for _, c := range []struct {
			name  string
			token string
			code  string
		}{
			{"empty", "", "invalid_invitation_token"},
			{"wrong prefix", "tgpwr_" + valid[len(identity.InvitationTokenPrefix):], "invalid_invitation_token"},
			{"truncated", valid[:len(valid)-1], "invalid_invitation_token"},
			{"not base64url", valid[:len(valid)-1] + "!", "invalid_invitation_token"},
			{"oversized", valid + strings.Repeat("A", 4096), "invalid_invitation_token"},
		} {
			t.Run("accept "+c.name, func(t *testing.T) {
				expect(t, ts.do("POST", accept, "", map[string]any{"token": c.token, "password": testPassword}), http.StatusBadRequest, c.code)
			})
		}
		// Well formed but unknown.
		expect(t, ts.do("POST", accept, "", map[string]any{"token": valid, "password": testPassword}), http.StatusNotFound, "invalid_invitation_token")
		if ids := listAll(t, ts, w.adminTok, base, "id"); len(ids) != 0 {
			t.Fatalf("bad input created %v", ids)
		}
	})
}

// TestInvitationLookalikeEmails: case and spaces are normalised, so that
// one address is one invitation and one account; a lookalike in another
// script is another address, and its invitation is not the look-alike
// account's to accept.
func TestInvitationLookalikeEmails(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		base := "/v1/tenants/" + w.tenantA + "/invitations"
		alice := ts.user("alice@b.example", false)
		aliceTok := ts.login(alice.Email, "").str("access_token")
		accept := "/v1/invitations/accept"

		// Cyrillic а (U+0430) for the first letter.
		expect(t, ts.do("POST", base, w.adminTok, map[string]any{"email": "\u0430lice@b.example", "roles": []string{"member"}}), http.StatusAccepted, "")
		tok := mailedToken(t, ts, "\u0430lice@b.example", identity.InvitationTokenPrefix)
		expect(t, ts.do("POST", accept, aliceTok, map[string]any{"token": tok}), http.StatusForbidden, "invitation_email_mismatch")

		// The same address in other case is the same account.
		expect(t, ts.do("POST", base, w.adminTok, map[string]any{"email": "  ALICE@B.Example ", "roles": []string{"member"}}), http.StatusAccepted, "")
		tok = mailedToken(t, ts, "alice@b.example", identity.InvitationTokenPrefix)
		expect(t, ts.do("POST", accept, aliceTok, map[string]any{"token": tok}), http.StatusOK, "")
	})
}

// TestAddMemberByEmailRevealsNothing: adding a member by address answers
// alike whether or not the address has an account — it invites.
func TestAddMemberByEmailRevealsNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		base := "/v1/tenants/" + w.tenantA + "/members"
		ts.user("exists@a.example", false)
		known := ts.do("POST", base, w.adminTok, map[string]any{"email": "exists@a.example", "roles": []string{"member"}})
		unknown := ts.do("POST", base, w.adminTok, map[string]any{"email": "nobody@a.example", "roles": []string{"member"}})
		expect(t, known, http.StatusAccepted, "")
		expect(t, unknown, http.StatusAccepted, "")
		keys := func(r response) []string {
			return slices.Sorted(func(yield func(string) bool) {
				for k := range r.body {
					if !yield(k) {
						return
					}
				}
			})
		}
		if !slices.Equal(keys(known), keys(unknown)) || known.str("status") != unknown.str("status") ||
			len(known.header.Get("Location")) != len(unknown.header.Get("Location")) {
			t.Fatalf("answers differ:\n%s\n%s", known.raw, unknown.raw)
		}
	})
}
