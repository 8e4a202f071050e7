package audit

import (
	"crypto/sha256"
	"encoding/json"
	"slices"
	"strconv"
)

// HashSize is the length of PrevHash and Hash.
const HashSize = sha256.Size

// canonicalVersion is the first member of every canonical form, so that a
// future encoding can never be confused with this one.
const canonicalVersion = 1

// Genesis returns the PrevHash of every stream's first event: 32 zero
// bytes, new on each call so that no caller can change another's.
func Genesis() []byte { return make([]byte, HashSize) }

// Canonical returns the bytes an event's hash covers: a JSON object whose
// members always appear, in this order, with strings escaped as
// appendString does, Detail's keys sorted bytewise and the time as integer
// microseconds since the Unix epoch in UTC. It holds the stream (tenant)
// and Seq, so an event moved to another place or stream no longer matches
// its hash. Being JSON, an export can carry it for others to re-hash.
//
//	{"v":1,"tenant":"…","seq":1,"id":"…","time":1700000000000000,
//	 "actor_id":"…","on_behalf_of":"…","credential_kind":"…",
//	 "credential_id":"…","action":"…","target_type":"…","target_id":"…",
//	 "outcome":"…","reason":"…","client_ip":"…","user_agent":"…",
//	 "request_id":"…","trace_id":"…","detail":{"k":"v",…}}
func Canonical(e *Event) []byte { return AppendCanonical(nil, e) }

// AppendCanonical appends Canonical(e) to b; Verify reuses one buffer for
// a whole stream.
func AppendCanonical(b []byte, e *Event) []byte { return appendCanonical(b, e, nil) }

// appendCanonical is AppendCanonical with the detail already encoded by
// CanonicalDetail, or encoded here when detail is nil.
func appendCanonical(b []byte, e *Event, detail []byte) []byte {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, canonicalVersion, 10)
	b = append(b, `,"tenant":`...)
	b = appendString(b, e.TenantID)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, `,"id":`...)
	b = appendString(b, e.ID)
	b = append(b, `,"time":`...)
	b = strconv.AppendInt(b, e.Time.UnixMicro(), 10)
	for _, f := range fields[1:] { // fields[0] is the tenant, written above
		b = append(b, ',', '"')
		b = append(b, f.name...)
		b = append(b, '"', ':')
		b = appendString(b, f.get(e))
		if f.name == "target_id" {
			// outcome sits between target_id and reason.
			b = append(b, `,"outcome":`...)
			b = appendString(b, string(e.Outcome))
		}
	}
	b = append(b, `,"detail":`...)
	if detail != nil {
		b = append(b, detail...)
	} else {
		b = appendDetail(b, e.Detail)
	}
	return append(b, '}')
}

// DetailSize is len(CanonicalDetail(d)), counted without encoding: Validate
// bounds every event's detail with it, and the bound does not depend on
// the order of the keys.
func DetailSize(d map[string]string) int {
	n := 2 // {}
	for k, v := range d {
		n += quotedSize(k) + 1 + quotedSize(v) + 1 // "k":"v",
	}
	if len(d) > 0 {
		n-- // no comma after the last
	}
	return n
}

// quotedSize is len(appendString(nil, s)).
func quotedSize(s string) int {
	n := len(s) + 2
	for i := plainPrefix(s); i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			n++
		case c < 0x20:
			n += 5
		}
	}
	return n
}

// appendDetail writes d as a JSON object with sorted keys.
func appendDetail(b []byte, d map[string]string) []byte {
	b = append(b, '{')
	if len(d) > 0 {
		keys := make([]string, 0, len(d))
		for k := range d {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, d[k])
		}
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string, escaping only what JSON requires:
// '"', '\\' and the control characters below U+0020 (as \u00XX, with no
// short forms, so that there is one encoding of each). Everything else is
// copied as UTF-8. Unlike encoding/json it does not escape <, > and & and
// never replaces bytes, so the mapping is the same everywhere and, for
// valid UTF-8, injective. Invalid UTF-8 (which Validate refuses, but a
// tampered row may hold) is written byte for byte, which keeps it distinct.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := plainPrefix(s); i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// HashEvent returns SHA-256(prev || Canonical(e)), appending the canonical
// form to scratch (which it returns for reuse).
func HashEvent(prev []byte, e *Event, scratch []byte) (sum [HashSize]byte, buf []byte) {
	return hashEvent(prev, e, nil, scratch)
}

// hashEvent is HashEvent with the detail already encoded (or nil).
func hashEvent(prev []byte, e *Event, detail, scratch []byte) (sum [HashSize]byte, buf []byte) {
	buf = append(scratch[:0], prev...)
	buf = appendCanonical(buf, e, detail)
	return sha256.Sum256(buf), buf
}

// Head is the end of a stream's chain: its last Seq and Hash (0 and
// Genesis for an empty stream).
type Head struct {
	TenantID string
	Seq      int64
	Hash     []byte
	// DigestSeq is the Seq the newest digest of the stream covers; 0 if
	// none. Only ListHeads fills it.
	DigestSeq int64
}

// Link chains events, all of head's stream, onto head: it assigns Seq,
// PrevHash and Hash and returns the new head. Stores call it while holding
// the stream's lock.
func Link(head Head, events []Event) Head { return LinkEncoded(head, events, nil) }

// LinkEncoded is Link for a store that has already encoded each event's
// CanonicalDetail to keep it (details[i] for events[i]), so that no detail
// is encoded twice; details may be nil.
func LinkEncoded(head Head, events []Event, details [][]byte) Head {
	return linkEach(head, len(events), func(j int) int { return j }, events, details)
}

// LinkSubset is LinkEncoded for one stream's events among a batch that
// mixes streams: it links events[i] for each i of idx, in that order, so
// that a store links each stream in place instead of copying its events
// out and back (details, when not nil, is indexed like events).
func LinkSubset(head Head, events []Event, idx []int, details [][]byte) Head {
	return linkEach(head, len(idx), func(j int) int { return idx[j] }, events, details)
}

// linkEach chains n events, the j-th being events[at(j)], onto head.
func linkEach(head Head, n int, at func(j int) int, events []Event, details [][]byte) Head {
	prev := head.Hash
	if len(prev) == 0 {
		prev = Genesis()
	}
	seq := head.Seq
	var scratch []byte
	for j := range n {
		i := at(j)
		e := &events[i]
		seq++
		e.Seq = seq
		e.PrevHash = prev
		var sum [HashSize]byte
		var detail []byte
		if details != nil {
			detail = details[i]
		}
		sum, scratch = hashEvent(prev, e, detail, scratch)
		e.Hash = sum[:]
		prev = e.Hash
	}
	return Head{TenantID: head.TenantID, Seq: seq, Hash: prev}
}

// CanonicalDetail is the canonical JSON object of a Detail, as it appears
// in Canonical; stores keep it so that it decodes back to the same map.
func CanonicalDetail(d map[string]string) []byte { return appendDetail(nil, d) }

// ParseDetail decodes a Detail stored as CanonicalDetail wrote it. Verify
// reads one per event, so the canonical form is parsed directly; anything
// else goes through encoding/json, and what that cannot decode either is
// an error.
func ParseDetail(b []byte) (map[string]string, error) {
	if string(b) == "{}" {
		return nil, nil
	}
	if d, ok := parseCanonicalDetail(b); ok {
		return d, nil
	}
	var d map[string]string
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	return d, nil
}

// parseCanonicalDetail parses {"k":"v",…} with appendString's escapes
// only; false means "not in canonical form", not "invalid".
func parseCanonicalDetail(b []byte) (map[string]string, bool) {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, false
	}
	d := make(map[string]string, 4)
	rest := b[1 : len(b)-1]
	for len(rest) > 0 {
		k, r, ok := parseCanonicalString(rest)
		if !ok || len(r) == 0 || r[0] != ':' {
			return nil, false
		}
		v, r, ok := parseCanonicalString(r[1:])
		if !ok {
			return nil, false
		}
		d[k] = v
		if len(r) > 0 {
			if r[0] != ',' || len(r) == 1 {
				return nil, false
			}
			r = r[1:]
		}
		rest = r
	}
	return d, true
}

func parseCanonicalString(b []byte) (string, []byte, bool) {
	if len(b) == 0 || b[0] != '"' {
		return "", nil, false
	}
	b = b[1:]
	// The common case: no escapes.
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			return string(b[:i]), b[i+1:], true
		case '\\':
			return parseEscaped(b)
		}
	}
	return "", nil, false
}

func parseEscaped(b []byte) (string, []byte, bool) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			return string(out), b[i+1:], true
		case c < 0x20:
			return "", nil, false
		case c != '\\':
			out = append(out, c)
		case i+1 < len(b) && (b[i+1] == '"' || b[i+1] == '\\'):
			out = append(out, b[i+1])
			i++
		case i+5 < len(b) && b[i+1] == 'u' && b[i+2] == '0' && b[i+3] == '0':
			hi, lo := unhex(b[i+4]), unhex(b[i+5])
			if hi < 0 || hi > 1 || lo < 0 {
				return "", nil, false
			}
			out = append(out, byte(hi<<4|lo))
			i += 5
		default:
			return "", nil, false
		}
	}
	return "", nil, false
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}
