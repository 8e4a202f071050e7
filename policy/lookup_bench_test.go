package policy_test

import (
	"context"
	"testing"

	"github.com/tollgate/tollgate/policy"
)

// BenchmarkLookup measures one lookup page of a tenant's channels by a
// member of one of them, with warm snapshots: the whole type (10 channels)
// and a page of one, where the fixed cost before the first decision weighs
// most.
func BenchmarkLookup(b *testing.B) {
	e := benchEngine(b, benchTenants(b))
	for _, bc := range []struct {
		name  string
		limit int
		want  int
	}{{"page10", 10, 1}, {"page1", 1, 1}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			q := policy.LookupQuery{Principal: "user:7-13", Action: "SEND_MESSAGE", ResourceType: "channel", Limit: bc.limit}
			if _, err := e.Lookup(ctx, "t007", q); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				p, err := e.Lookup(ctx, "t007", q)
				if err != nil || len(p.IDs) != bc.want {
					b.Fatalf("lookup = %+v, %v", p, err)
				}
			}
		})
	}
}
