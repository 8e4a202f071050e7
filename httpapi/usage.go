package httpapi

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/usage"
)

// CloudEvents media types of the HTTP binding's structured and batched
// modes.
const (
	mediaCloudEvent      = "application/cloudevents+json"
	mediaCloudEventBatch = "application/cloudevents-batch+json"
)

// reportUsage records one event or a batch. Rejected events are listed in
// the 202 and the others still count; only a request that cannot be read
// as events, or a caller who may not report at all, is refused as a whole.
func (s *Server) reportUsage(w http.ResponseWriter, r *http.Request) error {
	if s.Usage == nil {
		return errNoRoute()
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != mediaCloudEvent && mt != mediaCloudEventBatch) {
		return &fault.Error{Kind: fault.UnsupportedMediaType, Code: CodeUnsupportedMediaType,
			Detail: "send one event as " + mediaCloudEvent + " or a batch as " + mediaCloudEventBatch}
	}
	// The credential is checked before the body is read: a caller who may
	// not report costs no parsing.
	if err := usage.MayReport(*actor(r)); err != nil {
		return err
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return decodeError(err)
	}
	var batch []usage.Decoded
	if mt == mediaCloudEvent {
		batch = usage.DecodeOne(raw)
	} else if batch, err = usage.DecodeBatch(raw); err != nil {
		return err
	}
	res, err := s.Usage.Report(r.Context(), *actor(r), batch)
	if err != nil {
		return err
	}
	s.Metrics.UsageEvents("http", res)
	return writeJSON(w, http.StatusAccepted, res)
}

// queryUsage answers GET /v1/usage.
func (s *Server) queryUsage(w http.ResponseWriter, r *http.Request) error {
	if s.Usage == nil {
		return errNoRoute()
	}
	v := r.URL.Query()
	q := usage.Query{TenantID: v.Get("tenant_id"), Meter: v.Get("meter"), Window: usage.Window(v.Get("window")), Subject: v.Get("subject")}
	if err := usageRange(v, &q.From, &q.To); err != nil {
		return err
	}
	if g := v.Get("group_by"); g != "" {
		q.GroupBy = strings.Split(g, ",")
	}
	if err := usageFilterZone(v, &q); err != nil {
		return err
	}
	ans, err := s.Usage.Query(r.Context(), *actor(r), q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ans)
}

// usageFilterZone reads the filter[<dimension>] parameters, counted
// before they are kept, and tz, an IANA zone name.
func usageFilterZone(v url.Values, q *usage.Query) error {
	n := 0
	for k, vs := range v {
		d, ok := strings.CutPrefix(k, "filter[")
		if !ok {
			continue
		}
		if d, ok = strings.CutSuffix(d, "]"); !ok {
			return fault.Invalidf("filter", usage.CodeInvalidQuery, "a filter is filter[<dimension>]=<value>")
		}
		if n += len(vs); n > usage.MaxFilterValues {
			return fault.Invalidf("filter", usage.CodeInvalidQuery, "at most %d filter values", usage.MaxFilterValues)
		}
		if q.Filter == nil {
			q.Filter = map[string][]string{}
		}
		q.Filter[d] = vs
	}
	if tz := v.Get("tz"); tz != "" {
		loc, err := usage.LoadZone(tz)
		if err != nil {
			return err
		}
		q.Zone = loc
	}
	return nil
}

// usageRange reads the from and to parameters, RFC 3339 times, each left
// zero when absent.
func usageRange(v url.Values, from, to *time.Time) error {
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", from}, {"to", to}} {
		if raw := v.Get(p.name); raw != "" {
			t, err := time.Parse(time.RFC3339Nano, raw)
			if err != nil {
				return fault.Invalidf(p.name, usage.CodeInvalidQuery, "%s must be an RFC 3339 time", p.name)
			}
			*p.dst = t
		}
	}
	return nil
}

// usageSummary answers GET /v1/usage/summary.
func (s *Server) usageSummary(w http.ResponseWriter, r *http.Request) error {
	if s.Usage == nil {
		return errNoRoute()
	}
	v := r.URL.Query()
	sum, err := s.Usage.Summary(r.Context(), *actor(r), v.Get("tenant_id"), v.Get("subject"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sum)
}

// exportUsage answers GET /v1/usage/export, streamed. Everything is
// checked before the first byte; a failure after it can only cut the
// response, which the client sees as a broken transfer.
func (s *Server) exportUsage(w http.ResponseWriter, r *http.Request) error {
	if s.Usage == nil {
		return errNoRoute()
	}
	v := r.URL.Query()
	f, err := usage.ParseFormat(v.Get("format"))
	if err != nil {
		return err
	}
	q := usage.ExportQuery{TenantID: v.Get("tenant_id"), Meter: v.Get("meter"), Subject: v.Get("subject"), Window: usage.Window(v.Get("window"))}
	if err := usageRange(v, &q.From, &q.To); err != nil {
		return err
	}
	rw := usage.NewRowWriter(w, f)
	x := newExportStream(w, f.ContentType())
	err = s.Usage.Export(r.Context(), *actor(r), q, func(row *usage.ExportRow) error {
		x.row()
		return rw.Write(row)
	})
	return x.finish(r.Context(), s.Log, err, rw.Flush)
}

// streamUsage answers GET /v1/usage/stream with server-sent events: an
// "usage" event holding the meter's period total whenever it changes (at
// most once a second) and comment heartbeats in between, until the client
// goes or the server drains.
func (s *Server) streamUsage(w http.ResponseWriter, r *http.Request) error {
	if s.Usage == nil {
		return errNoRoute()
	}
	v := r.URL.Query()
	q := usage.StreamQuery{TenantID: v.Get("tenant_id"), Meter: v.Get("meter"), Subject: v.Get("subject")}
	sink := &sseSink{w: w, rc: http.NewResponseController(w)}
	err := s.Usage.Stream(r.Context(), *actor(r), q, s.stopping, sink)
	if err != nil && sink.started {
		// A write failed: the client has gone, and there is no one to
		// answer.
		s.Log.DebugContext(r.Context(), "usage stream ended by a failed write", "err", err)
		return nil
	}
	return err
}

// sseSink writes a usage stream as text/event-stream.
type sseSink struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
	buf     []byte
}

func (k *sseSink) Update(u *usage.Update) error {
	data, err := json.Marshal(u)
	if err != nil {
		return err
	}
	k.buf = append(append(append(k.buf[:0], "event: usage\ndata: "...), data...), "\n\n"...)
	return k.write(k.buf)
}

func (k *sseSink) Heartbeat() error { return k.write([]byte(": heartbeat\n\n")) }

func (k *sseSink) write(b []byte) error {
	if !k.started {
		k.started = true
		h := k.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		// Proxies that buffer responses (nginx) would hold the events.
		h.Set("X-Accel-Buffering", "no")
		k.w.WriteHeader(http.StatusOK)
		// A stream lasts longer than the server's read timeout, which
		// would cancel it; the client's going still ends it.
		_ = k.rc.SetReadDeadline(time.Time{})
	}
	// Each write may take as long as a whole request may: a client that
	// stops reading is gone after that.
	_ = k.rc.SetWriteDeadline(time.Now().Add(exportWriteTimeout))
	if _, err := k.w.Write(b); err != nil {
		return err
	}
	return k.rc.Flush()
}
