package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/internal/passkeytest"
)

// The test server's issuer is http://tollgate.test: the relying party is
// tollgate.test and its one origin http://tollgate.test.
const passkeyOrigin = "http://tollgate.test"

// registerPasskey adds a passkey held by a to the session token's user.
func registerPasskey(t *testing.T, ts *testServer, token string, a *passkeytest.Authenticator) response {
	t.Helper()
	r := ts.do("POST", "/v1/users/me/passkeys/register/begin", token, nil)
	expect(t, r, http.StatusOK, "")
	answer, err := a.Register(r.raw)
	if err != nil {
		t.Fatal(err)
	}
	return ts.do("POST", "/v1/users/me/passkeys/register/finish", token, map[string]any{"name": "Laptop", "credential": json.RawMessage(answer)})
}

// assertWith answers the request options r carries with a.
func assertWith(t *testing.T, r response, a *passkeytest.Authenticator) json.RawMessage {
	t.Helper()
	expect(t, r, http.StatusOK, "")
	answer, err := a.Assert(r.raw)
	if err != nil {
		t.Fatal(err)
	}
	return answer
}

func amrOf(r response) []string {
	var out []string
	list, _ := r.body["amr"].([]any)
	for _, v := range list {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

func TestPasskeysOverHTTP(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		ann := ts.user("ann@passkeys.example", false)
		bob := ts.user("bob@passkeys.example", false)
		tnA, err := ts.app.Identity.CreateTenant(ctx, ann.ActorID(), identity.NewTenant{Slug: "pk-a"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.app.Identity.CreateTenant(ctx, bob.ActorID(), identity.NewTenant{Slug: "pk-b"}); err != nil {
			t.Fatal(err)
		}
		annTok := ts.login(ann.Email, "pk-a").str("access_token")
		bobTok := ts.login(bob.Email, "pk-b").str("access_token")

		// Register, list, rename.
		key := passkeytest.New(passkeyOrigin)
		r := registerPasskey(t, ts, annTok, key)
		expect(t, r, http.StatusCreated, "")
		id := r.str("id")
		if r.str("name") != "Laptop" || r.body["user_verified"] != true || r.body["backup_eligible"] != false ||
			r.str("aaguid") != "00000000-0000-0000-0000-000000000000" {
			t.Fatalf("passkey %s", r.raw)
		}
		expect(t, registerPasskey(t, ts, annTok, key), http.StatusConflict, "passkey_exists")
		r = ts.do("GET", "/v1/users/me/passkeys", annTok, nil)
		expect(t, r, http.StatusOK, "")
		if items, _ := r.body["items"].([]any); len(items) != 1 {
			t.Fatalf("list %s", r.raw)
		}
		r = ts.do("PATCH", "/v1/users/me/passkeys/"+id, annTok, map[string]any{"name": "Work laptop"})
		expect(t, r, http.StatusOK, "")
		if r.str("name") != "Work laptop" {
			t.Fatalf("renamed %s", r.raw)
		}

		// Bad input.
		expect(t, ts.do("PATCH", "/v1/users/me/passkeys/"+id, annTok, map[string]any{"name": strings.Repeat("n", 65)}), http.StatusBadRequest, "invalid_passkey_name")
		expect(t, ts.do("POST", "/v1/users/me/passkeys/register/finish", annTok, map[string]any{"credential": strings.Repeat("x", 17<<10)}), http.StatusBadRequest, "invalid_passkey")
		expect(t, ts.do("POST", "/v1/users/me/passkeys/register/finish", annTok, map[string]any{"credential": map[string]any{}, "extra": 1}), http.StatusBadRequest, "unknown_field")
		expect(t, ts.do("POST", "/v1/auth/passkey/finish", "", map[string]any{"credential": strings.Repeat("x", 17<<10)}), http.StatusBadRequest, "invalid_passkey")
		expect(t, ts.do("POST", "/v1/users/me/passkeys/"+id+"/delete", annTok, map[string]any{}), http.StatusBadRequest, "invalid_mfa_code")

		// Another tenant's user sees none of it.
		expect(t, ts.do("PATCH", "/v1/users/me/passkeys/"+id, bobTok, map[string]any{"name": "mine"}), http.StatusNotFound, "passkey_not_found")
		expect(t, ts.do("POST", "/v1/users/me/passkeys/"+id+"/delete", bobTok, map[string]any{"password": testPassword}), http.StatusNotFound, "passkey_not_found")
		r = ts.do("GET", "/v1/users/me/passkeys", bobTok, nil)
		if items, _ := r.body["items"].([]any); r.status != http.StatusOK || len(items) != 0 {
			t.Fatalf("bob's list %s", r.raw)
		}

		// The second factor of a password sign-in.
		r = ts.do("POST", "/v1/auth/login", "", map[string]any{"email": ann.Email, "password": testPassword})
		expect(t, r, http.StatusOK, "")
		if r.body["mfa_required"] != true || !slices.Equal(anyStrings(r.body["factors"]), []string{"webauthn"}) {
			t.Fatalf("login %s", r.raw)
		}
		mfaToken := r.str("mfa_token")
		answer := assertWith(t, ts.do("POST", "/v1/auth/mfa/webauthn", "", map[string]any{"mfa_token": mfaToken}), key)
		r = ts.do("POST", "/v1/auth/mfa", "", map[string]any{"mfa_token": mfaToken, "webauthn": answer})
		expect(t, r, http.StatusOK, "")
		if !slices.Equal(amrOf(r), []string{"pwd", "hwk", "mfa"}) {
			t.Fatalf("mfa sign-in %s", r.raw)
		}

		// Passwordless, into tenant A, once per ceremony.
		answer = assertWith(t, ts.do("POST", "/v1/auth/passkey/begin", "", nil), key)
		r = ts.do("POST", "/v1/auth/passkey/finish", "", map[string]any{"credential": answer, "tenant": "pk-a"})
		expect(t, r, http.StatusOK, "")
		actor, _ := r.body["actor"].(map[string]any)
		if !slices.Equal(amrOf(r), []string{"hwk", "mfa"}) || actor["id"] != ann.ActorID() || actor["tenant_id"] != tnA.ID {
			t.Fatalf("passwordless %s", r.raw)
		}
		expect(t, ts.do("POST", "/v1/auth/passkey/finish", "", map[string]any{"credential": answer}), http.StatusUnauthorized, "invalid_passkey")
		// Into bob's tenant: refused as a password sign-in is.
		answer = assertWith(t, ts.do("POST", "/v1/auth/passkey/begin", "", nil), key)
		expect(t, ts.do("POST", "/v1/auth/passkey/finish", "", map[string]any{"credential": answer, "tenant": "pk-b"}), http.StatusForbidden, "tenant_access_denied")
		// A phishing page's answer.
		phished := *key
		phished.Origin = "http://tollgate.test.evil.example"
		answer = assertWith(t, ts.do("POST", "/v1/auth/passkey/begin", "", nil), &phished)
		expect(t, ts.do("POST", "/v1/auth/passkey/finish", "", map[string]any{"credential": answer}), http.StatusUnauthorized, "invalid_passkey")
		key.Count = phished.Count

		// Removing takes proof: the password, or a passkey's answer.
		expect(t, ts.do("POST", "/v1/users/me/passkeys/"+id+"/delete", annTok, map[string]any{"password": "not it"}), http.StatusForbidden, "wrong_password")
		answer = assertWith(t, ts.do("POST", "/v1/users/me/passkeys/reauth/begin", annTok, nil), key)
		expect(t, ts.do("POST", "/v1/users/me/passkeys/"+id+"/delete", annTok, map[string]any{"webauthn": answer}), http.StatusNoContent, "")
		r = ts.do("GET", "/v1/users/me/passkeys", annTok, nil)
		if items, _ := r.body["items"].([]any); len(items) != 0 {
			t.Fatalf("after delete %s", r.raw)
		}
		// With none left, the password signs in alone again.
		if ts.login(ann.Email, "").str("access_token") == "" {
			t.Fatal("no session")
		}
	})
}

func anyStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestPasskeyEnrolmentOverHTTP(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		expect(t, ts.do("PATCH", "/v1/tenants/"+w.tenantA, w.ownerTok, map[string]any{"mfa": "required"}), http.StatusOK, "")
		p := ts.do("POST", "/v1/auth/login", "", map[string]any{"email": w.admin.Email, "password": testPassword, "tenant": w.tenantA})
		expect(t, p, http.StatusForbidden, "mfa_enrollment_required")
		tok := p.str("mfa_token")

		expect(t, ts.do("POST", "/v1/auth/mfa/webauthn/enrol", "", map[string]any{"mfa_token": "tgmfa_bad"}), http.StatusBadRequest, "invalid_mfa_token")
		key := passkeytest.New(passkeyOrigin)
		r := ts.do("POST", "/v1/auth/mfa/webauthn/enrol", "", map[string]any{"mfa_token": tok})
		expect(t, r, http.StatusOK, "")
		answer, err := key.Register(r.raw)
		if err != nil {
			t.Fatal(err)
		}
		confirm := "/v1/auth/mfa/webauthn/confirm"
		expect(t, ts.do("POST", confirm, "", map[string]any{"mfa_token": tok, "credential": strings.Repeat("x", 17<<10)}), http.StatusBadRequest, "invalid_passkey")
		s := ts.do("POST", confirm, "", map[string]any{"mfa_token": tok, "name": "Laptop", "credential": json.RawMessage(answer)})
		expect(t, s, http.StatusOK, "")
		if s.body["actor"].(map[string]any)["tenant_id"] != w.tenantA || !slices.Equal(amrOf(s), []string{"pwd", "hwk", "mfa"}) {
			t.Fatalf("enrolled session %s", s.raw)
		}
		expect(t, ts.do("POST", confirm, "", map[string]any{"mfa_token": tok, "credential": json.RawMessage(answer)}), http.StatusUnauthorized, "invalid_mfa_token")
		// The passkey is the factor from now on.
		r = ts.do("POST", "/v1/auth/login", "", map[string]any{"email": w.admin.Email, "password": testPassword, "tenant": w.tenantA})
		if r.body["mfa_required"] != true || !slices.Equal(anyStrings(r.body["factors"]), []string{"webauthn"}) {
			t.Fatalf("login %s", r.raw)
		}
	})
}
