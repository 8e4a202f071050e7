package httpapi_test

import (
	"context"
	"net/http"
	"testing"
)

// TestReplicasShareSessions runs two replicas on one store: a token issued by
// one works on the other, and a logout on one reaches the other at its next
// revocation sync.
func TestReplicasShareSessions(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := b.open(t)
			// Replicas share the master key, as they must in production.
			one := newTestServer(t, st)
			two := newTestServerWithKey(t, st, one.masterKey)
			one.user("shared@example.com", false)
			login := one.login("shared@example.com", "")
			tok := login.str("access_token")
			expect(t, two.do("GET", "/v1/auth/me", tok, nil), http.StatusOK, "")

			expect(t, one.do("POST", "/v1/auth/logout", tok, nil), http.StatusNoContent, "")
			expect(t, one.do("GET", "/v1/auth/me", tok, nil), http.StatusUnauthorized, "token_revoked")
			if err := two.app.SyncRevocations(context.Background()); err != nil {
				t.Fatal(err)
			}
			expect(t, two.do("GET", "/v1/auth/me", tok, nil), http.StatusUnauthorized, "token_revoked")
			// The refresh token died with the session on every replica.
			expect(t, two.do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": login.str("refresh_token")}), http.StatusUnauthorized, "invalid_refresh_token")
		})
	}
}
