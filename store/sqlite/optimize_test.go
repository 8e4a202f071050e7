package sqlite_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/ids"
)

// TestOptimizeLetsAuditQueriesUseTheirIndexes: with statistics, a page by
// actor, target or action reads its index — the queries are written as
// sqlstore.queryAudit writes them, with the partial indexes' predicate
// (00022) — where without them SQLite scans the tenant's stream through
// the primary key.
func TestOptimizeLetsAuditQueriesUseTheirIndexes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tollgate.db")
	s := openAt(t, path)
	evs := make([]audit.Event, 1000)
	for r := range 5 {
		for i := range evs {
			n := r*len(evs) + i
			tm := time.Unix(1700000000, 0).Add(time.Duration(n) * time.Millisecond)
			action := audit.ActionDecision
			if n%3 == 0 {
				action = audit.ActionSessionLogin
			}
			evs[i] = audit.Event{ID: ids.NewAt(tm), Time: tm, TenantID: "t1", ActorID: fmt.Sprintf("user:%d", n%50),
				Action: action, Outcome: audit.Success, TargetType: "channel", TargetID: fmt.Sprintf("c%d", n%300)}
		}
		if _, err := s.AppendAudit(t.Context(), evs); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const cols = `SELECT * FROM audit_events WHERE tenant_id = ?`
	cases := []struct{ query, index string }{
		{cols + ` AND actor_id = ? AND action <> 'authz.decision' AND seq < ? ORDER BY seq DESC LIMIT ?`, "audit_events_actor"},
		{cols + ` AND target_id = ? AND action <> 'authz.decision' ORDER BY seq DESC LIMIT ?`, "audit_events_target"},
		{cols + ` AND actor_id = ? AND action = ? AND seq < ? AND seq >= ? ORDER BY seq DESC LIMIT ?`, "audit_events_action"},
	}
	plan := func(q string) string {
		rows, err := db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, "t1", "x", 1, 1, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			out = append(out, detail)
		}
		return strings.Join(out, "; ")
	}
	if err := s.Optimize(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if p := plan(c.query); !strings.Contains(p, "INDEX "+c.index+" ") {
			t.Errorf("%s\nplan %q, want %s", c.query, p, c.index)
		}
	}
}
