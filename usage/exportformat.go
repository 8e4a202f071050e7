package usage

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"time"
)

// Format is an export's encoding.
type Format string

const (
	// FormatCSV is RFC 4180 CSV with a header line.
	FormatCSV Format = "csv"
	// FormatNDJSON is one JSON object per line.
	FormatNDJSON Format = "ndjson"
)

// ParseFormat reads a format name; "" is CSV.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case "", FormatCSV:
		return FormatCSV, nil
	case FormatNDJSON:
		return FormatNDJSON, nil
	}
	return "", badQuery("format", "format must be csv or ndjson")
}

// ContentType is the format's media type.
func (f Format) ContentType() string {
	if f == FormatNDJSON {
		return "application/x-ndjson"
	}
	return "text/csv; charset=utf-8"
}

// RowWriter encodes export rows. Write buffers; Flush writes what is
// buffered (and the CSV header, when no row came).
type RowWriter interface {
	Write(r *ExportRow) error
	Flush() error
}

// NewRowWriter returns a RowWriter of f to w.
func NewRowWriter(w io.Writer, f Format) RowWriter {
	if f == FormatNDJSON {
		bw := bufio.NewWriter(w)
		return &ndjsonWriter{w: bw, enc: json.NewEncoder(bw)}
	}
	return &csvWriter{w: csv.NewWriter(w)}
}

// CSVHeader is the first line of a CSV export.
var CSVHeader = []string{"tenant_id", "meter", "aggregation", "window_start", "window_end", "dimensions", "value"}

// csvWriter quotes as RFC 4180 asks (encoding/csv): a field holding a
// comma, quote or line break is quoted, its quotes doubled. No field can
// start a spreadsheet formula: dimensions start with "{", times with a
// digit, ids and names with a letter or digit, and values are numbers.
type csvWriter struct {
	w       *csv.Writer
	started bool
	rec     [7]string
}

func (c *csvWriter) header() error {
	if c.started {
		return nil
	}
	c.started = true
	return c.w.Write(CSVHeader)
}

func (c *csvWriter) Write(r *ExportRow) error {
	if err := c.header(); err != nil {
		return err
	}
	c.rec = [7]string{r.TenantID, r.Meter, string(r.Aggregation), r.WindowStart.Format(time.RFC3339), r.WindowEnd.Format(time.RFC3339),
		r.Dimensions, formatValue(r.Value)}
	return c.w.Write(c.rec[:])
}

func (c *csvWriter) Flush() error {
	if err := c.header(); err != nil {
		return err
	}
	c.w.Flush()
	return c.w.Error()
}

type ndjsonWriter struct {
	w   *bufio.Writer
	enc *json.Encoder
}

// ndjsonRow is a row as NDJSON shows it; dimensions are an object.
type ndjsonRow struct {
	TenantID    string          `json:"tenant_id"`
	Meter       string          `json:"meter"`
	Aggregation Aggregation     `json:"aggregation"`
	WindowStart time.Time       `json:"window_start"`
	WindowEnd   time.Time       `json:"window_end"`
	Dimensions  json.RawMessage `json:"dimensions"`
	Value       float64         `json:"value"`
}

func (n *ndjsonWriter) Write(r *ExportRow) error {
	return n.enc.Encode(ndjsonRow{
		TenantID: r.TenantID, Meter: r.Meter, Aggregation: r.Aggregation, WindowStart: r.WindowStart, WindowEnd: r.WindowEnd,
		Dimensions: json.RawMessage(r.Dimensions), Value: r.Value,
	})
}

func (n *ndjsonWriter) Flush() error { return n.w.Flush() }

// formatValue writes a value as the shortest decimal that reads back as
// it, without an exponent: integers up to 2^53 as integers.
func formatValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
