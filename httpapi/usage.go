package httpapi

import (
	"io"
	"mime"
	"net/http"
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
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if raw := v.Get(p.name); raw != "" {
			t, err := time.Parse(time.RFC3339Nano, raw)
			if err != nil {
				return fault.Invalidf(p.name, usage.CodeInvalidQuery, "%s must be an RFC 3339 time", p.name)
			}
			*p.dst = t
		}
	}
	if g := v.Get("group_by"); g != "" {
		q.GroupBy = strings.Split(g, ",")
	}
	ans, err := s.Usage.Query(r.Context(), *actor(r), q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ans)
}
