package policy

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

func TestCheckBounds(t *testing.T) {
	deep := func(open, close string, n int) string {
		return `@id("x") permit(principal, action, resource) when { ` + strings.Repeat(open, n) + "1" + strings.Repeat(close, n) + ` == 1 };`
	}
	chain := func(op string, n int) string {
		return `@id("x") permit(principal, action, resource) when { 1` + strings.Repeat(op+"1", n) + ` == 1 };`
	}
	tokens := func(n int) string {
		return `@id("x") permit(principal, action, resource) when { [` + strings.Repeat("1,", n) + `1].contains(1) };`
	}
	tests := []struct {
		name, text string
		want       string // "" when the text is within bounds
	}{
		{"every default policy", strings.Join(defaultTexts(t), "\n"), ""},
		{"sets nested to the limit (the when clause is one level)", deep("[", "]", MaxPolicyNesting-1), ""},
		{"sets nested past the limit", deep("[", "]", MaxPolicyNesting), "brackets nest deeper than 16"},
		{"100,000 nested sets", deep("[", "]", 100_000), "brackets nest deeper than 16"},
		{"nested records", deep("{a:", "}", 50_000), "brackets nest deeper than 16"},
		{"nested parentheses", deep("(", ")", 100_000), "brackets nest deeper than 16"},
		{"a chain of additions", chain("+", 100_000), "expressions nest deeper than 64"},
		{"a chain of ands", chain("&&", 100_000), "expressions nest deeper than 64"},
		{"a chain of attributes", `@id("x") permit(principal, action, resource) when { context` + strings.Repeat(".a", 100_000) + ` };`, "expressions nest deeper than 64"},
		{"negations", `@id("x") permit(principal, action, resource) when { ` + strings.Repeat("!", 100_000) + `true };`, "expressions nest deeper than 64"},
		{"nested ifs", `@id("x") permit(principal, action, resource) when { ` + strings.Repeat("if true then ", 1000) + "true" + strings.Repeat(" else false", 1000) + ` };`, "expressions nest deeper than 64"},
		{"a long chain split by commas", `@id("x") permit(principal, action, resource) when { [` + strings.Repeat("1+1,", 1000) + `1].contains(2) };`, ""},
		{"a chain split across policies", strings.Repeat(chain("+", 40)+"\n", 10), ""},
		{"tokens at the limit", tokens((MaxPolicyTokens - 25) / 2), ""},
		{"tokens past the limit", tokens(MaxPolicyTokens), "more than 20000 tokens"},
		{"brackets inside strings do not nest", `@id("x") permit(principal, action, resource) when { context.s == "` + strings.Repeat("[", 1000) + `" };`, ""},
		{"escaped quotes stay inside the string", `@id("x") permit(principal, action, resource) when { context.s == "\"` + strings.Repeat("(", 100) + `" };`, ""},
		{"brackets inside comments do not nest", "// " + strings.Repeat("(", 1000) + "\n" + chain("+", 2), ""},
		{"unbalanced closers are left to the parser", `)))]]]}}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkBounds([]byte(tt.text))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ie *InvalidError
			if !errors.As(err, &ie) || len(ie.Problems) != 1 {
				t.Fatalf("err = %v, want one problem", err)
			}
			if p := ie.Problems[0]; !strings.Contains(p.Message, tt.want) || p.Line < 1 || p.Column < 1 {
				t.Fatalf("problem = %+v, want %q with a position", p, tt.want)
			}
		})
	}
}

// TestHostileTextIsCheap: the texts that cost seconds of CPU and hundreds
// of MB in the Cedar parser are refused by a scan that allocates almost
// nothing, through the same entry point the API uses.
func TestHostileTextIsCheap(t *testing.T) {
	c, err := NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	hostile := `@id("x") permit(principal, action, resource) when { ` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + ` == [] };`
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err = c.Validate("t1", hostile)
	runtime.ReadMemStats(&after)
	var ie *InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want an *InvalidError", err)
	}
	// The text itself is copied once ([]byte); everything else is small.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 2*uint64(len(hostile))+64<<10 {
		t.Fatalf("validating allocated %d bytes for a %d-byte text", grew, len(hostile))
	}
}

func BenchmarkCheckBoundsHostile(b *testing.B) {
	c, err := NewCompiler()
	if err != nil {
		b.Fatal(err)
	}
	hostile := `@id("x") permit(principal, action, resource) when { ` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + ` == [] };`
	b.SetBytes(int64(len(hostile)))
	for b.Loop() {
		if c.Validate("t1", hostile) == nil {
			b.Fatal("accepted")
		}
	}
}

func FuzzCheckBounds(f *testing.F) {
	for _, s := range []string{`permit(principal, action, resource);`, `"\"[[[`, `// (((`, `{a:[1,(2)]}`, `if a then b else c`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := checkBounds([]byte(s))
		if err != nil && strings.Count(s, "") < 16 {
			t.Fatalf("a %d-byte text cannot exceed the bounds: %v", len(s), err)
		}
	})
}

func defaultTexts(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, b := range DefaultFiles() {
		out = append(out, string(b))
	}
	if len(out) == 0 {
		t.Fatal("no default policies")
	}
	return out
}
