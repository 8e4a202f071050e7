package usage

import (
	"errors"
	"testing"

	"github.com/tollgate/tollgate/fault"
)

// TestDecodeCorrections: a void names the event it voids; an amendment
// also carries replacement data; what they correct comes out of Correction.
func TestDecodeCorrections(t *testing.T) {
	typed := func(typ string, fields map[string]any) map[string]any {
		return with(func(m map[string]any) { m["type"], m["data"] = typ, fields })
	}
	for _, c := range []struct {
		name       string
		event      map[string]any
		field      string // "" when accepted
		wantSource string
		wantData   string
	}{
		{"a void", typed(TypeVoid, map[string]any{"event_id": "e1"}), "", "//agents/runtime", ""},
		{"a void of another source", typed(TypeVoid, map[string]any{"event_id": "e1", "source": "//tools"}), "", "//tools", ""},
		{"an amendment", typed(TypeAmend, map[string]any{"event_id": "e1", "data": map[string]any{"model": "m", "input_tokens": 1}}), "", "//agents/runtime", `{"input_tokens":1,"model":"m"}`},
		{"a void without event_id", typed(TypeVoid, map[string]any{"id": "e1"}), "data.event_id", "", ""},
		{"an empty event_id", typed(TypeVoid, map[string]any{"event_id": ""}), "data.event_id", "", ""},
		{"an event_id that is a number", typed(TypeVoid, map[string]any{"event_id": 7}), "data.event_id", "", ""},
		{"a source with a space", typed(TypeVoid, map[string]any{"event_id": "e1", "source": "a b"}), "data.source", "", ""},
		{"an amendment without data", typed(TypeAmend, map[string]any{"event_id": "e1"}), "data.data", "", ""},
		{"an amendment whose data is no object", typed(TypeAmend, map[string]any{"event_id": "e1", "data": []int{1}}), "data.data", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := Decode(encode(t, c.event))
			if c.field != "" {
				var fe *fault.Error
				if !errors.As(err, &fe) || fe.Field != c.field || fe.Code != CodeInvalidEvent {
					t.Fatalf("Decode = %v, want %s refused", err, c.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			corr, ok := e.Correction()
			if !ok || corr.ID != "e1" || corr.Source != c.wantSource || string(corr.Data) != c.wantData {
				t.Fatalf("Correction = %+v, %v", corr, ok)
			}
		})
	}
	if _, ok := (&Event{Type: TypeLLM}).Correction(); ok {
		t.Fatal("a usage.llm event corrects nothing")
	}
	if err := (Meter{Name: "voids", EventType: TypeVoid, Aggregation: Count}).Validate(); err == nil {
		t.Fatal("a meter counts voids")
	}
}
