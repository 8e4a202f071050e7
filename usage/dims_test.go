package usage

import (
	"encoding/json"
	"testing"
)

// TestEncodeDimsAsMarshal: the direct encoding is byte for byte what
// json.Marshal makes of the map, since stored roll-ups are keyed by it.
func TestEncodeDimsAsMarshal(t *testing.T) {
	for _, c := range []struct {
		name string
		dims []dim
	}{
		{"one", []dim{{"model", "gpt-4o"}}},
		{"sorted by key", []dim{{"tool", "search"}, {"status", "ok"}, {"a.b", "1"}}},
		{"empty value", []dim{{"model", ""}}},
		{"quote and backslash", []dim{{"model", `a"b\c`}}},
		{"HTML characters", []dim{{"route", "/a?b=1&c=<2>"}}},
		{"control character", []dim{{"model", "a\tb\x01"}}},
		{"non-ASCII", []dim{{"model", "модель"}}},
		{"line separator", []dim{{"model", "a\u2028b"}}},
		{"invalid UTF-8", []dim{{"model", "a\xffb"}}},
		{"DEL", []dim{{"model", "a\x7fb"}}},
		{"repeated key: the last wins", []dim{{"model", "a"}, {"model", "b"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := map[string]string{}
			for _, d := range c.dims {
				want[d.key] = d.value
			}
			wantJSON, err := json.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := encodeDims(append([]dim(nil), c.dims...))
			if err != nil || got != string(wantJSON) {
				t.Fatalf("encodeDims = %s, %v; want %s", got, err, wantJSON)
			}
		})
	}
}

// FuzzEncodeDims: dimension values come from events; whatever they hold,
// the encoding is json.Marshal's.
func FuzzEncodeDims(f *testing.F) {
	f.Add("model", "gpt-4o", "tool", "search")
	f.Add("model", "a<b>&\"\\", "model", "\u2028\xff")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		dims := []dim{{k1, v1}, {k2, v2}}
		want, err := json.Marshal(map[string]string{k1: v1, k2: v2})
		if k1 == k2 {
			want, err = json.Marshal(map[string]string{k1: v2})
		}
		if err != nil {
			t.Fatal(err)
		}
		if got, err := encodeDims(dims); err != nil || got != string(want) {
			t.Fatalf("encodeDims(%q) = %s, %v; want %s", dims, got, err, want)
		}
	})
}
