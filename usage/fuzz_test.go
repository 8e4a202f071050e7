package usage

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/tollgate/tollgate/fault"
)

// FuzzDecode feeds the decoder arbitrary bytes: it must never panic, must
// refuse with a fault of an event code, and what it accepts must keep
// every invariant the store relies on.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"specversion":"1.0","id":"a","source":"s","type":"usage.llm","subject":"user:1","time":"2025-01-01T00:00:00Z","tenant":"t","data":{"model":"m","input_tokens":1}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"a","source":"s","type":"usage.tool","subject":"agent:1","time":"2025-01-01T00:00:00.5+02:00","data":{"tool":"x","duration_ms":1.5,"status":"ok"}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"a","source":"s","type":"usage.x","subject":"service:1","time":"2025-01-01T00:00:00Z","data":{"a":[[[[{}]]]]},"ext":1}`))
	f.Add([]byte(`[{"id":"\ud800"}]`))
	f.Add([]byte(`{"data":{"model":"\u0000"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, err := Decode(raw)
		if err != nil {
			var fe *fault.Error
			if !errors.As(err, &fe) || (fe.Code != CodeInvalidEvent && fe.Code != CodeEventTooLarge) {
				t.Fatalf("Decode refused with %v, not an event fault", err)
			}
			return
		}
		if len(raw) > MaxEventBytes || !utf8.Valid(raw) {
			t.Fatalf("accepted %d bytes, valid UTF-8 %v", len(raw), utf8.Valid(raw))
		}
		if e.ID == "" || e.Source == "" || !validSubject(e.Subject) || !validType(e.Type) || e.Time.IsZero() || e.Minute() < 0 {
			t.Fatalf("accepted an incomplete event %+v", e)
		}
		if !json.Valid(e.Data) || len(e.Data) > MaxDataBytes {
			t.Fatalf("accepted data %q", e.Data)
		}
		if _, err := Contributions(&e, ShippedMeters().For(e.TenantID, e.Type)); err != nil {
			t.Fatalf("an accepted %s event is refused by the shipped meters: %v", e.Type, err)
		}
	})
}
