package storetest

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/store"
)

func sessionListTests() []test {
	return []test{
		{"ByActorAndTenant", testListSessionsByActorAndTenant},
		{"OnlyLive", testListSessionsOnlyLive},
		{"KeysetPages", testListSessionsKeysetPages},
	}
}

// listIDs lists the ids of the live sessions f selects at +1h.
func listIDs(t *testing.T, s store.Store, f session.Filter, p cursor.Page) []string {
	t.Helper()
	if f.LiveAt.IsZero() {
		f.LiveAt = at(time.Hour)
	}
	out := []string{}
	for _, ss := range ok(s.ListSessions(t.Context(), f, p))(t) {
		out = append(out, ss.ID)
	}
	return out
}

func testListSessionsByActorAndTenant(t *testing.T, s store.Store) {
	for _, c := range []struct{ id, actor, tenant string }{
		{"s1", "user:alice", "t1"}, {"s2", "user:alice", "t2"}, {"s3", "user:bob", "t1"}, {"s4", "user:alice", ""},
	} {
		ss := sess(c.id, c.actor)
		ss.TenantID = c.tenant
		must(t, s.CreateSession(t.Context(), ss, hash(c.id+"-0")))
	}
	for _, c := range []struct {
		name string
		f    session.Filter
		want []string
	}{
		{"an actor in every tenant", session.Filter{ActorID: "user:alice"}, []string{"s1", "s2", "s4"}},
		{"a tenant", session.Filter{TenantID: "t1"}, []string{"s1", "s3"}},
		{"an actor in a tenant", session.Filter{ActorID: "user:alice", TenantID: "t2"}, []string{"s2"}},
		{"an actor elsewhere", session.Filter{ActorID: "user:bob", TenantID: "t2"}, []string{}},
		{"unknown tenant", session.Filter{TenantID: "t9"}, []string{}},
	} {
		check(t, c.name, listIDs(t, s, c.f, cursor.Page{}), c.want)
	}
	// The rows come back whole.
	got := ok(s.ListSessions(t.Context(), session.Filter{TenantID: "t2", LiveAt: at(time.Hour)}, cursor.Page{}))(t)
	want := sess("s2", "user:alice")
	want.TenantID = "t2"
	check(t, "row", got, []session.Session{truncSession(want)})
}

func testListSessionsOnlyLive(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, id := range []string{"live", "revoked", "expired", "edge"} {
		ss := sess(id, "user:alice")
		switch id {
		case "expired":
			ss.ExpiresAt = at(time.Minute)
		case "edge":
			ss.ExpiresAt = at(time.Hour) // expired at exactly LiveAt
		}
		must(t, s.CreateSession(ctx, ss, hash(id+"-0")))
	}
	must(t, s.RevokeSession(ctx, "revoked", "logout", at(time.Minute)))
	check(t, "live at +1h", listIDs(t, s, session.Filter{ActorID: "user:alice"}, cursor.Page{}), []string{"live"})
	check(t, "live at 0", listIDs(t, s, session.Filter{ActorID: "user:alice", LiveAt: at(0)}, cursor.Page{}),
		[]string{"edge", "expired", "live"})
}

func testListSessionsKeysetPages(t *testing.T, s store.Store) {
	for _, id := range []string{"s3", "s1", "s5", "s2", "s4"} {
		newSession(t, s, id, "user:alice")
	}
	f := session.Filter{TenantID: "t1"}
	check(t, "first page", listIDs(t, s, f, cursor.Page{Limit: 2}), []string{"s1", "s2"})
	check(t, "after s2", listIDs(t, s, f, cursor.Page{After: "s2", Limit: 2}), []string{"s3", "s4"})
	check(t, "after s4", listIDs(t, s, f, cursor.Page{After: "s4", Limit: 2}), []string{"s5"})
	check(t, "after s5", listIDs(t, s, f, cursor.Page{After: "s5", Limit: 2}), []string{})
}
