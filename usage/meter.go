package usage

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Aggregation is how a meter combines its events' values.
type Aggregation string

const (
	// Sum adds the values.
	Sum Aggregation = "SUM"
	// Count counts the events; it has no value path.
	Count Aggregation = "COUNT"
	// Max keeps the largest value.
	Max Aggregation = "MAX"
	// UniqueCount counts the distinct values. Distinct values are kept per
	// minute and counted again over any window, since counts of minutes
	// do not add up to the count of an hour.
	UniqueCount Aggregation = "UNIQUE_COUNT"
	// Latest keeps the value of the event with the latest time (ties: the
	// greatest source and id), whatever order events arrive in.
	Latest Aggregation = "LATEST"
)

// Meter turns events of one type into a measured quantity.
type Meter struct {
	// Name is lower case letters, digits and _.
	Name string `json:"name"`
	// EventType is the type of the events it counts.
	EventType   string      `json:"event_type"`
	Aggregation Aggregation `json:"aggregation"`
	// ValuePath is a dotted path into data: the number to aggregate, or for
	// UNIQUE_COUNT the value whose distinct occurrences count. Empty for
	// COUNT.
	ValuePath string `json:"value_path,omitempty"`
	// GroupBy are dotted paths into data whose values (scalars) split the
	// roll-ups and can be grouped by in queries, under their path.
	GroupBy []string `json:"group_by"`
}

// MaxGroupBy bounds a meter's dimensions.
const MaxGroupBy = 8

// Shipped are the meters every tenant has.
var Shipped = []Meter{
	{Name: "llm_input_tokens", EventType: TypeLLM, Aggregation: Sum, ValuePath: "input_tokens", GroupBy: []string{"model"}},
	{Name: "llm_output_tokens", EventType: TypeLLM, Aggregation: Sum, ValuePath: "output_tokens", GroupBy: []string{"model"}},
	{Name: "tool_runs", EventType: TypeTool, Aggregation: Count, GroupBy: []string{"tool", "status"}},
	{Name: "tool_duration_ms", EventType: TypeTool, Aggregation: Sum, ValuePath: "duration_ms", GroupBy: []string{"tool"}},
	{Name: "api_calls", EventType: TypeAPI, Aggregation: Count, GroupBy: []string{"route"}},
}

// Validate checks a meter definition.
func (m Meter) Validate() error {
	if m.Name == "" || len(m.Name) > maxName || strings.Trim(m.Name, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
		return fmt.Errorf("meter name %q: lower case letters, digits and _, at most %d", m.Name, maxName)
	}
	if !validType(m.EventType) || IsCorrection(m.EventType) {
		return fmt.Errorf("meter %s: event type %q is not usage.<name> (other than usage.void and usage.amend)", m.Name, m.EventType)
	}
	switch m.Aggregation {
	case Count:
		if m.ValuePath != "" {
			return fmt.Errorf("meter %s: COUNT has no value path", m.Name)
		}
	case Sum, Max, UniqueCount, Latest:
		if !validPath(m.ValuePath) {
			return fmt.Errorf("meter %s: value path %q is not a dotted path", m.Name, m.ValuePath)
		}
	default:
		return fmt.Errorf("meter %s: aggregation %q is not SUM, COUNT, MAX, UNIQUE_COUNT or LATEST", m.Name, m.Aggregation)
	}
	if len(m.GroupBy) > MaxGroupBy {
		return fmt.Errorf("meter %s: at most %d group-by dimensions", m.Name, MaxGroupBy)
	}
	for i, g := range m.GroupBy {
		if !validPath(g) || g == "subject" || slices.Contains(m.GroupBy[:i], g) {
			return fmt.Errorf("meter %s: group-by %q is not a distinct dotted path other than subject", m.Name, g)
		}
	}
	return nil
}

func validPath(p string) bool {
	if p == "" || len(p) > maxName {
		return false
	}
	for part := range strings.SplitSeq(p, ".") {
		if part == "" || strings.Trim(part, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			return false
		}
	}
	return true
}

// Meters is the set of meters in force. Today every tenant has the shipped
// meters; For takes the tenant so that tenant-defined meters fit without
// changing callers.
type Meters struct {
	all    []Meter
	byType map[string][]Meter
}

// NewMeters indexes meters, which must be valid and uniquely named.
func NewMeters(meters []Meter) (*Meters, error) {
	ms := &Meters{byType: map[string][]Meter{}}
	for _, m := range meters {
		if err := m.Validate(); err != nil {
			return nil, err
		}
		if _, dup := ms.Lookup("", m.Name); dup {
			return nil, fmt.Errorf("meter %s is defined twice", m.Name)
		}
		ms.all = append(ms.all, m)
		ms.byType[m.EventType] = append(ms.byType[m.EventType], m)
	}
	return ms, nil
}

// ShippedMeters is Meters of Shipped.
func ShippedMeters() *Meters {
	ms, err := NewMeters(Shipped)
	if err != nil {
		// Shipped is static; TestShippedMetersValid keeps this unreachable.
		panic(err)
	}
	return ms
}

// For returns the meters counting events of typ in tenantID.
func (ms *Meters) For(_, typ string) []Meter { return ms.byType[typ] }

// Lookup returns tenantID's meter called name.
func (ms *Meters) Lookup(_, name string) (Meter, bool) {
	for _, m := range ms.all {
		if m.Name == name {
			return m, true
		}
	}
	return Meter{}, false
}

// All returns tenantID's meters.
func (ms *Meters) All(_ string) []Meter { return slices.Clone(ms.all) }

// Contribution is what one event adds to one meter's roll-up row.
type Contribution struct {
	Meter       string
	Aggregation Aggregation
	// Dims is the canonical JSON object of the meter's dimensions ({}
	// when it has none): keys sorted, values strings.
	Dims string
	// Value is the number to aggregate (1 for COUNT); Unique is the value
	// of a UNIQUE_COUNT.
	Value  float64
	Unique string
}

// Contributions returns what e adds to each of meters. An event without a
// meter's value (an LLM event without output_tokens) adds nothing to that
// meter; a value or dimension of the wrong kind refuses the event.
func Contributions(e *Event, meters []Meter) ([]Contribution, error) {
	out := make([]Contribution, 0, len(meters))
	for _, m := range meters {
		c := Contribution{Meter: m.Name, Aggregation: m.Aggregation, Value: 1}
		switch m.Aggregation {
		case Count:
		case UniqueCount:
			v := e.Field(m.ValuePath)
			if v == nil {
				continue
			}
			s, ok := scalar(v)
			if !ok || len(s) > maxString {
				return nil, invalid("data."+m.ValuePath, "data.%s (counted by meter %s) must be a string, number or boolean of at most %d bytes", m.ValuePath, m.Name, maxString)
			}
			c.Unique = s
		default:
			v := e.Field(m.ValuePath)
			if v == nil {
				continue
			}
			f, ok := number(v)
			if !ok {
				return nil, invalid("data."+m.ValuePath, "data.%s (measured by meter %s) must be a number", m.ValuePath, m.Name)
			}
			c.Value = f
		}
		dims, err := dimensions(e, m)
		if err != nil {
			return nil, err
		}
		c.Dims = dims
		out = append(out, c)
	}
	return out, nil
}

// parseDims decodes a stored dimension set.
func parseDims(s string) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("usage: stored dimensions %q: %w", truncate(s), err)
	}
	return m, nil
}

// MaxConfiguredMeters bounds the meters an installation defines in its
// configuration: like a tenant's own, every event of a type is measured by
// each of that type's meters in the transaction recording it.
const MaxConfiguredMeters = 64

// BaseMeters returns the meters in force for every tenant: the shipped
// ones and the installation's configured ones, which must each be valid
// and named apart from each other and from the shipped ones. Errors name
// the offending meter by its position and name.
func BaseMeters(configured []Meter) (*Meters, error) {
	if len(configured) > MaxConfiguredMeters {
		return nil, fmt.Errorf("at most %d configured meters, not %d", MaxConfiguredMeters, len(configured))
	}
	all := slices.Clone(Shipped)
	for i, m := range configured {
		if m.GroupBy == nil {
			// Answers list group_by as [] rather than null, as for a tenant's.
			m.GroupBy = []string{}
		}
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("meters[%d]: %w", i, err)
		}
		if slices.ContainsFunc(Shipped, func(s Meter) bool { return s.Name == m.Name }) {
			return nil, fmt.Errorf("meters[%d]: meter %s is a shipped meter", i, m.Name)
		}
		if slices.ContainsFunc(configured[:i], func(o Meter) bool { return o.Name == m.Name }) {
			return nil, fmt.Errorf("meters[%d]: meter %s is defined twice", i, m.Name)
		}
		all = append(all, m)
	}
	return NewMeters(all)
}
