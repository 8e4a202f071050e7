package usage

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

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
func DecodeBatch(raw []byte) ([]Decoded, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, fault.Invalidf("", CodeInvalidBatch, "a batch is a JSON array of events")
	}
	out := []Decoded{}
	for dec.More() {
		if len(out) == MaxBatch {
			return nil, fault.Invalidf("", CodeInvalidBatch, "a batch holds at most %d events", MaxBatch)
		}
		var m json.RawMessage
		if err := dec.Decode(&m); err != nil {
			return nil, fault.Invalidf("", CodeInvalidBatch, "the batch is not valid JSON")
		}
		e, err := Decode(m)
		out = append(out, Decoded{Event: e, Err: err})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fault.Invalidf("", CodeInvalidBatch, "the batch is not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fault.Invalidf("", CodeInvalidBatch, "the body must hold one JSON array and nothing after it")
	}
	if len(out) == 0 {
		return nil, fault.Invalidf("", CodeInvalidBatch, "the batch is empty")
	}
	return out, nil
}
