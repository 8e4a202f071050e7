package policy

import (
	"testing"

	"github.com/cedar-policy/cedar-go"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// TestReadsQuota: a policy that could see context.quota, or whether it is
// there, is found; one that reads other context attributes or none is
// not.
func TestReadsQuota(t *testing.T) {
	for _, c := range []struct {
		name, when string
		want       bool
	}{
		{"no condition", "", false},
		{"other attributes", `when { context has on_behalf_of && context.now > datetime("2025-01-01T00:00:00Z") }`, false},
		{"the shipped forbid", `when { context has quota && context.quota.exceeded }`, true},
		{"has only", `when { context has quota }`, true},
		{"has with a path", `when { context has quota.exceeded }`, true},
		{"index syntax", `when { context["quota"].exceeded }`, true},
		{"escaped name", `when { context["\u{71}uota"].exceeded }`, true},
		{"in unless", `unless { !context.quota.over.contains("tool_runs") }`, true},
		{"nested in an if", `when { if principal has email then context.quota.exceeded else false }`, true},
		{"the whole context", `when { context == {"tenant": resource} }`, true},
		{"context as an argument", `when { [context].contains(context) }`, true},
		{"another record's quota", `when { principal has quota && principal.quota == 1 }`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var p cedar.Policy
			if err := p.UnmarshalCedar([]byte("permit (principal, action, resource)\n" + c.when + ";")); err != nil {
				t.Fatal(err)
			}
			if got := readsQuota((*xast.Policy)(p.AST())); got != c.want {
				t.Fatalf("readsQuota = %v, want %v", got, c.want)
			}
		})
	}
}
