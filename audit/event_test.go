package audit

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
)

func TestValidate(t *testing.T) {
	valid := func() Event {
		e := sample()
		e.Reason = "ok"
		return e
	}
	many := map[string]string{}
	for i := range MaxDetailEntries + 1 {
		many[strings.Repeat("k", i+1)] = "v"
	}
	big := map[string]string{}
	for i := range 5 {
		big[strings.Repeat("k", i+1)] = strings.Repeat("v", 1000)
	}
	for _, tc := range []struct {
		name  string
		edit  func(e *Event)
		field string // "" = valid
	}{
		{"valid", func(*Event) {}, ""},
		{"platform stream", func(e *Event) { e.TenantID = "" }, ""},
		{"free text with spaces and newlines", func(e *Event) { e.UserAgent = "a b\nc\t\x01" }, ""},
		{"no id", func(e *Event) { e.ID = "" }, "id"},
		{"bad id", func(e *Event) { e.ID = "not-an-id" }, "id"},
		{"no time", func(e *Event) { e.Time = time.Time{} }, "time"},
		{"time before 1970", func(e *Event) { e.Time = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC) }, "time"},
		{"no action", func(e *Event) { e.Action = "" }, "action"},
		{"action without verb", func(e *Event) { e.Action = "session" }, "action"},
		{"action upper case", func(e *Event) { e.Action = "Session.Login" }, "action"},
		{"action two dots", func(e *Event) { e.Action = "a.b.c" }, "action"},
		{"bad outcome", func(e *Event) { e.Outcome = "ok" }, "outcome"},
		{"no outcome", func(e *Event) { e.Outcome = "" }, "outcome"},
		{"actor too long", func(e *Event) { e.ActorID = strings.Repeat("a", 257) }, "actor_id"},
		{"user agent too long", func(e *Event) { e.UserAgent = strings.Repeat("a", 513) }, "user_agent"},
		{"reason too long", func(e *Event) { e.Reason = strings.Repeat("a", 257) }, "reason"},
		{"tenant with space", func(e *Event) { e.TenantID = "t 1" }, "tenant_id"},
		{"target with newline", func(e *Event) { e.TargetID = "a\nb" }, "target_id"},
		{"NUL in free text", func(e *Event) { e.Reason = "a\x00b" }, "reason"},
		{"invalid UTF-8", func(e *Event) { e.UserAgent = "\xff" }, "user_agent"},
		{"too many detail entries", func(e *Event) { e.Detail = many }, "detail"},
		{"detail too big", func(e *Event) { e.Detail = big }, "detail"},
		{"empty detail key", func(e *Event) { e.Detail = map[string]string{"": "v"} }, "detail"},
		{"detail key with space", func(e *Event) { e.Detail = map[string]string{"a b": "v"} }, "detail"},
		{"detail value too long", func(e *Event) { e.Detail = map[string]string{"k": strings.Repeat("v", 1025)} }, "detail.k"},
		{"detail value invalid UTF-8", func(e *Event) { e.Detail = map[string]string{"k": "\xc3"} }, "detail.k"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := valid()
			tc.edit(&e)
			err := e.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Kind != fault.Invalid || fe.Code != CodeInvalidEvent || fe.Field != tc.field {
				t.Fatalf("Validate = %v; want invalid %s on %s", err, CodeInvalidEvent, tc.field)
			}
		})
	}
}

func TestPrepare(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 6789, time.FixedZone("x", 3600))
	var e Event
	e.Prepare(now)
	if !e.Time.Equal(now.Truncate(time.Microsecond)) || e.Time.Location() != time.UTC || len(e.ID) != 26 {
		t.Fatalf("prepared: %+v", e)
	}
	id := e.ID
	e.Prepare(now.Add(time.Hour))
	if e.ID != id || !e.Time.Equal(now.Truncate(time.Microsecond)) {
		t.Fatalf("Prepare replaced what was set: %+v", e)
	}
}
