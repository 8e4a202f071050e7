package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/session"
)

// absoluteLifetime is longer than one refreshTTL and shorter than two, so
// that a session refreshed in time still meets its end.
const absoluteLifetime = 36 * time.Hour

// newLifetimeEnv is newEnv with session_absolute_lifetime set.
func newLifetimeEnv(t *testing.T, lifetime time.Duration) *env {
	t.Helper()
	var deps session.Deps
	e := newEnv(t, func(_ *env, d *session.Deps) { deps = *d })
	e.svc = session.NewService(deps, session.Options{
		Issuer: issuer, Audience: audience, AccessTTL: accessTTL, RefreshTTL: refreshTTL, AbsoluteLifetime: lifetime,
	})
	return e
}

// TestRefreshSlidesUpToTheAbsoluteEnd: each refresh slides the expiry by
// refreshTTL but never past created_at + the absolute lifetime.
func TestRefreshSlidesUpToTheAbsoluteEnd(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		lifetime time.Duration
		// after is when the refresh is made, after the sign-in; wantExp is
		// the expiry it should set, after the sign-in.
		after, wantExp time.Duration
	}{
		{"far from the end: slides a full refreshTTL", absoluteLifetime, time.Hour, time.Hour + refreshTTL},
		{"near the end: stops at the end", absoluteLifetime, 20 * time.Hour, absoluteLifetime},
		{"the last moment of the first refreshTTL", absoluteLifetime, refreshTTL - time.Second, absoluteLifetime},
		{"a lifetime shorter than refreshTTL", 2 * time.Hour, time.Hour, 2 * time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newLifetimeEnv(t, c.lifetime)
			newWorld(t, e)
			tok := e.login(t, "ann@example.com", "")
			start := e.clock.Now()
			s := e.session(t, tok.SessionID)
			if !s.EndsAt.Equal(start.Add(c.lifetime)) || !s.ExpiresAt.Equal(start.Add(min(refreshTTL, c.lifetime))) {
				t.Fatalf("at sign-in: expires %v ends %v, want %v and %v", s.ExpiresAt, s.EndsAt,
					start.Add(min(refreshTTL, c.lifetime)), start.Add(c.lifetime))
			}
			e.clock.Advance(c.after)
			if _, err := e.svc.Refresh(context.Background(), tok.RefreshToken, session.Client{}); err != nil {
				t.Fatal(err)
			}
			if s := e.session(t, tok.SessionID); !s.ExpiresAt.Equal(start.Add(c.wantExp)) || !s.EndsAt.Equal(start.Add(c.lifetime)) {
				t.Fatalf("after refresh: expires %v ends %v, want %v and %v", s.ExpiresAt, s.EndsAt, start.Add(c.wantExp), start.Add(c.lifetime))
			}
			wantLive(t, e, tok.SessionID)
		})
	}
}

// TestRefreshPastTheAbsoluteEndEndsTheSession: a session refreshed often
// enough to never expire by sliding still ends, revoked and audited, and
// the client is told what it is told of any dead refresh token.
func TestRefreshPastTheAbsoluteEndEndsTheSession(t *testing.T) {
	t.Parallel()
	e := newLifetimeEnv(t, absoluteLifetime)
	w := newWorld(t, e)
	ctx := context.Background()
	tok := e.login(t, "ann@example.com", w.beta.ID)
	refresh := tok.RefreshToken
	for range 3 {
		e.clock.Advance(10 * time.Hour)
		next, err := e.svc.Refresh(ctx, refresh, session.Client{})
		if err != nil {
			t.Fatal(err)
		}
		refresh = next.RefreshToken
	}
	before := auditSeq(t, e, w.beta.ID)
	e.clock.Advance(6 * time.Hour) // 36h after the sign-in: the end.
	_, err := e.svc.Refresh(ctx, refresh, session.Client{})
	wantFault(t, err, fault.Unauthenticated, "invalid_refresh_token")
	wantRevoked(t, e, tok.SessionID, session.ReasonLifetimeEnded)

	evs, err := e.st.ReadAudit(ctx, w.beta.ID, before, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Action != audit.ActionSessionRevoke || evs[0].TargetID != tok.SessionID ||
		evs[0].Detail["reason"] != session.ReasonLifetimeEnded || evs[0].Detail["holder"] != w.ann.ActorID() {
		t.Fatalf("audit events = %+v, want one session.revoke for lifetime_ended", evs)
	}
	// Refused from then on, and a new sign-in starts a new lifetime.
	_, err = e.svc.Refresh(ctx, refresh, session.Client{})
	wantFault(t, err, fault.Unauthenticated, "invalid_refresh_token")
	fresh := e.login(t, "ann@example.com", w.beta.ID)
	if _, err := e.svc.Refresh(ctx, fresh.RefreshToken, session.Client{}); err != nil {
		t.Fatal(err)
	}
}

// auditSeq is how many events tenantID's audit stream holds.
func auditSeq(t *testing.T, e *env, tenantID string) int64 {
	t.Helper()
	evs, err := e.st.ReadAudit(context.Background(), tenantID, 0, audit.MaxPage)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}
