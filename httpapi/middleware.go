package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

type ctxKey struct{}

// requestInfo is everything the API attaches to a request's context. It is
// one value, filled in as the request passes the layers, so that a request
// is cloned once (WithContext copies the whole Request) instead of per layer.
type requestInfo struct {
	id      string
	traceID string
	// actor is set by authenticate.
	actor *identity.ActorContext
	// tenantID is the tenant the request acts in: the actor's, or for a
	// service, which has none, the tenant its decision or lookup was
	// about once that was answered (noteTenant).
	tenantID string
}

func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(ctxKey{}).(*requestInfo)
	return info
}

func requestIDFrom(ctx context.Context) string {
	if info := infoFrom(ctx); info != nil {
		return info.id
	}
	return ""
}

// requestIDRE accepts caller-chosen ids that are safe to echo and log.
var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// traceparentRE is the W3C trace context version-00 header.
var traceparentRE = regexp.MustCompile(`^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$`)

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// noteTenant names the tenant a service's request acted in, for its log
// lines; a caller of a tenant of its own keeps it.
func noteTenant(r *http.Request, tenantID string) {
	if info := infoFrom(r.Context()); info.tenantID == "" {
		info.tenantID = tenantID
	}
}

// LogHandler wraps a slog.Handler so that every record logged with a
// request's context carries its request id and trace id and, once
// authenticate has run, its actor and tenant. A record that names a
// tenant_id or actor_id of its own (the tenant whose snapshot failed, say)
// keeps it.
type LogHandler struct{ slog.Handler }

func (h LogHandler) Handle(ctx context.Context, r slog.Record) error {
	info := infoFrom(ctx)
	if info == nil {
		return h.Handler.Handle(ctx, r)
	}
	r.AddAttrs(slog.String("request_id", info.id))
	if info.traceID != "" {
		r.AddAttrs(slog.String("trace_id", info.traceID))
	}
	if info.actor == nil {
		return h.Handler.Handle(ctx, r)
	}
	ownActor, ownTenant := false, false
	r.Attrs(func(a slog.Attr) bool {
		ownActor = ownActor || a.Key == "actor_id"
		ownTenant = ownTenant || a.Key == "tenant_id"
		return true
	})
	if !ownActor {
		r.AddAttrs(slog.String("actor_id", info.actor.ActorID))
	}
	if !ownTenant && info.tenantID != "" {
		r.AddAttrs(slog.String("tenant_id", info.tenantID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h LogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return LogHandler{h.Handler.WithAttrs(as)}
}
func (h LogHandler) WithGroup(n string) slog.Handler { return LogHandler{h.Handler.WithGroup(n)} }

// statusRecorder remembers the status for logs and metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// instrument is the outermost layer: request id, trace id, panic recovery,
// body limit, access log and metrics. The requestInfo it puts in the
// context is filled in by the layers below (authenticate names the
// actor), so that the access line written here on the way out names them.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !requestIDRE.MatchString(id) {
			id = newRequestID()
		}
		info := &requestInfo{id: id}
		if tp := r.Header.Get("Traceparent"); tp != "" {
			if m := traceparentRE.FindStringSubmatch(tp); m != nil {
				info.traceID = m[1]
			}
		}
		ctx := context.WithValue(r.Context(), ctxKey{}, info)
		ctx = audit.WithOriginFunc(ctx, func() audit.Origin { return s.origin(r, info) })
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(rec, r.Body, s.opts.MaxBodyBytes)
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.Log.ErrorContext(ctx, "panic serving request", "panic", p, "stack", string(debug.Stack()))
				if rec.status == 0 {
					writeError(rec, r, s.Log, fault.Wrap(fault.Internal, CodeInternalError, nil))
				}
			}
			route := r.Pattern
			if route == "" || route == "/" {
				// Unknown paths share one label so that scanners cannot
				// blow up the metric's cardinality.
				route = "unmatched"
			}
			elapsed := time.Since(start)
			s.Metrics.observe(r.Method, route, rec.status, elapsed)
			if s.opts.AccessLog.writes(rec.status, elapsed) {
				s.Log.LogAttrs(ctx, slog.LevelInfo, "request",
					slog.String("method", r.Method), slog.String("route", route), slog.String("path", r.URL.Path),
					slog.Int("status", rec.status), slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000), slog.String("remote", r.RemoteAddr))
			}
		}()
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
	})
}

// handlerFunc is an endpoint that returns its error for writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, s.Log, err)
		}
	})
}

// origin is who made r and from where, for the audit events its act
// records: known once authenticate has resolved the credential.
func (s *Server) origin(r *http.Request, info *requestInfo) audit.Origin {
	o := audit.Origin{ClientIP: s.opts.TrustedProxies.ClientIP(r), UserAgent: r.UserAgent(), RequestID: info.id, TraceID: info.traceID}
	if ac := info.actor; ac != nil {
		o.ActorID, o.OnBehalfOf, o.CredentialKind, o.CredentialID = ac.ActorID, ac.OnBehalfOf, ac.Credential, ac.CredentialID
		if o.CredentialID == "" {
			o.CredentialID = ac.SessionID
		}
	}
	return o
}
