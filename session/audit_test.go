package session_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/audit/audittest"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/session"
)

var emailKey = []byte("0123456789abcdef0123456789abcdef")

// TestAuditEvents walks every act of the session service that goes
// through the queue and checks it records exactly one event, right.
func TestAuditEvents(t *testing.T) {
	ctx := context.Background()
	type setup struct {
		e     *env
		owner identity.User
		tn    identity.Tenant
		other identity.Tenant
	}
	cases := []struct {
		name string
		// act runs the act and returns the event wanted; Time, ID and
		// detail keys not named are not compared.
		act func(t *testing.T, s setup) audit.Event
	}{
		{"sign-in", func(t *testing.T, s setup) audit.Event {
			tok := s.e.login(t, "owner@example.com", s.tn.ID)
			return audit.Event{TenantID: s.tn.ID, Action: audit.ActionSessionLogin, Outcome: audit.Success, ActorID: s.owner.ActorID(),
				CredentialKind: "session", CredentialID: tok.SessionID, TargetType: "user", TargetID: s.owner.ActorID()}
		}},
		{"wrong password", func(t *testing.T, s setup) audit.Event {
			_, err := s.e.svc.Login(ctx, session.LoginRequest{Email: "owner@example.com", Password: "wrong wrong wrong"})
			wantFault(t, err, fault.Unauthenticated, "invalid_credentials")
			return audit.Event{Action: audit.ActionSessionLogin, Outcome: audit.Failure, Reason: session.ReasonBadPassword,
				TargetType: "user", TargetID: s.owner.ActorID()}
		}},
		{"unknown account: a keyed hash, never the address", func(t *testing.T, s setup) audit.Event {
			_, err := s.e.svc.Login(ctx, session.LoginRequest{Email: "Nobody@Example.com", Password: testPassword})
			wantFault(t, err, fault.Unauthenticated, "invalid_credentials")
			return audit.Event{Action: audit.ActionSessionLogin, Outcome: audit.Failure, Reason: session.ReasonUnknownAccount,
				Detail: map[string]string{"email_hmac": session.EmailHash(emailKey, "nobody@example.com")}}
		}},
		{"disabled account", func(t *testing.T, s setup) audit.Event {
			s.e.setUserStatus(t, s.owner.ID, identity.UserDisabled)
			_, err := s.e.svc.Login(ctx, session.LoginRequest{Email: "owner@example.com", Password: testPassword})
			wantFault(t, err, fault.Unauthenticated, "invalid_credentials")
			return audit.Event{Action: audit.ActionSessionLogin, Outcome: audit.Failure, Reason: session.ReasonDisabled,
				TargetType: "user", TargetID: s.owner.ActorID()}
		}},
		{"throttled", func(t *testing.T, s setup) audit.Event {
			s.e.throttle.set(true)
			_, err := s.e.svc.Login(ctx, session.LoginRequest{Email: "owner@example.com", Password: testPassword})
			wantFault(t, err, fault.RateLimited, "quota_exceeded")
			return audit.Event{Action: audit.ActionSessionLogin, Outcome: audit.Denied, Reason: session.ReasonThrottled,
				Detail: map[string]string{"email_hmac": session.EmailHash(emailKey, "owner@example.com")}}
		}},
		{"a tenant the user is not in", func(t *testing.T, s setup) audit.Event {
			_, err := s.e.svc.Login(ctx, session.LoginRequest{Email: "owner@example.com", Password: testPassword, Tenant: s.other.ID})
			wantFault(t, err, fault.Forbidden, "tenant_access_denied")
			return audit.Event{Action: audit.ActionSessionLogin, Outcome: audit.Failure, Reason: session.ReasonTenantDenied,
				TargetType: "user", TargetID: s.owner.ActorID()}
		}},
		{"refresh", func(t *testing.T, s setup) audit.Event {
			tok := s.e.login(t, "owner@example.com", s.tn.ID)
			s.e.take()
			if _, err := s.e.svc.Refresh(ctx, tok.RefreshToken, session.Client{}); err != nil {
				t.Fatal(err)
			}
			return audit.Event{TenantID: s.tn.ID, Action: audit.ActionSessionRefresh, Outcome: audit.Success, ActorID: s.owner.ActorID(),
				CredentialKind: "session", CredentialID: tok.SessionID, TargetType: "session", TargetID: tok.SessionID}
		}},
		{"refresh token reuse", func(t *testing.T, s setup) audit.Event {
			tok := s.e.login(t, "owner@example.com", s.tn.ID)
			if _, err := s.e.svc.Refresh(ctx, tok.RefreshToken, session.Client{}); err != nil {
				t.Fatal(err)
			}
			s.e.take()
			_, err := s.e.svc.Refresh(ctx, tok.RefreshToken, session.Client{})
			wantFault(t, err, fault.Unauthenticated, "invalid_refresh_token")
			return audit.Event{Action: audit.ActionSessionRefreshReuse, Outcome: audit.Denied, Reason: "refresh_token_reused",
				TargetType: "session", TargetID: tok.SessionID, Detail: map[string]string{"holder": s.owner.ActorID()}}
		}},
		{"tenant switch", func(t *testing.T, s setup) audit.Event {
			s.e.join(t, s.other, s.owner, "member")
			tok := s.e.login(t, "owner@example.com", s.tn.ID)
			s.e.take()
			got, err := s.e.svc.SwitchTenant(ctx, actor(tok), s.other.ID, session.Client{})
			if err != nil {
				t.Fatal(err)
			}
			return audit.Event{TenantID: s.other.ID, Action: audit.ActionSessionSwitch, Outcome: audit.Success,
				TargetType: "tenant", TargetID: s.other.ID, Detail: map[string]string{"from_tenant": s.tn.ID, "session_id": got.SessionID}}
		}},
		{"tenant switch refused: recorded where the caller is", func(t *testing.T, s setup) audit.Event {
			tok := s.e.login(t, "owner@example.com", s.tn.ID)
			s.e.take()
			_, err := s.e.svc.SwitchTenant(ctx, actor(tok), s.other.ID, session.Client{})
			wantFault(t, err, fault.Forbidden, "tenant_access_denied")
			return audit.Event{TenantID: s.tn.ID, Action: audit.ActionSessionSwitch, Outcome: audit.Denied, Reason: "tenant_access_denied",
				TargetType: "tenant", TargetID: s.other.ID, Detail: map[string]string{"from_tenant": s.tn.ID}}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &audittest.Queue{}
			e := newEnv(t, func(_ *env, d *session.Deps) { d.Audit, d.AuditEmailKey = rec, emailKey })
			e.rec = rec
			owner := e.user(t, "owner@example.com")
			stranger := e.user(t, "stranger@example.com")
			s := setup{e: e, owner: owner, tn: e.tenant(t, owner, "acme"), other: e.tenant(t, stranger, "other")}
			want := c.act(t, s)
			got := rec.Take()
			if len(got) != 1 {
				t.Fatalf("recorded %d events: %+v", len(got), got)
			}
			g := got[0]
			for k := range g.Detail {
				if _, ok := want.Detail[k]; !ok {
					delete(g.Detail, k)
				}
			}
			if g.TenantID != want.TenantID || g.Action != want.Action || g.Outcome != want.Outcome || g.Reason != want.Reason ||
				g.ActorID != want.ActorID || g.CredentialKind != want.CredentialKind || g.CredentialID != want.CredentialID ||
				g.TargetType != want.TargetType || g.TargetID != want.TargetID || len(g.Detail) != len(want.Detail) {
				t.Fatalf("recorded\n %+v\nwant\n %+v", g, want)
			}
			for k, v := range want.Detail {
				if g.Detail[k] != v {
					t.Fatalf("detail %s = %q, want %q", k, g.Detail[k], v)
				}
			}
			for _, v := range g.Detail {
				if strings.Contains(strings.ToLower(v), "example.com") || strings.Contains(v, testPassword) {
					t.Fatalf("an address or password in the event: %+v", g)
				}
			}
		})
	}
}
