package usage

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tollgate/tollgate/ids"
)

// Event types Tollgate's shipped meters count. Others may be reported as
// usage.<name>, for the tenant's own meters.
const (
	TypeLLM  = "usage.llm"
	TypeTool = "usage.tool"
	TypeAPI  = "usage.api"
)

// Event is one record of consumption.
type Event struct {
	// ID identifies the event within its Source; "" gives it a new
	// time-ordered id. Give your own when the event may be reported twice
	// (a job that is retried): Tollgate then counts it once.
	ID string
	// Source is the reporter, a URI-reference; "" is Config.Source.
	Source string
	// Type is TypeLLM, TypeTool, TypeAPI or another usage.<name>.
	Type string
	// Subject is the actor that consumed: "user:…", "agent:…",
	// "service:…".
	Subject string
	// Tenant is the tenant id. Required with client credentials; with an
	// API key, "" is the key's tenant.
	Tenant string
	// Time is when the consumption happened; zero is now.
	Time time.Time
	// Data is the metric fields, encoded as a JSON object: LLM, Tool, API,
	// a map or a struct of your own.
	Data any
}

// LLM is the data of a TypeLLM event.
type LLM struct {
	Model        string `json:"model"`
	InputTokens  int64  `json:"input_tokens"`
	OutputTokens int64  `json:"output_tokens"`
}

// Tool is the data of a TypeTool event.
type Tool struct {
	Tool       string  `json:"tool"`
	DurationMS float64 `json:"duration_ms"`
	Status     string  `json:"status,omitempty"`
}

// API is the data of a TypeAPI event.
type API struct {
	Route  string `json:"route"`
	Status int    `json:"status,omitempty"`
}

// MaxEventBytes is the largest encoded event Tollgate takes.
const MaxEventBytes = 16 << 10

// cloudEvent is an Event in CloudEvents 1.0 structured mode.
type cloudEvent struct {
	SpecVersion string          `json:"specversion"`
	ID          string          `json:"id"`
	Source      string          `json:"source"`
	Type        string          `json:"type"`
	Subject     string          `json:"subject"`
	Tenant      string          `json:"tenant,omitempty"`
	Time        string          `json:"time"`
	Data        json.RawMessage `json:"data"`
}

// ErrInvalidEvent is matched (errors.Is) by Report's refusal of an event
// that Tollgate could never take.
var ErrInvalidEvent = errors.New("usage: invalid event")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidEvent, fmt.Sprintf(format, args...))
}

// encode checks what Tollgate would refuse in any case and encodes e,
// filled in with defaults, as a CloudEvent. Tollgate validates the rest.
func encode(e Event, source string, needTenant bool, now time.Time) ([]byte, error) {
	if e.ID == "" {
		e.ID = ids.NewAt(now)
	}
	if e.Source == "" {
		e.Source = source
	}
	if e.Time.IsZero() {
		e.Time = now
	}
	switch {
	case !strings.HasPrefix(e.Type, "usage.") || len(e.Type) == len("usage."):
		return nil, invalid("type %q is not usage.<name>", e.Type)
	case e.Subject == "":
		return nil, invalid("subject is required: the actor that consumed")
	case e.Tenant == "" && needTenant:
		return nil, invalid("tenant is required when reporting as a service")
	case e.Source == "":
		return nil, invalid("source is required: set Config.Source or Event.Source")
	}
	data, err := json.Marshal(e.Data)
	if err != nil {
		return nil, invalid("data: %v", err)
	}
	if len(data) == 0 || data[0] != '{' {
		return nil, invalid("data must encode to a JSON object")
	}
	raw, err := json.Marshal(cloudEvent{
		SpecVersion: "1.0", ID: e.ID, Source: e.Source, Type: e.Type, Subject: e.Subject, Tenant: e.Tenant,
		Time: e.Time.UTC().Format(time.RFC3339Nano), Data: data,
	})
	if err != nil {
		return nil, invalid("%v", err)
	}
	if len(raw) > MaxEventBytes {
		return nil, invalid("the event encodes to %d bytes, more than %d", len(raw), MaxEventBytes)
	}
	return raw, nil
}
