package usage

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
)

// good is a valid usage.llm event; tests change one attribute at a time.
func good() map[string]any {
	return map[string]any{
		"specversion": "1.0", "id": "01J9Z", "source": "//agents/runtime", "type": "usage.llm",
		"subject": "agent:7f3a", "time": "2025-03-14T15:09:26.535897Z", "tenant": "t1",
		"data": map[string]any{"model": "gpt-4o", "input_tokens": 120, "output_tokens": 30},
	}
}

func encode(t testing.TB, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func with(change func(m map[string]any)) map[string]any {
	m := good()
	change(m)
	return m
}

func data(fields map[string]any) func(map[string]any) {
	return func(m map[string]any) { m["data"] = fields }
}

func TestDecode(t *testing.T) {
	e, err := Decode(encode(t, good()))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := Event{TenantID: "t1", Source: "//agents/runtime", ID: "01J9Z", Type: TypeLLM, Subject: "agent:7f3a",
		Time: time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)}
	if e.TenantID != want.TenantID || e.Source != want.Source || e.ID != want.ID || e.Type != want.Type ||
		e.Subject != want.Subject || !e.Time.Equal(want.Time) || e.Time.Location() != time.UTC {
		t.Fatalf("Decode = %+v, want %+v", e, want)
	}
	if string(e.Data) != `{"input_tokens":120,"model":"gpt-4o","output_tokens":30}` {
		t.Errorf("data %s", e.Data)
	}
	if e.Minute() != want.Time.Unix()/60 {
		t.Errorf("minute %d", e.Minute())
	}
}

// TestDecodeEscapedNames: member names and the specversion are read
// unescaped, as encoding/json reads them, whether or not they hold escapes
// (the decoder reads unescaped ones in place).
func TestDecodeEscapedNames(t *testing.T) {
	raw := strings.NewReplacer(`"id"`, `"\u0069d"`, `"specversion":"1.0"`, `"spec\u0076ersion":"1\u002e0"`,
		`"model"`, `"mod\u0065l"`).Replace(string(encode(t, good())))
	e, err := Decode([]byte(raw))
	if err != nil {
		t.Fatalf("Decode(%s): %v", raw, err)
	}
	if e.ID != "01J9Z" || e.Field("model") != "gpt-4o" {
		t.Fatalf("id %q, model %v; want 01J9Z, gpt-4o", e.ID, e.Field("model"))
	}
	if _, err := Decode([]byte(strings.Replace(raw, `"1\u002e0"`, `"1.1"`, 1))); err == nil {
		t.Fatal("specversion 1.1 accepted")
	}
}

func TestDecodeRefuses(t *testing.T) {
	deep := map[string]any{"x": 1}
	for range MaxDepth {
		deep = map[string]any{"x": deep}
	}
	many := map[string]any{"model": "m", "input_tokens": 1}
	for i := range MaxMembers {
		many[strings.Repeat("k", 1+i%5)+string(rune('a'+i%26))+string(rune('a'+i/26))] = i
	}
	for _, c := range []struct {
		name  string
		raw   []byte
		code  fault.Code
		field string
	}{
		{"not an object", []byte(`[1]`), CodeInvalidEvent, ""},
		{"null", []byte(`null`), CodeInvalidEvent, ""},
		{"not JSON", []byte(`{"id":`), CodeInvalidEvent, ""},
		{"invalid UTF-8", []byte("{\"id\":\"\xc0\xaf\"}"), CodeInvalidEvent, ""},
		{"too large", encode(t, with(data(map[string]any{"model": strings.Repeat("m", MaxEventBytes)}))), CodeEventTooLarge, ""},
		{"too deep", encode(t, with(data(deep))), CodeEventTooLarge, ""},
		{"too many members", encode(t, with(data(many))), CodeEventTooLarge, ""},
		{"specversion 0.3", encode(t, with(func(m map[string]any) { m["specversion"] = "0.3" })), CodeInvalidEvent, "specversion"},
		{"no specversion", encode(t, with(func(m map[string]any) { delete(m, "specversion") })), CodeInvalidEvent, "specversion"},
		{"no id", encode(t, with(func(m map[string]any) { delete(m, "id") })), CodeInvalidEvent, "id"},
		{"empty id", encode(t, with(func(m map[string]any) { m["id"] = "" })), CodeInvalidEvent, "id"},
		{"id of a number", encode(t, with(func(m map[string]any) { m["id"] = 7 })), CodeInvalidEvent, "id"},
		{"id with a control character", encode(t, with(func(m map[string]any) { m["id"] = "a\x01" })), CodeInvalidEvent, "id"},
		{"id too long", encode(t, with(func(m map[string]any) { m["id"] = strings.Repeat("i", maxID+1) })), CodeInvalidEvent, "id"},
		{"no source", encode(t, with(func(m map[string]any) { delete(m, "source") })), CodeInvalidEvent, "source"},
		{"source with a space", encode(t, with(func(m map[string]any) { m["source"] = "a b" })), CodeInvalidEvent, "source"},
		{"unknown type", encode(t, with(func(m map[string]any) { m["type"] = "com.example.llm" })), CodeInvalidEvent, "type"},
		{"type in capitals", encode(t, with(func(m map[string]any) { m["type"] = "usage.LLM" })), CodeInvalidEvent, "type"},
		{"bare usage.", encode(t, with(func(m map[string]any) { m["type"] = "usage." })), CodeInvalidEvent, "type"},
		{"no subject", encode(t, with(func(m map[string]any) { delete(m, "subject") })), CodeInvalidEvent, "subject"},
		{"subject not an actor", encode(t, with(func(m map[string]any) { m["subject"] = "bob" })), CodeInvalidEvent, "subject"},
		{"subject prefix alone", encode(t, with(func(m map[string]any) { m["subject"] = "user:" })), CodeInvalidEvent, "subject"},
		{"no time", encode(t, with(func(m map[string]any) { delete(m, "time") })), CodeInvalidEvent, "time"},
		{"time not RFC 3339", encode(t, with(func(m map[string]any) { m["time"] = "14/03/2025" })), CodeInvalidEvent, "time"},
		{"time before 1970", encode(t, with(func(m map[string]any) { m["time"] = "1969-12-31T23:59:59Z" })), CodeInvalidEvent, "time"},
		{"tenant empty", encode(t, with(func(m map[string]any) { m["tenant"] = "" })), CodeInvalidEvent, "tenant"},
		{"tenant of a number", encode(t, with(func(m map[string]any) { m["tenant"] = 1 })), CodeInvalidEvent, "tenant"},
		{"datacontenttype xml", encode(t, with(func(m map[string]any) { m["datacontenttype"] = "application/xml" })), CodeInvalidEvent, "datacontenttype"},
		{"data_base64", encode(t, with(func(m map[string]any) { m["data_base64"] = "AAAA" })), CodeInvalidEvent, "data_base64"},
		{"bad extension name", encode(t, with(func(m map[string]any) { m["Trace-Parent"] = "x" })), CodeInvalidEvent, "Trace-Parent"},
		{"extension of an object", encode(t, with(func(m map[string]any) { m["ext"] = map[string]any{} })), CodeInvalidEvent, "ext"},
		{"no data", encode(t, with(func(m map[string]any) { delete(m, "data") })), CodeInvalidEvent, "data"},
		{"data an array", encode(t, with(func(m map[string]any) { m["data"] = []int{1} })), CodeInvalidEvent, "data"},
		{"data a string", encode(t, with(func(m map[string]any) { m["data"] = "x" })), CodeInvalidEvent, "data"},
		{"data holding NUL", encode(t, with(data(map[string]any{"model": "a\x00b", "input_tokens": 1}))), CodeInvalidEvent, "data.model"},
		{"llm without model", encode(t, with(data(map[string]any{"input_tokens": 1}))), CodeInvalidEvent, "data.model"},
		{"llm without tokens", encode(t, with(data(map[string]any{"model": "m"}))), CodeInvalidEvent, "data.input_tokens"},
		{"llm negative tokens", encode(t, with(data(map[string]any{"model": "m", "input_tokens": -1}))), CodeInvalidEvent, "data.input_tokens"},
		{"llm fractional tokens", encode(t, with(data(map[string]any{"model": "m", "output_tokens": 1.5}))), CodeInvalidEvent, "data.output_tokens"},
		{"llm tokens as a string", encode(t, with(data(map[string]any{"model": "m", "input_tokens": "5"}))), CodeInvalidEvent, "data.input_tokens"},
		{"llm tokens beyond 2^53", []byte(strings.Replace(string(encode(t, good())), `"input_tokens":120`, `"input_tokens":9007199254740993`, 1)), CodeInvalidEvent, "data.input_tokens"},
		{"tool without tool", encode(t, with(func(m map[string]any) {
			m["type"], m["data"] = TypeTool, map[string]any{"duration_ms": 5}
		})), CodeInvalidEvent, "data.tool"},
		{"tool negative duration", encode(t, with(func(m map[string]any) {
			m["type"], m["data"] = TypeTool, map[string]any{"tool": "t", "duration_ms": -5}
		})), CodeInvalidEvent, "data.duration_ms"},
		{"tool status a number", encode(t, with(func(m map[string]any) {
			m["type"], m["data"] = TypeTool, map[string]any{"tool": "t", "status": 200}
		})), CodeInvalidEvent, "data.status"},
		{"api without route", encode(t, with(func(m map[string]any) {
			m["type"], m["data"] = TypeAPI, map[string]any{"status": 200}
		})), CodeInvalidEvent, "data.route"},
		{"api status 42", encode(t, with(func(m map[string]any) {
			m["type"], m["data"] = TypeAPI, map[string]any{"route": "GET /x", "status": 42}
		})), CodeInvalidEvent, "data.status"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.raw)
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Code != c.code || fe.Field != c.field || fe.Kind != fault.Invalid {
				t.Fatalf("Decode = %v, want %s on field %q", err, c.code, c.field)
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	for _, c := range []struct {
		name string
		m    map[string]any
	}{
		{"without tenant (the credential's)", with(func(m map[string]any) { delete(m, "tenant") })},
		{"output tokens only", with(data(map[string]any{"model": "m", "output_tokens": 0}))},
		{"extensions", with(func(m map[string]any) { m["traceparent"], m["sampled"], m["n"] = "00-ab", true, 3 })},
		{"datacontenttype json", with(func(m map[string]any) { m["datacontenttype"] = "application/json" })},
		{"a tenant-defined type with any data", with(func(m map[string]any) {
			m["type"], m["data"] = "usage.transcription", map[string]any{"seconds": 12.5, "nested": map[string]any{"a": []any{1, "x"}}}
		})},
		{"tool with fractional duration", with(func(m map[string]any) {
			m["type"], m["data"] = TypeTool, map[string]any{"tool": "search", "duration_ms": 12.5, "status": "ok"}
		})},
		{"api call", with(func(m map[string]any) {
			m["type"], m["data"] = TypeAPI, map[string]any{"route": "POST /v1/messages", "status": 201}
		})},
		{"time with an offset", with(func(m map[string]any) { m["time"] = "2025-03-14T17:09:26+02:00" })},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := Decode(encode(t, c.m))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if e.Time.Location() != time.UTC {
				t.Errorf("time not in UTC: %v", e.Time)
			}
		})
	}
}

func TestDecodeBatch(t *testing.T) {
	one := string(encode(t, good()))
	bad := string(encode(t, with(func(m map[string]any) { m["specversion"] = "2" })))
	got, err := DecodeBatch([]byte(" [" + one + ", " + bad + ", 7] "))
	if err != nil || len(got) != 3 || got[0].Err != nil || got[1].Err == nil || got[2].Err == nil {
		t.Fatalf("DecodeBatch = %+v, %v; want the first good and the other two refused alone", got, err)
	}
	full := "[" + strings.TrimSuffix(strings.Repeat(one+",", MaxBatch), ",") + "]"
	if got, err := DecodeBatch([]byte(full)); err != nil || len(got) != MaxBatch {
		t.Fatalf("a full batch: %d, %v", len(got), err)
	}
	for _, c := range []struct{ name, body string }{
		{"an object", one},
		{"empty", "[]"},
		{"truncated", "[" + one},
		{"broken inside", "[" + one + ", {]"},
		{"trailing data", "[" + one + "] []"},
		{"one over the limit", "[" + one + "," + full[1:]},
		{"nothing", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeBatch([]byte(c.body))
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Code != CodeInvalidBatch {
				t.Fatalf("DecodeBatch = %v, want %s", err, CodeInvalidBatch)
			}
		})
	}
}

func TestShippedMetersValid(t *testing.T) {
	ms, err := NewMeters(Shipped)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"llm_input_tokens", "llm_output_tokens", "tool_runs", "tool_duration_ms", "api_calls"} {
		if _, ok := ms.Lookup("t1", name); !ok {
			t.Errorf("no shipped meter %s", name)
		}
	}
}

func TestMeterValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		m    Meter
		ok   bool
	}{
		{"sum", Meter{Name: "a", EventType: "usage.x", Aggregation: Sum, ValuePath: "v.w"}, true},
		{"count with a path", Meter{Name: "a", EventType: "usage.x", Aggregation: Count, ValuePath: "v"}, false},
		{"sum without a path", Meter{Name: "a", EventType: "usage.x", Aggregation: Sum}, false},
		{"unknown aggregation", Meter{Name: "a", EventType: "usage.x", Aggregation: "AVG", ValuePath: "v"}, false},
		{"bad name", Meter{Name: "A-b", EventType: "usage.x", Aggregation: Count}, false},
		{"bad type", Meter{Name: "a", EventType: "llm", Aggregation: Count}, false},
		{"group by subject", Meter{Name: "a", EventType: "usage.x", Aggregation: Count, GroupBy: []string{"subject"}}, false},
		{"group by twice", Meter{Name: "a", EventType: "usage.x", Aggregation: Count, GroupBy: []string{"m", "m"}}, false},
		{"bad path", Meter{Name: "a", EventType: "usage.x", Aggregation: Max, ValuePath: "a..b"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.m.Validate(); (err == nil) != c.ok {
				t.Fatalf("Validate = %v, want ok %v", err, c.ok)
			}
		})
	}
	if _, err := NewMeters([]Meter{Shipped[0], Shipped[0]}); err == nil {
		t.Error("two meters of one name accepted")
	}
}

func TestContributions(t *testing.T) {
	meters := []Meter{
		{Name: "sum", EventType: "usage.x", Aggregation: Sum, ValuePath: "n.v", GroupBy: []string{"m", "flag"}},
		{Name: "count", EventType: "usage.x", Aggregation: Count},
		{Name: "uniq", EventType: "usage.x", Aggregation: UniqueCount, ValuePath: "who"},
		{Name: "absent", EventType: "usage.x", Aggregation: Max, ValuePath: "missing"},
	}
	ev := func(d map[string]any) *Event {
		e, err := Decode(encode(t, with(func(m map[string]any) { m["type"], m["data"] = "usage.x", d })))
		if err != nil {
			t.Fatal(err)
		}
		return &e
	}
	got, err := Contributions(ev(map[string]any{"n": map[string]any{"v": 2.5}, "m": "gpt", "flag": true, "who": 7}), meters)
	if err != nil {
		t.Fatal(err)
	}
	want := []Contribution{
		{Meter: "sum", Aggregation: Sum, Dims: `{"flag":"true","m":"gpt"}`, Value: 2.5},
		{Meter: "count", Aggregation: Count, Dims: "{}", Value: 1},
		{Meter: "uniq", Aggregation: UniqueCount, Dims: "{}", Value: 1, Unique: "7"},
	}
	if len(got) != len(want) {
		t.Fatalf("Contributions = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("contribution %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, c := range []struct {
		name  string
		data  map[string]any
		field string
	}{
		{"value not a number", map[string]any{"n": map[string]any{"v": "2"}}, "data.n.v"},
		{"dimension an object", map[string]any{"n": map[string]any{"v": 1}, "m": map[string]any{}}, "data.m"},
		{"unique an array", map[string]any{"who": []any{1}}, "data.who"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Contributions(ev(c.data), meters)
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("Contributions = %v, want refused on %s", err, c.field)
			}
		})
	}
}
