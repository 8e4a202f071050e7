package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/identity"
)

const newPassword = "a different long passphrase 42"

// runResets serves the forgot-password queue for the test's length.
func runResets(t *testing.T, ts *testServer) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ts.app.Sessions.RunResets(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// awaitMail waits for n messages in the outbox: the reset worker writes
// them off the request.
func awaitMail(t *testing.T, ts *testServer, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs, err := ts.listMail(context.Background(), cursor.Page{Limit: cursor.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages in the outbox, want %d", len(msgs), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPasswordReset(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		runResets(t, ts)
		forgot, reset := "/v1/auth/password/forgot", "/v1/auth/password/reset"
		expect(t, ts.do("POST", forgot, "", map[string]any{"email": "not an address"}), http.StatusBadRequest, "invalid_email")
		// An unknown address and a known one answer alike; the queue is
		// served in order, so once the known one's mail is there, the
		// unknown one was handled — and sent nothing.
		unknown := ts.do("POST", forgot, "", map[string]any{"email": "nobody@a.example"})
		known := ts.do("POST", forgot, "", map[string]any{"email": " Member@A.example"})
		expect(t, unknown, http.StatusAccepted, "")
		expect(t, known, http.StatusAccepted, "")
		if string(unknown.raw) != string(known.raw) {
			t.Fatalf("answers differ: %q, %q", unknown.raw, known.raw)
		}
		awaitMail(t, ts, 1)
		msgs, _ := ts.listMail(context.Background(), cursor.Page{})
		if len(msgs) != 1 || msgs[0].To != w.member.Email || msgs[0].TenantID != "" {
			t.Fatalf("outbox %+v", msgs)
		}
		tok := mailedToken(t, ts, w.member.Email, identity.ResetTokenPrefix)

		expect(t, ts.do("POST", reset, "", map[string]any{"token": "tgpwr_short", "new_password": newPassword}), http.StatusBadRequest, "invalid_reset_token")
		bogus, _ := identity.NewLinkToken(identity.ResetTokenPrefix)
		expect(t, ts.do("POST", reset, "", map[string]any{"token": bogus, "new_password": newPassword}), http.StatusNotFound, "invalid_reset_token")
		inv, _ := identity.NewLinkToken(identity.InvitationTokenPrefix)
		expect(t, ts.do("POST", reset, "", map[string]any{"token": inv, "new_password": newPassword}), http.StatusBadRequest, "invalid_reset_token")
		expect(t, ts.do("POST", reset, "", map[string]any{"token": tok, "new_password": "password"}), http.StatusBadRequest, "")
		expect(t, ts.do("POST", reset, "", map[string]any{"token": tok, "new_password": newPassword}), http.StatusNoContent, "")

		// Every session of the user is revoked; the new password signs in.
		expect(t, ts.do("GET", "/v1/auth/me", w.memberTok, nil), http.StatusUnauthorized, "")
		expect(t, ts.do("POST", "/v1/auth/login", "", map[string]any{"email": w.member.Email, "password": testPassword}), http.StatusUnauthorized, "invalid_credentials")
		expect(t, ts.do("POST", "/v1/auth/login", "", map[string]any{"email": w.member.Email, "password": newPassword}), http.StatusOK, "")
		// Single use.
		expect(t, ts.do("POST", reset, "", map[string]any{"token": tok, "new_password": newPassword + "!"}), http.StatusConflict, "reset_token_used")
		// Other members' sessions are untouched.
		expect(t, ts.do("GET", "/v1/auth/me", w.adminTok, nil), http.StatusOK, "")
	})
}

func TestPasswordChange(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		runResets(t, ts)
		change := "/v1/auth/password/change"
		second := ts.login(w.member.Email, w.tenantA).str("access_token")
		// A reset link asked for before the change stops working.
		expect(t, ts.do("POST", "/v1/auth/password/forgot", "", map[string]any{"email": w.member.Email}), http.StatusAccepted, "")
		awaitMail(t, ts, 1)
		tok := mailedToken(t, ts, w.member.Email, identity.ResetTokenPrefix)

		_, key := createKey(t, ts, w.memberTok, map[string]any{"name": "k", "scopes": []string{"tenant:read"}})
		expect(t, ts.withKey("POST", change, key, map[string]any{"current_password": testPassword, "new_password": newPassword}), http.StatusForbidden, "session_required")
		expect(t, ts.do("POST", change, w.memberTok, map[string]any{"current_password": "wrong password!!", "new_password": newPassword}), http.StatusForbidden, "wrong_password")
		expect(t, ts.do("POST", change, w.memberTok, map[string]any{"current_password": testPassword}), http.StatusBadRequest, "invalid_password")
		expect(t, ts.do("POST", change, w.memberTok, map[string]any{"current_password": testPassword, "new_password": "member@a.example"}), http.StatusBadRequest, "")
		expect(t, ts.do("POST", change, w.memberTok, map[string]any{"current_password": testPassword, "new_password": newPassword}), http.StatusNoContent, "")

		// This session stays; the other one is revoked.
		expect(t, ts.do("GET", "/v1/auth/me", w.memberTok, nil), http.StatusOK, "")
		expect(t, ts.do("GET", "/v1/auth/me", second, nil), http.StatusUnauthorized, "")
		expect(t, ts.do("POST", "/v1/auth/password/reset", "", map[string]any{"token": tok, "new_password": "yet another passphrase 7"}), http.StatusConflict, "reset_token_used")
		expect(t, ts.do("POST", "/v1/auth/login", "", map[string]any{"email": w.member.Email, "password": newPassword}), http.StatusOK, "")
	})
}
