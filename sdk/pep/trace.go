package pep

import "context"

// TraceparentHeader is the W3C Trace Context header field.
const TraceparentHeader = "traceparent"

type traceKey struct{}

// WithTraceparent returns ctx carrying a W3C traceparent value
// ("00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>"), which the
// Client sends on its calls to Tollgate and logs decisions with. An
// invalid value is ignored: ctx is returned as it is.
func WithTraceparent(ctx context.Context, traceparent string) context.Context {
	if !validTraceparent(traceparent) {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, traceparent)
}

func traceparentFrom(ctx context.Context) (string, bool) {
	tp, ok := ctx.Value(traceKey{}).(string)
	return tp, ok
}

// TraceID returns the trace id of ctx's traceparent, or "".
func TraceID(ctx context.Context) string {
	tp, ok := traceparentFrom(ctx)
	if !ok {
		return ""
	}
	return tp[3:35]
}

// validTraceparent checks the version-00 format of W3C Trace Context §3.2
// (and accepts later versions' first four fields): lowercase hex, a trace
// id and a parent id not all zeros.
func validTraceparent(s string) bool {
	if len(s) < 55 || (len(s) > 55 && s[55] != '-') {
		return false
	}
	if s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return false
	}
	if !isHex(s[0:2]) || s[0:2] == "ff" || (s[0:2] == "00" && len(s) != 55) {
		return false
	}
	return isHex(s[3:35]) && !isZero(s[3:35]) && isHex(s[36:52]) && !isZero(s[36:52]) && isHex(s[53:55])
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func isZero(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}
