package sqlstore

import (
	"encoding/json"
	"testing"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/policy"
)

func TestResourceJSON(t *testing.T) {
	for _, in := range [][]policy.ResourceRef{nil, {}} {
		s, err := encodeParents(in)
		if err != nil || s != "[]" {
			t.Errorf("encodeParents(%#v) = %q, %v; want [] ", in, s, err)
		}
	}
	for _, in := range []map[string]any{nil, {}} {
		s, err := encodeAttrs(in)
		if err != nil || s != "{}" {
			t.Errorf("encodeAttrs(%#v) = %q, %v; want {}", in, s, err)
		}
	}
	if ps, err := decodeParents([]byte("null")); err != nil || ps == nil {
		t.Errorf("decodeParents(null) = %#v, %v; want a non-nil empty slice", ps, err)
	}
	if a, err := decodeAttrs([]byte("null")); err != nil || a == nil {
		t.Errorf("decodeAttrs(null) = %#v, %v; want a non-nil empty map", a, err)
	}

	parents := []policy.ResourceRef{{Type: "channel", ID: "a/b"}}
	s, err := encodeParents(parents)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeParents([]byte(s))
	if err != nil || len(got) != 1 || got[0] != parents[0] {
		t.Errorf("parents round trip: %#v, %v", got, err)
	}

	// Integers beyond float64's 53 bits come back exact.
	s, err = encodeAttrs(map[string]any{"n": json.Number("9007199254740993")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := decodeAttrs([]byte(s))
	if err != nil || attrs["n"] != json.Number("9007199254740993") {
		t.Errorf("attrs round trip: %#v, %v", attrs, err)
	}
}

func TestCursors(t *testing.T) {
	typ, id, err := resourceCursor("channel/a/b")
	if err != nil || typ != "channel" || id != "a/b" {
		t.Errorf(`resourceCursor("channel/a/b") = %q, %q, %v`, typ, id, err)
	}
	if _, _, err := resourceCursor("channel"); fault.KindOf(err) != fault.Invalid {
		t.Errorf(`resourceCursor("channel") = %v, want Invalid`, err)
	}
	if v, err := versionCursor("42"); err != nil || v != 42 {
		t.Errorf(`versionCursor("42") = %d, %v`, v, err)
	}
	if _, err := versionCursor("x"); fault.KindOf(err) != fault.Invalid {
		t.Errorf(`versionCursor("x") = %v, want Invalid`, err)
	}
}
