package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/session"
)

// problemBase prefixes problem "type" URIs; each code documents itself at
// docs/errors.md#<code>.
const problemBase = "https://tollgate.dev/problems/"

// Problem is an RFC 9457 problem document with Tollgate's stable code.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Code      string `json:"code"`
	Field     string `json:"field,omitempty"`
	Instance  string `json:"instance,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// ViolatedPolicies names the exhausted rate-limit policies of a
	// quota-exceeded problem (draft-ietf-httpapi-ratelimit-headers).
	ViolatedPolicies []string `json:"violated-policies,omitempty"`
	// Errors lists every problem of a refused policy text
	// (invalid_policy) or schema extension (invalid_schema), with its
	// position.
	Errors []policy.Problem `json:"errors,omitempty"`
	// Dependency names what a failed /readyz probe found down: "store"
	// or "ratelimit".
	Dependency string `json:"dependency,omitempty"`
	// MFAToken enrols a second factor (mfa_enrollment_required), within
	// ExpiresIn seconds.
	MFAToken  string `json:"mfa_token,omitempty"`
	ExpiresIn int64  `json:"expires_in,omitempty"`
}

// quotaExceededType is the problem type the RateLimit header fields draft
// registers for requests refused by a quota policy.
const quotaExceededType = "https://iana.org/assignments/http-problem-types#quota-exceeded"

func statusOf(k fault.Kind) int {
	switch k {
	case fault.Invalid:
		return http.StatusBadRequest
	case fault.Unauthenticated:
		return http.StatusUnauthorized
	case fault.Forbidden:
		return http.StatusForbidden
	case fault.NotFound:
		return http.StatusNotFound
	case fault.Conflict:
		return http.StatusConflict
	case fault.RateLimited:
		return http.StatusTooManyRequests
	case fault.Unavailable:
		return http.StatusServiceUnavailable
	case fault.TooLarge:
		return http.StatusRequestEntityTooLarge
	case fault.UnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	default:
		return http.StatusInternalServerError
	}
}

// writeError is the one place an error becomes a response. Internal causes
// are logged with the request id and never sent.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var fe *fault.Error
	if !errors.As(err, &fe) {
		fe = fault.Wrap(fault.Internal, CodeInternalError, err)
	}
	status := statusOf(fe.Kind)
	p := Problem{
		Type: problemBase + string(fe.Code), Title: http.StatusText(status), Status: status,
		Detail: fe.Detail, Code: string(fe.Code), Field: fe.Field, Instance: r.URL.Path,
		RequestID: requestIDFrom(r.Context()),
	}
	var exceeded *ratelimit.ExceededError
	if errors.As(err, &exceeded) {
		p.Type, p.Title = quotaExceededType, "Request cannot be satisfied as assigned quota has been exceeded"
		p.ViolatedPolicies = exceeded.Policies
	}
	var down *notReady
	if errors.As(err, &down) {
		p.Dependency = down.dependency
	}
	var challenge *session.ChallengeError
	if errors.As(err, &challenge) {
		p.MFAToken, p.ExpiresIn = challenge.Token, int64(challenge.ExpiresIn/time.Second)
	}
	var invalid *policy.InvalidError
	if errors.As(err, &invalid) {
		p.Errors = invalid.Problems
	}
	var invalidSchema *policy.SchemaInvalidError
	if errors.As(err, &invalidSchema) {
		p.Errors = invalidSchema.Problems
	}
	if fe.Kind == fault.Internal || fe.Kind == fault.Unavailable {
		if p.Detail == "" {
			p.Detail = "the server could not complete the request; it has been logged with the request id"
		}
		log.ErrorContext(r.Context(), "request failed", "code", fe.Code, "err", err)
	} else if fe.Err != nil {
		log.DebugContext(r.Context(), "request refused", "code", fe.Code, "err", fe.Err)
	}
	if fe.Kind == fault.Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tollgate"`)
	}
	if fe.RetryAfter > 0 {
		secs := int((fe.RetryAfter + 999_999_999) / 1_000_000_000)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON sends v with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	return writeTyped(w, status, "application/json", v)
}

// writeTyped writes v as JSON of contentType with status.
func writeTyped(w http.ResponseWriter, status int, contentType string, v any) error {
	// Encode first: a value that cannot be encoded is a real 500, not a
	// success status followed by an error (and a lost secret).
	body, err := json.Marshal(v)
	if err != nil {
		return fault.Wrap(fault.Internal, CodeInternalError, err)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err = w.Write(append(body, '\n'))
	return err
}
