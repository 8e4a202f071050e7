package usage

import (
	"bytes"
	"encoding/json"
	"errors"
)

// The envelope is read by walking the bytes json.Valid has accepted,
// instead of decoding it into a map of json.RawMessage and each attribute
// again with json.Unmarshal: that re-scanned every value twice and cost
// most of an event's decoding (BenchmarkDecode; BENCHMARKS.md).

// eachMember calls fn with the name and raw value of each member of the
// JSON object raw, in order, stopping at fn's first error. raw must be
// valid JSON (json.Valid); ok is false when it is not an object. name is
// the member's unescaped name, a slice of raw when it has no escapes: a
// string of each name was a fifth of an event's allocations
// (BENCHMARKS.md, "Usage ingestion, CPU per event by process"), and a
// switch on string(name) allocates none.
func eachMember(raw []byte, fn func(name []byte, v json.RawMessage) error) (ok bool, err error) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return false, nil
	}
	i = skipSpace(raw, i+1)
	if raw[i] == '}' {
		return true, nil
	}
	for {
		end := stringEnd(raw, i)
		name, ok := unquoteBytes(raw[i:end])
		if !ok {
			return false, nil
		}
		i = skipSpace(raw, skipSpace(raw, end)+1)
		vend := valueEnd(raw, i)
		if err := fn(name, raw[i:vend]); err != nil {
			return true, err
		}
		i = skipSpace(raw, vend)
		if raw[i] == '}' {
			return true, nil
		}
		i = skipSpace(raw, i+1)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd is the index after the string starting at b[i] (a quote), or
// len(b) when it is not closed. It finds each quote with bytes.IndexByte
// (vectorised) rather than byte by byte: a quote ends the string unless an
// odd number of backslashes precedes it, since a backslash escapes the
// byte after it.
func stringEnd(b []byte, i int) int {
	start := i + 1
	for i = start; ; i++ {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return len(b)
		}
		i += q
		k := i
		for k > start && b[k-1] == '\\' {
			k--
		}
		if (i-k)%2 == 0 {
			return i + 1
		}
	}
}

// valueEnd is the index after the value starting at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) && bytes.IndexByte([]byte(",}] \t\r\n"), b[i]) < 0 {
		i++
	}
	return i
}

// unquote reads a JSON string; ok is false when v is not one. A string
// without escapes is its bytes between the quotes, as json.Valid has
// already refused control characters in it.
func unquote(v []byte) (s string, ok bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1]), true
	}
	return s, json.Unmarshal(v, &s) == nil
}

// unquoteBytes is unquote without a copy when v has no escapes.
func unquoteBytes(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' {
		return nil, false
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], true
	}
	s, ok := unquote(v)
	return []byte(s), ok
}

// decodeObject decodes the JSON object raw as a json.Decoder with
// UseNumber would, without one for the flat members usage data has:
// strings, json.Number, booleans and nil, and nested values through such
// a Decoder. raw must be valid JSON (a value of an event json.Valid has
// accepted); ok is false when it is not an object.
func decodeObject(raw []byte) (fields map[string]any, ok bool) {
	fields = make(map[string]any, 8)
	ok, err := eachMember(raw, func(name []byte, v json.RawMessage) error {
		val, err := jsonValue(v)
		fields[string(name)] = val
		return err
	})
	return fields, ok && err == nil
}

func jsonValue(v []byte) (any, error) {
	switch v[0] {
	case '"':
		if s, ok := unquote(v); ok {
			return s, nil
		}
		return nil, errNotJSON
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case 'n':
		return nil, nil
	case '{', '[':
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		var x any
		err := dec.Decode(&x)
		return x, err
	}
	return json.Number(v), nil
}

var errNotJSON = errors.New("not JSON")
