package storetest

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/policy"
)

// jsonForm is v as it reads back from JSON decoded with UseNumber: numbers
// json.Number, arrays []any, objects map[string]any.
func jsonForm(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return out
}

// isIntegerText reports whether a JSON number has neither fraction nor
// exponent.
func isIntegerText(n json.Number) bool { return !strings.ContainsAny(string(n), ".eE") }

// diffJSON writes where got, attributes as a store returned them, differs
// from want, in jsonForm. Numbers must come back as json.Number; integers
// with the very text written (so exact beyond 2^53), other numbers with
// the same exact value (PostgreSQL's jsonb writes 1e+21 as
// 1000000000000000000000).
func diffJSON(b *strings.Builder, path string, got, want any) {
	switch w := want.(type) {
	case json.Number:
		g, isNum := got.(json.Number)
		if !isNum {
			fmt.Fprintf(b, "  %s: got %#v (%T), want json.Number %s\n", path, got, got, w)
			return
		}
		if isIntegerText(w) {
			if g != w {
				fmt.Fprintf(b, "  %s: got %s, want %s\n", path, g, w)
			}
			return
		}
		gr, gok := new(big.Rat).SetString(string(g))
		wr, wok := new(big.Rat).SetString(string(w))
		if !gok || !wok || gr.Cmp(wr) != 0 {
			fmt.Fprintf(b, "  %s: got %s, want %s\n", path, g, w)
		}
	case []any:
		g, isArr := got.([]any)
		if !isArr || len(g) != len(w) {
			fmt.Fprintf(b, "  %s: got %#v, want %#v\n", path, got, want)
			return
		}
		for i := range w {
			diffJSON(b, fmt.Sprintf("%s[%d]", path, i), g[i], w[i])
		}
	case map[string]any:
		g, isObj := got.(map[string]any)
		if !isObj || g == nil {
			fmt.Fprintf(b, "  %s: got %#v, want an object %#v\n", path, got, want)
			return
		}
		for k, wv := range w {
			gv, found := g[k]
			if !found {
				fmt.Fprintf(b, "  %s[%q]: missing\n", path, k)
				continue
			}
			diffJSON(b, fmt.Sprintf("%s[%q]", path, k), gv, wv)
		}
		for k := range g {
			if _, found := w[k]; !found {
				fmt.Fprintf(b, "  %s[%q]: unexpected %#v\n", path, k, g[k])
			}
		}
	default: // string, bool, nil
		if got != want {
			fmt.Fprintf(b, "  %s: got %#v (%T), want %#v (%T)\n", path, got, got, want, want)
		}
	}
}

// checkResource compares got with want (from stored): attributes by
// diffJSON, the rest by check. Parents and Attrs must never come back nil.
func checkResource(t *testing.T, what string, got, want policy.Resource) {
	t.Helper()
	if got.Parents == nil {
		t.Errorf("%s: Parents is nil, want a non-nil slice", what)
	}
	if got.Attrs == nil {
		t.Errorf("%s: Attrs is nil, want a non-nil map", what)
	}
	var b strings.Builder
	wantAttrs := jsonForm(t, want.Attrs)
	if want.Attrs == nil {
		wantAttrs = map[string]any{}
	}
	diffJSON(&b, ".Attrs", got.Attrs, wantAttrs)
	if b.Len() > 0 {
		t.Errorf("%s attrs mismatch:\n%s", what, b.String())
	}
	got.Attrs, want.Attrs = nil, nil
	check(t, what, got, want)
}

func checkResources(t *testing.T, what string, got, want []policy.Resource) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d resources %v, want %d %v", what, len(got), resourceKeys(got), len(want), resourceKeys(want))
		return
	}
	for i := range want {
		checkResource(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i])
	}
}
