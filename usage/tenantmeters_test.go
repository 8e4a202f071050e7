package usage

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tollgate/tollgate/fault"
)

// TestValidateTenantMeters: each meter valid, named apart from the others
// and from the shipped ones, and a bounded count.
func TestValidateTenantMeters(t *testing.T) {
	pages := Meter{Name: "pages", EventType: "usage.ocr", Aggregation: Sum, ValuePath: "pages"}
	many := make([]Meter, MaxTenantMeters+1)
	for i := range many {
		many[i] = Meter{Name: fmt.Sprintf("m%d", i), EventType: "usage.x", Aggregation: Count}
	}
	for _, c := range []struct {
		name   string
		meters []Meter
		field  string // "" when valid
	}{
		{"none", []Meter{}, ""},
		{"one, without group-by", []Meter{pages}, ""},
		{"the most", many[:MaxTenantMeters], ""},
		{"one too many", many, "meters"},
		{"a shipped name", []Meter{{Name: "tool_runs", EventType: "usage.x", Aggregation: Count}}, "meters[0].name"},
		{"twice the same name", []Meter{pages, pages}, "meters[1].name"},
		{"a bad name", []Meter{{Name: "Pages", EventType: "usage.ocr", Aggregation: Count}}, "meters[0]"},
		{"a void meter", []Meter{{Name: "voids", EventType: TypeVoid, Aggregation: Count}}, "meters[0]"},
		{"COUNT with a value path", []Meter{{Name: "x", EventType: "usage.x", Aggregation: Count, ValuePath: "v"}}, "meters[0]"},
		{"SUM without one", []Meter{{Name: "x", EventType: "usage.x", Aggregation: Sum}}, "meters[0]"},
		{"group by subject", []Meter{{Name: "x", EventType: "usage.x", Aggregation: Count, GroupBy: []string{"subject"}}}, "meters[0]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateTenantMeters(ShippedMeters(), c.meters)
			var fe *fault.Error
			if c.field == "" && err != nil || c.field != "" && (!errors.As(err, &fe) || fe.Code != CodeInvalidMeter || fe.Field != c.field) {
				t.Fatalf("ValidateTenantMeters = %v, want field %q", err, c.field)
			}
		})
	}
}

// TestMetersWithATenantsOwn: a tenant's meters join the base ones for
// their event type; one named like a base meter is left out.
func TestMetersWithATenantsOwn(t *testing.T) {
	base := ShippedMeters()
	ms := base.with([]Meter{
		{Name: "pages", EventType: "usage.ocr", Aggregation: Sum, ValuePath: "pages"},
		{Name: "tool_runs", EventType: "usage.ocr", Aggregation: Count},
		{Name: "tokens_peak", EventType: TypeLLM, Aggregation: Max, ValuePath: "input_tokens"},
	})
	if got := ms.For("t", "usage.ocr"); len(got) != 1 || got[0].Name != "pages" {
		t.Fatalf("usage.ocr meters %v", got)
	}
	if got := ms.For("t", TypeLLM); len(got) != 3 {
		t.Fatalf("usage.llm meters %v", got)
	}
	if m, _ := ms.Lookup("t", "tool_runs"); m.EventType != TypeTool {
		t.Fatalf("tool_runs is %+v", m)
	}
	if len(base.All("t")) != len(Shipped) {
		t.Fatal("the base meters changed")
	}
}
