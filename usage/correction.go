package usage

import (
	"encoding/json"
	"time"
)

// Event types that correct an earlier event of the same tenant. They are
// raw events like any other (de-duplicated, kept), counted by no meter.
const (
	// TypeVoid voids the event data.event_id of data.source (the void's
	// own source when absent): it no longer counts anywhere.
	TypeVoid = "usage.void"
	// TypeAmend voids the event data.event_id of data.source and counts
	// data.data in its place: the same type, subject and time.
	TypeAmend = "usage.amend"
)

// Correction is what a usage.void or usage.amend event asks.
type Correction struct {
	// Source and ID are the corrected event's de-duplication key.
	Source, ID string
	// Data is an amendment's replacement data; nil for a void.
	Data json.RawMessage
}

// IsCorrection reports whether events of typ correct others.
func IsCorrection(typ string) bool { return typ == TypeVoid || typ == TypeAmend }

// decodeCorrection checks the data of a void or an amendment: the id (and
// source) of the event it corrects, as the attributes id and source are
// checked, and an amendment's replacement data object.
func (e *Event) decodeCorrection() error {
	var d struct {
		EventID json.RawMessage `json:"event_id"`
		Source  json.RawMessage `json:"source"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return invalid("data", "data must be a JSON object")
	}
	if d.EventID == nil {
		return invalid("data.event_id", "a %s names the corrected event in data.event_id", e.Type)
	}
	if _, err := ident("data.event_id", d.EventID, maxID, false); err != nil {
		return err
	}
	if d.Source != nil {
		if _, err := ident("data.source", d.Source, maxSource, true); err != nil {
			return err
		}
	}
	if e.Type == TypeAmend {
		var m map[string]any
		if json.Unmarshal(d.Data, &m) != nil || m == nil {
			return invalid("data.data", "a usage.amend carries the replacement data, a JSON object, in data.data")
		}
	}
	return nil
}

// Correction returns what e, a void or an amendment, corrects.
func (e *Event) Correction() (Correction, bool) {
	if !IsCorrection(e.Type) {
		return Correction{}, false
	}
	var d struct {
		EventID string          `json:"event_id"`
		Source  string          `json:"source"`
		Data    json.RawMessage `json:"data"`
	}
	if json.Unmarshal(e.Data, &d) != nil {
		return Correction{}, false
	}
	c := Correction{Source: d.Source, ID: d.EventID}
	if c.Source == "" {
		c.Source = e.Source
	}
	if e.Type == TypeAmend {
		c.Data = d.Data
	}
	return c, true
}

// Restore rebuilds an event read back from the raw log, with data checked
// as Decode checks it for typ (an amendment's replacement data is checked
// against the corrected event's type), so that meters can measure it.
func Restore(tenantID, source, id, typ, subject string, t time.Time, data []byte) (Event, error) {
	e := Event{TenantID: tenantID, Source: source, ID: id, Type: typ, Subject: subject, Time: t.UTC(), Data: data}
	if err := e.decodeData(); err != nil {
		return Event{}, err
	}
	return e, nil
}

// CorrectionRecord is a void or an amendment as Store records it.
type CorrectionRecord struct {
	Event      Event
	Correction Correction
	// Meters returns the tenant's meters of an event type: the corrected
	// event's minute is measured again by them.
	Meters func(typ string) []Meter
}
