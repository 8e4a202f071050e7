package usage

import (
	"reflect"
	"strings"
	"testing"
)

// sameDecoded reports whether two decodings of a batch agree: the same
// events and the same refusals.
func sameDecoded(a, b []Decoded) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !reflect.DeepEqual(a[i].Event, b[i].Event) || (a[i].Err == nil) != (b[i].Err == nil) ||
			(a[i].Err != nil && a[i].Err.Error() != b[i].Err.Error()) {
			return false
		}
	}
	return true
}

// TestDecodeBatchWalkAgreesWithDecoder: a valid body split by walking its
// bytes decodes as the json.Decoder path decodes it.
func TestDecodeBatchWalkAgreesWithDecoder(t *testing.T) {
	one := string(encode(t, good()))
	tricky := string(encode(t, with(data(map[string]any{"model": `a"],[{}\`, "input_tokens": 1, "nested": []any{map[string]any{"x": "]"}}}))))
	for _, c := range []struct{ name, body string }{
		{"one", "[" + one + "]"},
		{"white space everywhere", " \n[ " + one + " ,\t" + one + "\r\n] \n"},
		{"brackets and quotes inside strings", "[" + tricky + "," + one + "]"},
		{"not objects", `[7, "x", null, true, [1,2], {}]`},
		{"refused events among good", "[" + one + `,{"specversion":"2"},` + one + "]"},
		{"not UTF-8", "[" + strings.Replace(one, "gpt-4o", "gpt-\xff", 1) + "]"},
		{"too deep", `[{"data":{"a":[[[[[[1]]]]]]}}]`},
		{"empty", "[]"},
		{"an object", one},
		{"a string", `"[]"`},
		{"full", "[" + strings.TrimSuffix(strings.Repeat(one+",", MaxBatch), ",") + "]"},
		{"one over the limit", "[" + strings.Repeat(one+",", MaxBatch) + one + "]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, gotErr := DecodeBatch([]byte(c.body))
			want, wantErr := decodeBatchStream([]byte(c.body))
			if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) || !sameDecoded(got, want) {
				t.Fatalf("DecodeBatch = %d events, %v; the decoder path: %d, %v", len(got), gotErr, len(want), wantErr)
			}
		})
	}
}

// FuzzDecodeBatch: whatever the body, the byte walk and the json.Decoder
// path agree, and neither panics.
func FuzzDecodeBatch(f *testing.F) {
	one := `{"specversion":"1.0","id":"a","source":"s","type":"usage.llm","subject":"user:1","time":"2025-01-01T00:00:00Z","tenant":"t","data":{"model":"m","input_tokens":1}}`
	f.Add([]byte("[" + one + "]"))
	f.Add([]byte("[" + one + ", 7, \"]\" , {\"a\":[\"}\"]}]"))
	f.Add([]byte(`[{"id":"\ud800"}] `))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, gotErr := DecodeBatch(raw)
		want, wantErr := decodeBatchStream(raw)
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) || !sameDecoded(got, want) {
			t.Fatalf("DecodeBatch(%q) = %d events, %v; the decoder path: %d, %v", raw, len(got), gotErr, len(want), wantErr)
		}
	})
}

// stringEndByByte is stringEnd as a byte-by-byte state machine, the
// reference FuzzStringEnd holds it to.
func stringEndByByte(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// FuzzStringEnd: the vectorised stringEnd ends every string, closed or
// not, where the byte-by-byte reading ends it.
func FuzzStringEnd(f *testing.F) {
	for _, s := range []string{`"abc"`, `"a\"b"`, `"a\\"b"`, `"a\\\"b"`, `"\\`, `"`, `"abc`, `"a\`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		b = append([]byte{'"'}, b...)
		if got, want := min(stringEnd(b, 0), len(b)), min(stringEndByByte(b, 0), len(b)); got != want {
			t.Fatalf("stringEnd(%q) = %d, want %d", b, got, want)
		}
	})
}
