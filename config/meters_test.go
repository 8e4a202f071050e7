package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/usage"
)

const goodMeters = `[{"name":"emails_sent","event_type":"usage.email","aggregation":"COUNT","group_by":["campaign"]},` +
	`{"name":"email_bytes","event_type":"usage.email","aggregation":"SUM","value_path":"size.bytes"}]`

func TestMetersFromEnvironment(t *testing.T) {
	c, err := load(nil, map[string]string{"TOLLGATE_METERS": goodMeters})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := c.UsageMeters()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(ms.All("")), len(usage.Shipped)+2; got != want {
		t.Fatalf("%d meters in force, want %d", got, want)
	}
	m, ok := ms.Lookup("", "email_bytes")
	if !ok || m.Aggregation != usage.Sum || m.ValuePath != "size.bytes" || m.EventType != "usage.email" {
		t.Errorf("email_bytes = %+v, %v", m, ok)
	}
	if got := ms.For("", "usage.email"); len(got) != 2 || got[0].Name != "emails_sent" || !reflect.DeepEqual(got[0].GroupBy, []string{"campaign"}) {
		t.Errorf("meters of usage.email = %+v", got)
	}
	if _, ok := ms.Lookup("", "llm_input_tokens"); !ok {
		t.Error("the shipped meters are no longer in force")
	}
}

func TestMetersFromFileAsYAMLList(t *testing.T) {
	path := writeYAML(t, lines(
		"meters:",
		"  - name: emails_sent",
		"    event_type: usage.email",
		"    aggregation: COUNT",
		"    group_by: [campaign]",
	))
	c, err := load([]string{"--config", path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseMeters(c.Meters)
	if err != nil {
		t.Fatal(err)
	}
	want := []usage.Meter{{Name: "emails_sent", EventType: "usage.email", Aggregation: usage.Count, GroupBy: []string{"campaign"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("meters = %+v, want %+v", got, want)
	}
	// What config print writes loads back as the same setting.
	var b strings.Builder
	if err := c.WriteRedacted(&b); err != nil {
		t.Fatal(err)
	}
	again, err := load([]string{"--config", writeYAML(t, b.String())}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Meters != c.Meters {
		t.Errorf("written and read again: %q, want %q", again.Meters, c.Meters)
	}
}

func TestMetersRefused(t *testing.T) {
	tooMany := make([]string, usage.MaxConfiguredMeters+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf(`{"name":"m%d","event_type":"usage.x","aggregation":"COUNT"}`, i)
	}
	for _, tc := range []struct{ name, value, want string }{
		{"not JSON", `emails_sent=COUNT`, "JSON array"},
		{"an object", `{"name":"a"}`, "JSON array"},
		{"unknown key", `[{"name":"a","event_type":"usage.x","aggregation":"COUNT","valuepath":"n"}]`, "valuepath"},
		{"trailing", `[] []`, "nothing after it"},
		{"bad meter", `[{"name":"ok","event_type":"usage.x","aggregation":"COUNT"},{"name":"bad_sum","event_type":"usage.x","aggregation":"SUM"}]`, "meters[1]: meter bad_sum: value path"},
		{"bad event type", `[{"name":"m","event_type":"usage.void","aggregation":"COUNT"}]`, "meter m: event type"},
		{"shipped name", `[{"name":"api_calls","event_type":"usage.x","aggregation":"COUNT"}]`, "meters[0]: meter api_calls is a shipped meter"},
		{"duplicate", `[{"name":"a","event_type":"usage.x","aggregation":"COUNT"},{"name":"a","event_type":"usage.y","aggregation":"COUNT"}]`, "meters[1]: meter a is defined twice"},
		{"too many", "[" + strings.Join(tooMany, ",") + "]", fmt.Sprintf("at most %d configured meters", usage.MaxConfiguredMeters)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(nil, map[string]string{"TOLLGATE_METERS": tc.value})
			if err == nil {
				t.Fatal("loaded")
			}
			if !strings.Contains(err.Error(), "TOLLGATE_METERS") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name TOLLGATE_METERS and %q", err, tc.want)
			}
		})
	}
}

func TestMetersInFileRefusedWithLine(t *testing.T) {
	path := writeYAML(t, lines(
		"listen: 127.0.0.1:9300",
		"meters:",
		"  - {name: api_calls, event_type: usage.x, aggregation: COUNT}",
	))
	_, err := load([]string{"--config", path}, nil)
	if err == nil || !strings.Contains(err.Error(), path+":3: meters") || !strings.Contains(err.Error(), "api_calls is a shipped meter") {
		t.Errorf("error %v, want the file's line and the meter", err)
	}
	// Other settings still take a single value.
	path = writeYAML(t, lines("listen: [a, b]"))
	if _, err := load([]string{"--config", path}, nil); err == nil || !strings.Contains(err.Error(), "not a list or mapping") {
		t.Errorf("a list for listen: %v", err)
	}
}
