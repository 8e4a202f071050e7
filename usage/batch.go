package usage

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"

	"github.com/tollgate/tollgate/fault"
)

// Decoded is one event of a request or fetch: the event, or why it was
// refused.
type Decoded struct {
	Event Event
	Err   error
}

// DecodeOne decodes a single structured-mode event
// (application/cloudevents+json) as a batch of one, so that it is answered
// like a batch.
func DecodeOne(raw []byte) []Decoded {
	e, err := Decode(bytes.TrimSpace(raw))
	return []Decoded{{Event: e, Err: err}}
}

// DecodeBatch decodes a batch (application/cloudevents-batch+json): a JSON
// array of at most MaxBatch events. A batch that is not a well-formed array
// is refused as a whole, since its events cannot be told apart; within
// one, each event is decoded on its own, so that one bad event does not
// refuse the others.
//
// A batch that is valid JSON (nearly every one) is checked by one
// json.Valid over the whole body and split by walking its bytes; each
// event then skips Decode's own json.Valid. Scanning every event once with
// a json.Decoder to split the array and again to validate it cost about a
// third of the decoding (BENCHMARKS.md, issue 13 re-measured). A body that
// is not valid JSON takes the json.Decoder path, which says where it
// breaks.
func DecodeBatch(raw []byte) ([]Decoded, error) {
	if !json.Valid(raw) {
		return decodeBatchStream(raw)
	}
	i := skipSpace(raw, 0)
	if raw[i] != '[' {
		return nil, errNotArray()
	}
	// The events' bounds first, so that the result is allocated once.
	var events [][]byte
	for i = skipSpace(raw, i+1); raw[i] != ']'; {
		if len(events) == MaxBatch {
			return nil, errBatchTooLong()
		}
		end := valueEnd(raw, i)
		events = append(events, raw[i:end])
		if i = skipSpace(raw, end); raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	if len(events) == 0 {
		return nil, errBatchEmpty()
	}
	out := make([]Decoded, len(events))
	for k, ev := range events {
		out[k].Event, out[k].Err = decodeChecked(ev)
	}
	return out, nil
}

// decodeChecked is Decode of one event of a batch json.Valid accepted.
func decodeChecked(raw []byte) (Event, error) {
	if err := checkShape(raw); err != nil {
		return Event{}, err
	}
	if !utf8.Valid(raw) {
		return Event{}, invalid("", "the event is not valid UTF-8")
	}
	return decodeValid(raw)
}

func errNotArray() error {
	return fault.Invalidf("", CodeInvalidBatch, "a batch is a JSON array of events")
}

func errNotJSONBatch() error {
	return fault.Invalidf("", CodeInvalidBatch, "the batch is not valid JSON")
}

func errBatchTooLong() error {
	return fault.Invalidf("", CodeInvalidBatch, "a batch holds at most %d events", MaxBatch)
}

func errBatchEmpty() error {
	return fault.Invalidf("", CodeInvalidBatch, "the batch is empty")
}

// decodeBatchStream is DecodeBatch through a json.Decoder, for a body
// that is not valid JSON: it tells a body that is no array from one broken
// inside or followed by more.
func decodeBatchStream(raw []byte) ([]Decoded, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, errNotArray()
	}
	out := []Decoded{}
	for dec.More() {
		if len(out) == MaxBatch {
			return nil, errBatchTooLong()
		}
		var m json.RawMessage
		if err := dec.Decode(&m); err != nil {
			return nil, errNotJSONBatch()
		}
		e, err := Decode(m)
		out = append(out, Decoded{Event: e, Err: err})
	}
	if _, err := dec.Token(); err != nil {
		return nil, errNotJSONBatch()
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fault.Invalidf("", CodeInvalidBatch, "the body must hold one JSON array and nothing after it")
	}
	if len(out) == 0 {
		return nil, errBatchEmpty()
	}
	return out, nil
}
