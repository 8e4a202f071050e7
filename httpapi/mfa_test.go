package httpapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// appCode is what an authenticator app with secret shows one step from
// now: accepted (one step of skew), and later than any step used so far.
func appCode(t *testing.T, secret string) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, time.Now().Add(30*time.Second), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func nowCode(t *testing.T, secret string) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func otherCode(c string) string {
	b := []byte(c)
	b[5] = '0' + (b[5]-'0'+1)%10
	return string(b)
}

func anyOf(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestTOTPSignIn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		start, confirm, disable := "/v1/users/me/mfa/totp", "/v1/users/me/mfa/totp/confirm", "/v1/users/me/mfa/totp/disable"
		// Only the user's own session enrols.
		_, key := createKey(t, ts, w.memberTok, map[string]any{"name": "k", "tenant_id": w.tenantA, "scopes": []string{"tenant:read"}})
		expect(t, ts.withKey("POST", start, key, nil), http.StatusForbidden, "session_required")
		expect(t, ts.do("POST", confirm, w.memberTok, map[string]any{"code": "123456"}), http.StatusNotFound, "totp_not_enrolled")

		en := ts.do("POST", start, w.memberTok, nil)
		expect(t, en, http.StatusOK, "")
		secret := en.str("secret")
		if !strings.HasPrefix(en.str("otpauth_uri"), "otpauth://totp/") || !strings.Contains(en.str("otpauth_uri"), "secret="+secret) {
			t.Fatalf("enrolment %s", en.raw)
		}
		expect(t, ts.do("POST", confirm, w.memberTok, map[string]any{"code": "12a456"}), http.StatusBadRequest, "invalid_mfa_code")
		expect(t, ts.do("POST", confirm, w.memberTok, map[string]any{"code": otherCode(nowCode(t, secret))}), http.StatusForbidden, "invalid_mfa_code")
		expect(t, ts.do("POST", confirm, w.memberTok, map[string]any{"code": strings.Repeat("1", 100)}), http.StatusBadRequest, "invalid_mfa_code")
		done := ts.do("POST", confirm, w.memberTok, map[string]any{"code": nowCode(t, secret)})
		expect(t, done, http.StatusOK, "")
		codes := done.strs("recovery_codes")
		if len(codes) != 10 {
			t.Fatalf("recovery codes %s", done.raw)
		}
		expect(t, ts.do("POST", start, w.memberTok, nil), http.StatusConflict, "totp_already_enabled")

		// The password now answers with a challenge, not tokens.
		ch := ts.do("POST", "/v1/auth/login", "", map[string]any{"email": w.member.Email, "password": testPassword, "tenant": w.tenantA})
		expect(t, ch, http.StatusOK, "")
		if ch.str("access_token") != "" || ch.body["mfa_required"] != true || !strings.HasPrefix(ch.str("mfa_token"), "tgmfa_") ||
			!slices.Equal(anyOf(ch.body["factors"]), []string{"totp", "recovery_code"}) {
			t.Fatalf("challenge %s", ch.raw)
		}
		// Not a member of B: refused before any challenge.
		expect(t, ts.do("POST", "/v1/auth/login", "", map[string]any{"email": w.member.Email, "password": testPassword, "tenant": w.tenantB}),
			http.StatusForbidden, "tenant_access_denied")

		mfa := "/v1/auth/mfa"
		tok := ch.str("mfa_token")
		expect(t, ts.do("POST", mfa, "", map[string]any{"mfa_token": "tgmfa_x", "code": "123456"}), http.StatusBadRequest, "invalid_mfa_token")
		expect(t, ts.do("POST", mfa, "", map[string]any{"mfa_token": tok}), http.StatusBadRequest, "invalid_mfa_code")
		expect(t, ts.do("POST", mfa, "", map[string]any{"mfa_token": tok, "code": otherCode(appCode(t, secret))}), http.StatusUnauthorized, "invalid_mfa_code")
		signed := ts.do("POST", mfa, "", map[string]any{"mfa_token": tok, "code": appCode(t, secret)})
		expect(t, signed, http.StatusOK, "")
		full := []string{"pwd", "otp", "mfa"}
		if !slices.Equal(signed.strs("amr"), full) || signed.body["actor"].(map[string]any)["tenant_id"] != w.tenantA {
			t.Fatalf("session %s", signed.raw)
		}
		if amr := anyOf(jwtClaims(t, signed.str("access_token"))["amr"]); !slices.Equal(amr, full) {
			t.Fatalf("amr claim %v", amr)
		}
		if me := ts.do("GET", "/v1/auth/me", signed.str("access_token"), nil); !slices.Equal(me.strs("amr"), full) {
			t.Fatalf("me %s", me.raw)
		}
		expect(t, ts.do("POST", mfa, "", map[string]any{"mfa_token": tok, "code": appCode(t, secret)}), http.StatusUnauthorized, "invalid_mfa_token")

		// A recovery code works once.
		tok = ts.do("POST", "/v1/auth/login", "", map[string]any{"email": w.member.Email, "password": testPassword}).str("mfa_token")
		expect(t, ts.do("POST", mfa, "", map[string]any{"mfa_token": tok, "recovery_code": codes[0]}), http.StatusOK, "")
		tok = ts.do("POST", "/v1/auth/login", "", map[string]any{"email": w.member.Email, "password": testPassword}).str("mfa_token")
		expect(t, ts.do("POST", mfa, "", map[string]any{"mfa_token": tok, "recovery_code": codes[0]}), http.StatusUnauthorized, "invalid_mfa_code")

		// New recovery codes take the password or a code, as disabling
		// does; the old ones stop working.
		regen := "/v1/users/me/mfa/recovery-codes"
		expect(t, ts.withKey("POST", regen, key, map[string]any{"password": testPassword}), http.StatusForbidden, "session_required")
		expect(t, ts.do("POST", regen, w.memberTok, map[string]any{}), http.StatusBadRequest, "invalid_mfa_code")
		expect(t, ts.do("POST", regen, w.memberTok, map[string]any{"password": "not it"}), http.StatusForbidden, "wrong_password")
		expect(t, ts.do("POST", regen, w.memberTok, map[string]any{"password": testPassword, "code": "123456"}), http.StatusBadRequest, "invalid_mfa_code")
		fresh := ts.do("POST", regen, w.memberTok, map[string]any{"password": testPassword})
		expect(t, fresh, http.StatusOK, "")
		newCodes := fresh.strs("recovery_codes")
		if len(newCodes) != 10 || slices.Contains(newCodes, codes[1]) {
			t.Fatalf("new recovery codes %s", fresh.raw)
		}
		tok = ts.do("POST", "/v1/auth/login", "", map[string]any{"email": w.member.Email, "password": testPassword}).str("mfa_token")
		expect(t, ts.do("POST", mfa, "", map[string]any{"mfa_token": tok, "recovery_code": codes[1]}), http.StatusUnauthorized, "invalid_mfa_code")
		expect(t, ts.do("POST", mfa, "", map[string]any{"mfa_token": tok, "recovery_code": newCodes[0]}), http.StatusOK, "")

		// Disabling takes the password and ends the other sessions; then
		// the password alone signs in.
		other := signed.str("access_token")
		expect(t, ts.do("GET", "/v1/auth/me", other, nil), http.StatusOK, "")
		expect(t, ts.do("POST", disable, w.memberTok, map[string]any{}), http.StatusBadRequest, "invalid_mfa_code")
		expect(t, ts.do("POST", disable, w.memberTok, map[string]any{"password": "not it"}), http.StatusForbidden, "wrong_password")
		expect(t, ts.do("POST", disable, w.memberTok, map[string]any{"password": testPassword}), http.StatusNoContent, "")
		expect(t, ts.do("GET", "/v1/auth/me", other, nil), http.StatusUnauthorized, "token_revoked")
		expect(t, ts.do("GET", "/v1/auth/me", w.memberTok, nil), http.StatusOK, "")
		expect(t, ts.do("POST", regen, w.memberTok, map[string]any{"password": testPassword}), http.StatusNotFound, "totp_not_enrolled")
		if amr := ts.login(w.member.Email, w.tenantA).strs("amr"); !slices.Equal(amr, []string{"pwd"}) {
			t.Fatalf("amr %v", amr)
		}
	})
}

func TestTenantRequiresMFA(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		a := "/v1/tenants/" + w.tenantA
		expect(t, ts.do("PATCH", a, w.ownerTok, map[string]any{"mfa": "always"}), http.StatusBadRequest, "invalid_mfa")
		expect(t, ts.do("PATCH", a, w.memberTok, map[string]any{"mfa": "required"}), http.StatusForbidden, "permission_denied")
		// Another tenant's owner cannot tell the tenant exists.
		expect(t, ts.do("PATCH", a, w.outBTok, map[string]any{"mfa": "required"}), http.StatusNotFound, "tenant_not_found")
		r := ts.do("PATCH", a, w.ownerTok, map[string]any{"mfa": "required"})
		expect(t, r, http.StatusOK, "")
		if r.str("mfa") != "required" {
			t.Fatalf("tenant %s", r.raw)
		}
		if got := ts.do("GET", "/v1/tenants/"+w.tenantB, w.outBTok, nil).str("mfa"); got != "optional" {
			t.Fatalf("tenant B mfa %q", got)
		}

		// A member without a factor is told to enrol, with the token to.
		p := ts.do("POST", "/v1/auth/login", "", map[string]any{"email": w.admin.Email, "password": testPassword, "tenant": w.tenantA})
		expect(t, p, http.StatusForbidden, "mfa_enrollment_required")
		tok := p.str("mfa_token")
		if !strings.HasPrefix(tok, "tgmfa_") || p.body["expires_in"] != float64(300) || p.str("access_token") != "" {
			t.Fatalf("problem %s", p.raw)
		}
		expect(t, ts.do("POST", "/v1/auth/mfa", "", map[string]any{"mfa_token": tok, "code": "123456"}), http.StatusUnauthorized, "invalid_mfa_token")
		expect(t, ts.do("POST", "/v1/auth/mfa/totp/enrol", "", map[string]any{"mfa_token": "tgmfa_bad"}), http.StatusBadRequest, "invalid_mfa_token")
		en := ts.do("POST", "/v1/auth/mfa/totp/enrol", "", map[string]any{"mfa_token": tok})
		expect(t, en, http.StatusOK, "")
		confirm := "/v1/auth/mfa/totp/confirm"
		expect(t, ts.do("POST", confirm, "", map[string]any{"mfa_token": tok, "code": otherCode(nowCode(t, en.str("secret")))}), http.StatusUnauthorized, "invalid_mfa_code")
		s := ts.do("POST", confirm, "", map[string]any{"mfa_token": tok, "code": nowCode(t, en.str("secret"))})
		expect(t, s, http.StatusOK, "")
		if s.body["actor"].(map[string]any)["tenant_id"] != w.tenantA || len(s.strs("recovery_codes")) != 10 || !slices.Equal(s.strs("amr"), []string{"pwd", "otp", "mfa"}) {
			t.Fatalf("enrolled session %s", s.raw)
		}
		expect(t, ts.do("POST", confirm, "", map[string]any{"mfa_token": tok, "code": nowCode(t, en.str("secret"))}), http.StatusUnauthorized, "invalid_mfa_token")

		// From now on the password alone asks for the factor, whatever
		// the tenant.
		outside := ts.login(w.admin.Email, "")
		if outside.body["mfa_required"] != true {
			t.Fatalf("a user with a factor signed in with the password alone: %s", outside.raw)
		}
	})
}
