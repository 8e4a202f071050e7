package audit

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/tollgate/tollgate/fault"
)

func microTime(us int64) time.Time { return time.UnixMicro(us).UTC() }

// maxExportLine bounds one line of an export: an event is at most a few
// KiB (its limits), plus the OCSF copy of its fields.
const maxExportLine = 64 << 10

// FileReader reads an NDJSON export (NDJSONWriter's) as a Reader of its
// one stream, so that Verify checks it offline. The file carries no
// head: its last event stands in, so a cut tail goes unseen unless a
// digest in the file covers it. The digests it carries, verified with the
// published keys, anchor the events up to the last of them; without
// them an export proves only its own consistency.
type FileReader struct {
	f    *os.File
	sc   *bufio.Scanner
	line int
	// stream, first and head are learnt by a first pass over the file.
	stream string
	first  int64
	head   Head
	n      int64
	// digests are the file's digest lines, in file order, gathered by
	// the first pass (collect).
	digests []Digest
	collect bool
}

// OpenExport opens an export and reads it once to learn its stream, first
// seq and last event. It fails with audit_export_invalid on a line that
// is not an event, or on events of more than one stream.
func OpenExport(path string) (*FileReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r := &FileReader{f: f}
	r.rewind()
	r.collect = true
	for {
		e, ok, err := r.next()
		if err != nil {
			f.Close()
			return nil, err
		}
		if !ok {
			break
		}
		if r.n == 0 {
			r.stream, r.first = e.TenantID, e.Seq
		} else if e.TenantID != r.stream {
			f.Close()
			return nil, exportInvalid(r.line, "holds events of two streams")
		}
		r.n++
		r.head = Head{TenantID: e.TenantID, Seq: e.Seq, Hash: e.Hash}
	}
	if r.n == 0 {
		r.head = Head{Hash: Genesis()}
	}
	for _, d := range r.digests {
		if d.TenantID != r.stream {
			f.Close()
			return nil, exportInvalid(0, "holds a digest of another stream")
		}
	}
	r.collect = false
	r.rewind()
	return r, nil
}

func exportInvalid(line int, what string) error {
	return fault.New(fault.Invalid, CodeExportInvalid, fmt.Sprintf("export line %d: %s", line, what))
}

func (r *FileReader) rewind() {
	_, _ = r.f.Seek(0, io.SeekStart)
	r.sc = bufio.NewScanner(r.f)
	r.sc.Buffer(make([]byte, 0, 64<<10), maxExportLine)
	r.line = 0
}

// next returns the next event of the file.
func (r *FileReader) next() (Event, bool, error) {
	for r.sc.Scan() {
		r.line++
		b := r.sc.Bytes()
		if len(b) == 0 {
			continue
		}
		if d, ok, err := parseDigestLine(b); ok || err != nil {
			if err != nil {
				return Event{}, false, exportInvalid(r.line, "not an exported digest: "+err.Error())
			}
			if r.collect {
				r.digests = append(r.digests, d)
			}
			continue
		}
		e, err := parseExportLine(b)
		if err != nil {
			return Event{}, false, exportInvalid(r.line, "not an exported event: "+err.Error())
		}
		return e, true, nil
	}
	if err := r.sc.Err(); err != nil {
		return Event{}, false, exportInvalid(r.line+1, err.Error())
	}
	return Event{}, false, nil
}

// Close closes the file.
func (r *FileReader) Close() error { return r.f.Close() }

// Stream is the stream the export holds; First its first seq; Events how
// many it holds.
func (r *FileReader) Stream() string { return r.stream }
func (r *FileReader) First() int64   { return r.first }
func (r *FileReader) Events() int64  { return r.n }

// ReadAudit implements Reader: it returns the file's next events in file
// order, whatever afterSeq says, so that Verify sees a reordering. Verify
// reads so (ReadAhead 1).
func (r *FileReader) ReadAudit(_ context.Context, tenantID string, _ int64, limit int) ([]Event, error) {
	if tenantID != r.stream {
		return nil, nil
	}
	var out []Event
	for len(out) < limit {
		e, ok, err := r.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		out = append(out, e)
	}
	return out, nil
}

// AuditHead implements Reader: the file's last event.
func (r *FileReader) AuditHead(_ context.Context, tenantID string) (Head, error) {
	if tenantID != r.stream {
		return Head{TenantID: tenantID, Hash: Genesis()}, nil
	}
	return r.head, nil
}

// Digests is how many digest lines the export holds.
func (r *FileReader) Digests() int { return len(r.digests) }

// ListAuditDigests implements Reader: the file's digests after afterSeq,
// in ThroughSeq order.
func (r *FileReader) ListAuditDigests(_ context.Context, tenantID string, afterSeq int64, limit int) ([]Digest, error) {
	if tenantID != r.stream {
		return nil, nil
	}
	var out []Digest
	for _, d := range r.digests {
		if d.ThroughSeq > afterSeq {
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(a, b Digest) int { return cmp.Compare(a.ThroughSeq, b.ThroughSeq) })
	return out[:min(len(out), limit)], nil
}

// VerifyExport verifies the export at path from its first event. With
// keys, the digests it holds are verified too, anchoring the events up to
// the last of them; without, they are left aside (Report.Digests is 0).
func VerifyExport(ctx context.Context, path string, keys KeySet) (*Report, error) {
	r, err := OpenExport(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if keys == nil {
		r.digests = nil
	}
	if r.n == 0 {
		return &Report{TenantID: r.stream, From: 1}, nil
	}
	return Verify(ctx, r, r.stream, VerifyOptions{From: r.first, Keys: keys})
}
