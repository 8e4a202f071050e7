package session_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/session"
)

// wantRevoked fails unless session sid was revoked for reason, recorded in
// this process's revocations and announced.
func wantRevoked(t *testing.T, e *env, sid, reason string) {
	t.Helper()
	s := e.session(t, sid)
	if s.RevokedAt == nil || s.RevokeReason != reason {
		t.Fatalf("session %s: revoked at %v for %q, want %q", sid, s.RevokedAt, s.RevokeReason, reason)
	}
	if !e.revoked.Revoked(sid) {
		t.Fatalf("session %s not in the revocations", sid)
	}
	if !slices.Contains(e.announced.revoked(), sid) {
		t.Fatalf("revocation of %s not announced: %v", sid, e.announced.revoked())
	}
}

// wantLive fails unless session sid is untouched.
func wantLive(t *testing.T, e *env, sid string) {
	t.Helper()
	if s := e.session(t, sid); s.RevokedAt != nil {
		t.Fatalf("session %s revoked (%s)", sid, s.RevokeReason)
	}
	if e.revoked.Revoked(sid) || slices.Contains(e.announced.revoked(), sid) {
		t.Fatalf("session %s recorded or announced as revoked", sid)
	}
}

func TestRefreshRotatesWithinTheSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	ctx := context.Background()
	first := e.login(t, "ann@example.com", "beta")
	e.clock.Advance(time.Hour)
	next, err := e.svc.Refresh(ctx, first.RefreshToken, session.Client{IP: "192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	if next.RefreshToken == first.RefreshToken || !strings.HasPrefix(next.RefreshToken, "tgr_") ||
		next.SessionID != first.SessionID || next.ActorID != w.ann.ActorID() || next.TenantID != w.beta.ID ||
		!slices.Equal(next.Roles, []string{"member"}) || next.AccessToken == first.AccessToken {
		t.Fatalf("refresh = %+v", next)
	}
	now := e.clock.Now()
	if cl := e.claims(t, next.AccessToken); cl.SessionID != first.SessionID || !cl.IssuedAt.Equal(now) || cl.TenantID != w.beta.ID {
		t.Fatalf("claims = %+v", cl)
	}
	// The refresh token's expiry slides.
	if s := e.session(t, first.SessionID); !s.RefreshedAt.Equal(now) || !s.ExpiresAt.Equal(now.Add(refreshTTL)) {
		t.Fatalf("session = %+v", s)
	}
	// The new token rotates again; nothing was revoked or announced.
	if _, err := e.svc.Refresh(ctx, next.RefreshToken, session.Client{}); err != nil {
		t.Fatal(err)
	}
	wantLive(t, e, first.SessionID)
}

func TestRefreshRefusesWhatIsNotALiveRefreshToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	newWorld(t, e)
	tok := e.login(t, "ann@example.com", "")
	cases := []struct{ name, raw string }{
		{"empty", ""},
		{"no prefix", strings.TrimPrefix(tok.RefreshToken, "tgr_")},
		{"an access token", tok.AccessToken},
		{"over 128 bytes", tok.RefreshToken + strings.Repeat("A", 128)},
		{"unknown", "tgr_" + strings.Repeat("A", 43)},
		{"changed by one character", tok.RefreshToken[:len(tok.RefreshToken)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(tok.RefreshToken, "A")]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := e.svc.Refresh(context.Background(), c.raw, session.Client{})
			wantFault(t, err, fault.Unauthenticated, "invalid_refresh_token")
			if got.AccessToken != "" || got.RefreshToken != "" {
				t.Fatalf("tokens with an error: %+v", got)
			}
		})
	}
	// None of it touched the session.
	wantLive(t, e, tok.SessionID)
	if _, err := e.svc.Refresh(context.Background(), tok.RefreshToken, session.Client{}); err != nil {
		t.Fatal(err)
	}
}

func TestRefreshAfterTheRefreshTTLIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	newWorld(t, e)
	tok := e.login(t, "ann@example.com", "")
	e.clock.Advance(refreshTTL)
	_, err := e.svc.Refresh(context.Background(), tok.RefreshToken, session.Client{})
	wantFault(t, err, fault.Unauthenticated, "invalid_refresh_token")
	// Expiry is not theft: nothing is revoked.
	if e.revoked.Revoked(tok.SessionID) || len(e.announced.revoked()) != 0 {
		t.Fatal("an expired refresh token revoked its session")
	}
}

// TestRefreshTokenReuseRevokesTheSession: a rotated refresh token presented
// again means two parties hold it; the whole family ends (RFC 9700).
func TestRefreshTokenReuseRevokesTheSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	newWorld(t, e)
	ctx := context.Background()
	stolen := e.login(t, "ann@example.com", "")
	other := e.login(t, "ann@example.com", "")
	bobs := e.login(t, "bob@example.com", "")
	next, err := e.svc.Refresh(ctx, stolen.RefreshToken, session.Client{})
	if err != nil {
		t.Fatal(err)
	}

	_, err = e.svc.Refresh(ctx, stolen.RefreshToken, session.Client{IP: "203.0.113.5"})
	wantFault(t, err, fault.Unauthenticated, "invalid_refresh_token")
	wantRevoked(t, e, stolen.SessionID, "refresh_reuse")
	if !e.logs.has(slog.LevelWarn, "refresh token reuse: revoking the session family") {
		t.Fatal("reuse not logged")
	}
	// The legitimately rotated token dies with its family.
	_, err = e.svc.Refresh(ctx, next.RefreshToken, session.Client{})
	wantFault(t, err, fault.Unauthenticated, "invalid_refresh_token")
	// Other sessions, the user's own and other users', go on.
	for _, tok := range []session.Tokens{other, bobs} {
		wantLive(t, e, tok.SessionID)
		if _, err := e.svc.Refresh(ctx, tok.RefreshToken, session.Client{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRefreshTokenReuseIsDetectedAfterLogout: a replay is evidence of theft
// whatever state the session is in; the first revocation's reason stays.
func TestRefreshTokenReuseIsDetectedAfterLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	newWorld(t, e)
	ctx := context.Background()
	tok := e.login(t, "ann@example.com", "")
	next, err := e.svc.Refresh(ctx, tok.RefreshToken, session.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Logout(ctx, actor(next), false); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Refresh(ctx, next.RefreshToken, session.Client{})
	wantFault(t, err, fault.Unauthenticated, "invalid_refresh_token")
	if e.logs.has(slog.LevelWarn, "refresh token reuse: revoking the session family") {
		t.Fatal("the unused token of a logged-out session was taken for reuse")
	}
	_, err = e.svc.Refresh(ctx, tok.RefreshToken, session.Client{})
	wantFault(t, err, fault.Unauthenticated, "invalid_refresh_token")
	if !e.logs.has(slog.LevelWarn, "refresh token reuse: revoking the session family") {
		t.Fatal("reuse after logout not detected")
	}
	wantRevoked(t, e, tok.SessionID, "logout")
}

// TestRefreshRereadsTheAccount: a refresh carries current roles, leaves a
// tenant the user left or that was suspended, and stops for a disabled user.
func TestRefreshRereadsTheAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name       string
		change     func(t *testing.T, e *env, w world)
		undo       func(t *testing.T, e *env, w world)
		wantTenant bool
		wantRoles  []string
	}{
		{"roles changed", func(t *testing.T, e *env, w world) {
			if err := e.st.SetMemberRoles(ctx, w.beta.ID, w.ann.ActorID(), []string{"admin"}); err != nil {
				t.Fatal(err)
			}
		}, nil, true, []string{"admin"}},
		{"removed from the tenant", func(t *testing.T, e *env, w world) {
			if err := e.st.RemoveMember(ctx, w.beta.ID, w.ann.ActorID()); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, e *env, w world) { e.join(t, w.beta, w.ann, "member") }, false, []string{}},
		{"tenant suspended", func(t *testing.T, e *env, w world) { e.setTenantStatus(t, w.beta, identity.TenantSuspended) },
			func(t *testing.T, e *env, w world) { e.setTenantStatus(t, w.beta, identity.TenantActive) }, false, []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			w := newWorld(t, e)
			tok := e.login(t, "ann@example.com", "beta")
			c.change(t, e, w)
			next, err := e.svc.Refresh(ctx, tok.RefreshToken, session.Client{})
			if err != nil {
				t.Fatal(err)
			}
			wantTenant := ""
			if c.wantTenant {
				wantTenant = w.beta.ID
			}
			cl := e.claims(t, next.AccessToken)
			if next.TenantID != wantTenant || !slices.Equal(next.Roles, c.wantRoles) || cl.TenantID != wantTenant || !slices.Equal(cl.Roles, c.wantRoles) {
				t.Fatalf("refresh = %+v, claims %+v", next, cl)
			}
			wantLive(t, e, tok.SessionID)
			// The session keeps its tenant: once things are back, so is it.
			if c.undo == nil {
				return
			}
			if s := e.session(t, tok.SessionID); s.TenantID != w.beta.ID {
				t.Fatalf("session's tenant became %q", s.TenantID)
			}
			c.undo(t, e, w)
			again, err := e.svc.Refresh(ctx, next.RefreshToken, session.Client{})
			if err != nil {
				t.Fatal(err)
			}
			if again.TenantID != w.beta.ID || !slices.Equal(again.Roles, []string{"member"}) {
				t.Fatalf("after undo: %+v", again)
			}
		})
	}
}

func TestRefreshOfADisabledUserRevokesTheSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	tok := e.login(t, "ann@example.com", "")
	bobs := e.login(t, "bob@example.com", "")
	e.setUserStatus(t, w.ann.ID, identity.UserDisabled)
	_, err := e.svc.Refresh(context.Background(), tok.RefreshToken, session.Client{})
	wantFault(t, err, fault.Unauthenticated, "invalid_refresh_token")
	wantRevoked(t, e, tok.SessionID, "account_disabled")
	wantLive(t, e, bobs.SessionID)
}

func TestRefreshOfATenantlessSessionStaysTenantless(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	newWorld(t, e)
	tok := e.login(t, "hank@example.com", "")
	next, err := e.svc.Refresh(context.Background(), tok.RefreshToken, session.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if next.TenantID != "" || len(next.Roles) != 0 || e.claims(t, next.AccessToken).TenantID != "" {
		t.Fatalf("refresh = %+v", next)
	}
}

func TestLogoutEndsTheCallersSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	newWorld(t, e)
	ctx := context.Background()
	a, b := e.login(t, "ann@example.com", ""), e.login(t, "ann@example.com", "beta")
	bobs := e.login(t, "bob@example.com", "beta")
	if err := e.svc.Logout(ctx, actor(a), false); err != nil {
		t.Fatal(err)
	}
	wantRevoked(t, e, a.SessionID, "logout")
	if got := e.announced.revoked(); !slices.Equal(got, []string{a.SessionID}) {
		t.Fatalf("announced %v", got)
	}
	_, err := e.svc.Refresh(ctx, a.RefreshToken, session.Client{})
	wantFault(t, err, fault.Unauthenticated, "invalid_refresh_token")
	for _, s := range []session.Tokens{b, bobs} {
		wantLive(t, e, s.SessionID)
	}
	// Logging out again is not an error.
	if err := e.svc.Logout(ctx, actor(a), false); err != nil {
		t.Fatal(err)
	}
	// Nor is logging out of a session that is gone.
	gone := actor(a)
	gone.SessionID = ids.New()
	if err := e.svc.Logout(ctx, gone, false); err != nil {
		t.Fatal(err)
	}
}

func TestLogoutAllEndsEverySessionOfTheCallerInEveryTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	newWorld(t, e)
	ctx := context.Background()
	a, b, c := e.login(t, "ann@example.com", ""), e.login(t, "ann@example.com", "beta"), e.login(t, "hank@example.com", "")
	bobs := e.login(t, "bob@example.com", "beta")
	if err := e.svc.Logout(ctx, actor(b), true); err != nil {
		t.Fatal(err)
	}
	for _, s := range []session.Tokens{a, b} {
		wantRevoked(t, e, s.SessionID, "logout_all")
		_, err := e.svc.Refresh(ctx, s.RefreshToken, session.Client{})
		wantFault(t, err, fault.Unauthenticated, "invalid_refresh_token")
	}
	for _, s := range []session.Tokens{c, bobs} {
		wantLive(t, e, s.SessionID)
	}
}

func TestSwitchTenantOpensANewSessionAndEndsTheOld(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	ctx := context.Background()
	old := e.login(t, "ann@example.com", "")
	next, err := e.svc.SwitchTenant(ctx, actor(old), w.beta.ID, session.Client{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if next.TenantID != w.beta.ID || !slices.Equal(next.Roles, []string{"member"}) || next.SessionID == old.SessionID || next.ActorID != w.ann.ActorID() {
		t.Fatalf("switch = %+v", next)
	}
	if cl := e.claims(t, next.AccessToken); cl.TenantID != w.beta.ID || cl.SessionID != next.SessionID {
		t.Fatalf("claims = %+v", cl)
	}
	wantRevoked(t, e, old.SessionID, "switch")
	wantLive(t, e, next.SessionID)
	_, err = e.svc.Refresh(ctx, old.RefreshToken, session.Client{})
	wantFault(t, err, fault.Unauthenticated, "invalid_refresh_token")
	if _, err := e.svc.Refresh(ctx, next.RefreshToken, session.Client{}); err != nil {
		t.Fatal(err)
	}
}

func TestSwitchTenantRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	cur := e.login(t, "ann@example.com", "")
	cases := []struct {
		name, tenant string
		kind         fault.Kind
		code         string
	}{
		{"a tenant the caller does not belong to", w.gamma.ID, fault.Forbidden, "tenant_access_denied"},
		{"a slug instead of an id", "beta", fault.Forbidden, "tenant_access_denied"},
		{"garbage", "'; --", fault.Forbidden, "tenant_access_denied"},
		{"a tenant that does not exist", ids.New(), fault.Forbidden, "tenant_access_denied"},
		{"a suspended tenant of the caller's", w.frozen.ID, fault.Forbidden, "tenant_suspended"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := e.svc.SwitchTenant(context.Background(), actor(cur), c.tenant, session.Client{})
			wantFault(t, err, c.kind, c.code)
			if got.AccessToken != "" || got.SessionID != "" {
				t.Fatalf("tokens with an error: %+v", got)
			}
			// The current session goes on.
			wantLive(t, e, cur.SessionID)
		})
	}
}
