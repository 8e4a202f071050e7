package usage

import (
	"encoding/json"
	"slices"
	"strings"
)

// The dimensions of a contribution are stored as the JSON object
// encoding/json makes of them (keys sorted, HTML characters escaped): it
// is part of the roll-ups' key, so one set must always encode the same.
// Marshalling a map per event and meter cost about a tenth of an HTTP
// batch's CPU; plain keys and values, which nearly all are, are written
// directly, byte for byte what json.Marshal writes, and the rest still go
// through json.Marshal (BENCHMARKS.md, issue 13 re-measured).

// dimensions encodes the meter's dimensions of e.
func dimensions(e *Event, m Meter) (string, error) {
	if len(m.GroupBy) == 0 {
		return "{}", nil
	}
	var buf [MaxGroupBy]dim
	dims := buf[:0]
	for _, g := range m.GroupBy {
		s, ok := scalar(e.Field(g))
		if !ok || len(s) > maxString {
			return "", invalid("data."+g, "data.%s (a dimension of meter %s) must be a string, number or boolean of at most %d bytes", g, m.Name, maxString)
		}
		dims = append(dims, dim{g, s})
	}
	return encodeDims(dims)
}

type dim struct{ key, value string }

// encodeDims encodes dims as json.Marshal encodes the map of them.
func encodeDims(dims []dim) (string, error) {
	slices.SortStableFunc(dims, func(a, b dim) int { return strings.Compare(a.key, b.key) })
	size := 1
	for i, d := range dims {
		if !plainJSON(d.key) || !plainJSON(d.value) || (i > 0 && dims[i-1].key == d.key) {
			return marshalDims(dims)
		}
		size += len(d.key) + len(d.value) + 6
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteByte('{')
	for i, d := range dims {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(d.key)
		b.WriteString(`":"`)
		b.WriteString(d.value)
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), nil
}

// plainJSON reports whether json.Marshal writes s as itself between
// quotes: printable ASCII without the characters it escapes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// marshalDims is encodeDims through a map and json.Marshal, for keys or
// values that need escaping (and a repeated key, where the last wins).
func marshalDims(dims []dim) (string, error) {
	m := make(map[string]string, len(dims))
	for _, d := range dims {
		m[d.key] = d.value
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", invalid("data", "dimensions: %v", err)
	}
	return string(b), nil
}
