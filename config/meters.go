package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tollgate/tollgate/usage"
)

// ParseMeters reads the meters setting: a JSON array of meter definitions
// (usage.Meter), installation-wide meters every tenant has besides the
// shipped ones. Empty is none. Unknown keys are refused, so that a
// misspelt value_path does not silently make a COUNT.
func ParseMeters(s string) ([]usage.Meter, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var ms []usage.Meter
	if err := dec.Decode(&ms); err != nil {
		return nil, fmt.Errorf("want a JSON array of meters ({\"name\", \"event_type\", \"aggregation\", \"value_path\", \"group_by\"}): %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("want a single JSON array of meters, with nothing after it")
	}
	if _, err := usage.BaseMeters(ms); err != nil {
		return nil, err
	}
	return ms, nil
}

func checkMeters(s string) error {
	_, err := ParseMeters(s)
	return err
}

// UsageMeters returns the meters in force for every tenant: the shipped
// ones and those of the meters setting. It assumes a validated Config.
func (c Config) UsageMeters() (*usage.Meters, error) {
	ms, err := ParseMeters(c.Meters)
	if err != nil {
		return nil, fmt.Errorf("meters: %w", err)
	}
	return usage.BaseMeters(ms)
}

// yamlToJSON renders a YAML list or mapping as JSON, so that a structured
// setting may be written in the file as YAML rather than as a JSON string.
func yamlToJSON(n interface{ Decode(any) error }) (string, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return "", err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSpace(b.String()), nil
}
