package usage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tollgate/tollgate/fault"
)

// Event types Tollgate knows the data of. Tenants may report others as
// usage.<name>; they are stored and counted by the meters that name them.
const (
	TypeLLM  = "usage.llm"
	TypeTool = "usage.tool"
	TypeAPI  = "usage.api"
)

// SpecVersion is the only CloudEvents version accepted.
const SpecVersion = "1.0"

// Limits, checked on the raw bytes before anything is parsed, so that a
// hostile event costs one linear scan. They are far above what a usage
// record needs (a few hundred bytes).
const (
	// MaxEventBytes bounds one event's JSON encoding.
	MaxEventBytes = 16 << 10
	// MaxDataBytes bounds the encoding of its data.
	MaxDataBytes = 8 << 10
	// MaxDepth bounds the nesting of objects and arrays in an event (the
	// event itself is depth 1, its data 2).
	MaxDepth = 6
	// MaxMembers bounds the object members and array elements of an event,
	// at every depth together.
	MaxMembers = 256
	// MaxBatch is the most events one request or fetch records.
	MaxBatch = 1000
	// MaxExtensions bounds the extension attributes besides tenant.
	MaxExtensions = 16

	maxID      = 256
	maxSource  = 512
	maxSubject = 256
	maxTenant  = 128
	maxName    = 64
	maxString  = 256
	// maxInteger is the largest integer a float64 holds exactly: token
	// counts beyond it could not be summed exactly.
	maxInteger = 1 << 53
)

// Event is one usage record as stored.
type Event struct {
	TenantID string
	// Source and ID identify the event within the tenant: (TenantID,
	// Source, ID) is the de-duplication key.
	Source string
	ID     string
	Type   string
	// Subject is the actor that consumed: "user:…", "agent:…",
	// "service:…".
	Subject string
	// Time is when the consumption happened, in UTC at microseconds; it
	// decides the minute the event is counted in.
	Time time.Time
	// Data is the event's data object, compact JSON as sent.
	Data json.RawMessage

	// fields is Data decoded, for the meters; nil on events read back.
	fields map[string]any
}

// Minute is the event's minute as minutes since the Unix epoch, the unit of
// the roll-ups.
func (e *Event) Minute() int64 { return e.Time.Unix() / 60 }

// Key is the de-duplication key within a tenant, and what orders LATEST's
// events of the same microsecond: source and id joined by the unit
// separator, which neither may hold.
func (e *Event) Key() string { return e.Source + "\x1f" + e.ID }

// Field returns the data value at a dotted path ("usage.input_tokens"),
// or nil.
func (e *Event) Field(path string) any {
	var cur any = e.fields
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

func invalid(field, format string, args ...any) *fault.Error {
	return fault.Invalidf(field, CodeInvalidEvent, format, args...)
}

func tooLarge(format string, args ...any) *fault.Error {
	return fault.Invalidf("", CodeEventTooLarge, format, args...)
}

// Decode parses and validates one structured-mode CloudEvent. The tenant
// extension may be absent (TenantID ""): who reports decides whether that
// is allowed. Errors are *fault.Error with an event code.
func Decode(raw []byte) (Event, error) {
	if err := checkShape(raw); err != nil {
		return Event{}, err
	}
	if !utf8.Valid(raw) {
		return Event{}, invalid("", "the event is not valid UTF-8")
	}
	if !json.Valid(raw) {
		return Event{}, invalid("", "the event must be a JSON object")
	}
	return decodeValid(raw)
}

// decodeValid is Decode after its checks of the bytes: raw is bounded
// (checkShape), valid UTF-8 and valid JSON. A batch checks the JSON of all
// its events at once and comes in here.
func decodeValid(raw []byte) (Event, error) {
	var e Event
	var specversion string
	extensions := 0
	isObject, err := eachMember(raw, func(name []byte, v json.RawMessage) error {
		var err error
		switch string(name) {
		case "specversion":
			// The one version there is, as every event spells it, without
			// a copy.
			if string(v) == `"`+SpecVersion+`"` {
				specversion = SpecVersion
				break
			}
			specversion, err = str("specversion", v, 8)
		case "id":
			e.ID, err = ident("id", v, maxID, false)
		case "source":
			e.Source, err = ident("source", v, maxSource, true)
		case "type":
			e.Type, err = str("type", v, maxName+len("usage."))
		case "subject":
			e.Subject, err = ident("subject", v, maxSubject, true)
		case "tenant":
			e.TenantID, err = ident("tenant", v, maxTenant, true)
		case "time":
			var s string
			if s, err = str("time", v, 64); err == nil {
				e.Time, err = parseTime(s)
			}
		case "datacontenttype":
			var ct string
			if ct, err = str("datacontenttype", v, 64); err == nil && ct != "application/json" {
				err = invalid("datacontenttype", "datacontenttype must be application/json")
			}
		case "dataschema":
			_, err = ident("dataschema", v, maxSource, true)
		case "data":
			// A copy: the caller may reuse raw's buffer.
			e.Data = bytes.Clone(v)
		case "data_base64":
			err = invalid("data_base64", "binary data is not accepted: send data as a JSON object")
		default:
			extensions++
			err = extension(string(name), v)
		}
		return err
	})
	switch {
	case err != nil:
		return Event{}, err
	case !isObject:
		return Event{}, invalid("", "the event must be a JSON object")
	}
	switch {
	case specversion != SpecVersion:
		return Event{}, invalid("specversion", "specversion must be %q", SpecVersion)
	case e.ID == "":
		return Event{}, invalid("id", "id is required")
	case e.Source == "":
		return Event{}, invalid("source", "source is required")
	case e.Subject == "":
		return Event{}, invalid("subject", "subject is required: the actor id that consumed")
	case !validSubject(e.Subject):
		return Event{}, invalid("subject", `subject must be an actor id: "user:…", "agent:…" or "service:…"`)
	case e.Time.IsZero():
		return Event{}, invalid("time", "time is required")
	case !validType(e.Type):
		return Event{}, invalid("type", "type must be usage.llm, usage.tool, usage.api or usage.<name> (lower case letters, digits and _)")
	case extensions > MaxExtensions:
		return Event{}, tooLarge("at most %d extension attributes", MaxExtensions)
	}
	if err := e.decodeData(); err != nil {
		return Event{}, err
	}
	return e, nil
}

// checkShape bounds size, depth and member count in one pass over the
// bytes, before any allocation. It does not validate JSON: the parser does,
// on input now known to be small.
func checkShape(raw []byte) error {
	if len(raw) > MaxEventBytes {
		return tooLarge("the event encodes to %d bytes, more than %d", len(raw), MaxEventBytes)
	}
	depth, members := 0, 0
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '"':
			// Strings are most of an event's bytes and hold nothing
			// counted here: skip to the end of this one.
			i = stringEnd(raw, i) - 1
		case '{', '[':
			if depth++; depth > MaxDepth {
				return tooLarge("the event nests deeper than %d", MaxDepth)
			}
			members++
		case '}', ']':
			depth--
		case ',':
			members++
		}
		if members > MaxMembers {
			return tooLarge("the event has more than %d members", MaxMembers)
		}
	}
	return nil
}

func str(name string, v json.RawMessage, max int) (string, error) {
	s, ok := unquote(v)
	if !ok {
		return "", invalid(name, "%s must be a string", name)
	}
	if len(s) > max {
		return "", invalid(name, "%s is longer than %d bytes", name, max)
	}
	return s, nil
}

// ident reads an identifier: non-empty, without control characters (and
// without spaces when noSpace), so that it is safe in logs, keys and both
// databases' text.
func ident(name string, v json.RawMessage, max int, noSpace bool) (string, error) {
	s, err := str(name, v, max)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", invalid(name, "%s must not be empty", name)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || (noSpace && r == ' ') || r == utf8.RuneError {
			return "", invalid(name, "%s holds a control character%s", name, map[bool]string{true: " or space", false: ""}[noSpace])
		}
	}
	return s, nil
}

// parseTime reads an RFC 3339 time; before 1970 is refused so that minutes
// are never negative.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, invalid("time", "time must be an RFC 3339 timestamp")
	}
	t = t.UTC().Truncate(time.Microsecond)
	if t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, invalid("time", "time must be between 1970 and 9999")
	}
	return t, nil
}

// extension checks a CloudEvents extension attribute: a name of lower case
// letters and digits (at most 20), a string, number or boolean value.
// Extensions besides tenant are checked and not stored.
func extension(name string, v json.RawMessage) error {
	if name == "" || len(name) > 20 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		return invalid(name, "%q is not a CloudEvents attribute name (lower case letters and digits, at most 20)", truncate(name))
	}
	switch v[0] {
	case '{', '[', 'n':
		return invalid(name, "extension %s must be a string, number or boolean", name)
	}
	return nil
}

func validSubject(s string) bool {
	for _, p := range [...]string{"user:", "agent:", "service:"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			return rest != ""
		}
	}
	return false
}

// validType accepts usage.<name> with a name of lower case letters, digits
// and _, starting with a letter.
func validType(t string) bool {
	name, ok := strings.CutPrefix(t, "usage.")
	return ok && name != "" && len(name) <= maxName && name[0] >= 'a' && name[0] <= 'z' &&
		strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == ""
}

// decodeData parses data into fields and checks the fields the known types
// define. Numbers are kept as json.Number, so that an integer is judged as
// written.
func (e *Event) decodeData() error {
	if len(e.Data) == 0 {
		return invalid("data", "data is required: an object with the metric fields")
	}
	if len(e.Data) > MaxDataBytes {
		return tooLarge("data encodes to %d bytes, more than %d", len(e.Data), MaxDataBytes)
	}
	fields, ok := decodeObject(e.Data)
	if !ok {
		return invalid("data", "data must be a JSON object")
	}
	e.fields = fields
	if err := noNUL(e.fields, "data"); err != nil {
		return err
	}
	// Data without any white space is compact already.
	if bytes.ContainsAny(e.Data, " \t\r\n") {
		var compact bytes.Buffer
		if err := json.Compact(&compact, e.Data); err != nil {
			return invalid("data", "data must be a JSON object")
		}
		e.Data = compact.Bytes()
	}
	switch e.Type {
	case TypeLLM:
		if err := e.needString("model", true); err != nil {
			return err
		}
		in, err := e.needCount("input_tokens")
		if err != nil {
			return err
		}
		out, err := e.needCount("output_tokens")
		if err != nil {
			return err
		}
		if !in && !out {
			return invalid("data.input_tokens", "a usage.llm event has input_tokens, output_tokens or both")
		}
	case TypeTool:
		if err := e.needString("tool", true); err != nil {
			return err
		}
		if err := e.needString("status", false); err != nil {
			return err
		}
		if v, ok := e.fields["duration_ms"]; ok {
			if f, ok := number(v); !ok || f < 0 {
				return invalid("data.duration_ms", "duration_ms must be a number, at least 0")
			}
		}
	case TypeVoid, TypeAmend:
		return e.decodeCorrection()
	case TypeAPI:
		if err := e.needString("route", true); err != nil {
			return err
		}
		if v, ok := e.fields["status"]; ok {
			if f, ok := number(v); !ok || f != math.Trunc(f) || f < 100 || f > 599 {
				return invalid("data.status", "status must be an HTTP status code")
			}
		}
	}
	return nil
}

// noNUL refuses NUL in any key or string of data: PostgreSQL's text cannot
// hold it, and a dimension holding it would fail a whole batch's
// transaction instead of one event.
func noNUL(v any, at string) error {
	switch x := v.(type) {
	case string:
		if strings.ContainsRune(x, 0) {
			return invalid(at, "a string holds NUL")
		}
	case map[string]any:
		for k, c := range x {
			if strings.ContainsRune(k, 0) {
				return invalid(at, "a key holds NUL")
			}
			if err := noNUL(c, at+"."+k); err != nil {
				return err
			}
		}
	case []any:
		for _, c := range x {
			if err := noNUL(c, at); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *Event) needString(name string, required bool) error {
	v, ok := e.fields[name]
	if !ok {
		if required {
			return invalid("data."+name, "data.%s is required", name)
		}
		return nil
	}
	s, isString := v.(string)
	if !isString || (required && s == "") || len(s) > maxString {
		return invalid("data."+name, "data.%s must be a non-empty string of at most %d bytes", name, maxString)
	}
	return nil
}

// needCount checks an optional non-negative integer and reports whether it
// is there.
func (e *Event) needCount(name string) (bool, error) {
	v, ok := e.fields[name]
	if !ok {
		return false, nil
	}
	f, isNumber := number(v)
	if n, isInt := v.(json.Number); isInt {
		// Judged as written: 2^53+1 rounds to 2^53 as a float64.
		if i, err := n.Int64(); err == nil && i > maxInteger {
			isNumber = false
		}
	}
	if !isNumber || f < 0 || f != math.Trunc(f) || f > maxInteger {
		return false, invalid("data."+name, "data.%s must be an integer from 0 to 2^53", name)
	}
	return true, nil
}

// number reads a JSON number as a finite float64.
func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
}

// scalar is a dimension's value: strings as they are, numbers as written,
// booleans as true/false, absent or null as "". Objects and arrays are
// not dimensions.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return fmt.Sprint(x), true
	}
	return "", false
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
