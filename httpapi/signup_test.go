package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/identity"
)

func TestSignupOffByDefault(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		expect(t, ts.do("POST", "/v1/auth/signup", "", map[string]any{"email": "new@x.example", "password": newPassword}), http.StatusForbidden, "signup_disabled")
	})
}

func TestSignupOpen(t *testing.T) {
	forEachBackendWithConfig(t, func(c *config.Config) { c.Signup = "open" }, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		signup, verify := "/v1/auth/signup", "/v1/auth/verify"
		for _, c := range []struct {
			name string
			body map[string]any
		}{
			{"bad email", map[string]any{"email": "nope", "password": newPassword}},
			{"weak password", map[string]any{"email": "new@x.example", "password": "password"}},
			{"no password", map[string]any{"email": "new@x.example"}},
			{"invisible name", map[string]any{"email": "new@x.example", "password": newPassword, "display_name": "a\u200bb"}},
		} {
			t.Run(c.name, func(t *testing.T) { expect(t, ts.do("POST", signup, "", c.body), http.StatusBadRequest, "") })
		}
		// A new address and one with an account answer alike.
		fresh := ts.do("POST", signup, "", map[string]any{"email": " New@X.example", "password": newPassword, "display_name": "New"})
		taken := ts.do("POST", signup, "", map[string]any{"email": w.member.Email, "password": newPassword})
		expect(t, fresh, http.StatusAccepted, "")
		expect(t, taken, http.StatusAccepted, "")
		if string(fresh.raw) != string(taken.raw) {
			t.Fatalf("answers differ: %q, %q", fresh.raw, taken.raw)
		}
		msgs, err := ts.listMail(context.Background(), cursor.Page{})
		if err != nil || len(msgs) != 2 {
			t.Fatalf("outbox %+v, %v", msgs, err)
		}
		for _, m := range msgs {
			if m.To == w.member.Email && strings.Contains(m.Text, identity.VerifyTokenPrefix) {
				t.Fatalf("an existing account got a sign-up link: %q", m.Text)
			}
		}
		// The account does not exist before verification.
		expect(t, ts.do("POST", "/v1/auth/login", "", map[string]any{"email": "new@x.example", "password": newPassword}), http.StatusUnauthorized, "invalid_credentials")
		tok := mailedToken(t, ts, "new@x.example", identity.VerifyTokenPrefix)
		expect(t, ts.do("POST", verify, "", map[string]any{"token": "tgver_short"}), http.StatusBadRequest, "invalid_verification_token")
		other, _ := identity.NewLinkToken(identity.VerifyTokenPrefix)
		expect(t, ts.do("POST", verify, "", map[string]any{"token": other}), http.StatusNotFound, "invalid_verification_token")
		ok := ts.do("POST", verify, "", map[string]any{"token": tok})
		expect(t, ok, http.StatusOK, "")
		me := ts.do("GET", "/v1/auth/me", ok.str("access_token"), nil)
		expect(t, me, http.StatusOK, "")
		expect(t, ts.do("POST", verify, "", map[string]any{"token": tok}), http.StatusConflict, "verification_token_used")
		expect(t, ts.do("POST", "/v1/auth/login", "", map[string]any{"email": "new@x.example", "password": newPassword}), http.StatusOK, "")
	})
}

func TestSignupInviteOnly(t *testing.T) {
	forEachBackendWithConfig(t, func(c *config.Config) { c.Signup = "invite_only" }, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		expect(t, ts.do("POST", "/v1/tenants/"+w.tenantA+"/invitations", w.adminTok, map[string]any{"email": "invited@x.example", "roles": []string{"member"}}), http.StatusAccepted, "")
		expect(t, ts.do("POST", "/v1/auth/signup", "", map[string]any{"email": "stranger@x.example", "password": newPassword}), http.StatusAccepted, "")
		expect(t, ts.do("POST", "/v1/auth/signup", "", map[string]any{"email": "invited@x.example", "password": newPassword}), http.StatusAccepted, "")
		msgs, _ := ts.listMail(context.Background(), cursor.Page{})
		for _, m := range msgs {
			if m.To == "stranger@x.example" {
				t.Fatal("an address without an invitation got a sign-up link")
			}
		}
		mailedToken(t, ts, "invited@x.example", identity.VerifyTokenPrefix)
	})
}
