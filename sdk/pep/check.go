package pep

import (
	"context"
	"errors"
	"net/http"

	"github.com/tollgate/tollgate/sdk/internal/problem"

	"github.com/tollgate/tollgate/sdk/authn"
)

// CheckOption adjusts one Check.
type CheckOption func(*Request)

// WithContext sets the request's context attributes (e.g. "ip").
func WithContext(attrs map[string]any) CheckOption {
	return func(r *Request) { r.Context = attrs }
}

// WithPrincipal asks about principal (an actor id) instead of the
// authenticated actor — e.g. a service acting for a user it names.
func WithPrincipal(principal string) CheckOption {
	return func(r *Request) { r.Principal = principal }
}

// Check asks whether the actor authenticated in ctx (see authn.FromContext:
// its ActorID, TenantID and OnBehalfOf) may do action on res. It returns
// nil on a permit, a *DeniedError (errors.Is(err, ErrDenied)) on a deny,
// ErrNoActor without an authenticated actor, and otherwise Authorize's
// errors — an error matching ErrUnavailable when Tollgate cannot answer.
// Any error means "not permitted": Check fails closed.
func (c *Client) Check(ctx context.Context, action string, res Resource, opts ...CheckOption) error {
	_, err := c.check(ctx, action, res, opts)
	return err
}

func (c *Client) check(ctx context.Context, action string, res Resource, opts []CheckOption) (Decision, error) {
	ac, ok := authn.FromContext(ctx)
	if !ok {
		return Decision{}, ErrNoActor
	}
	req := Request{TenantID: ac.TenantID, Principal: ac.ActorID, Action: action, Resource: res, OnBehalfOf: ac.OnBehalfOf}
	for _, o := range opts {
		o(&req)
	}
	d, err := c.Authorize(ctx, req)
	if err != nil {
		return Decision{}, err
	}
	if !d.Permit {
		return d, &DeniedError{Decision: d}
	}
	return d, nil
}

// DecisionIDHeader is the response header field in which Require names
// the decision it enforced.
const DecisionIDHeader = "X-Tollgate-Decision-Id"

type decisionKey struct{}

// DecisionFrom returns the permit that Require enforced for the request.
func DecisionFrom(ctx context.Context) (Decision, bool) {
	d, ok := ctx.Value(decisionKey{}).(*Decision)
	if !ok {
		return Decision{}, false
	}
	return *d, true
}

// Codes of Require's problem+json answers.
const (
	CodePermissionDenied  = "permission_denied"
	CodeMissingCredential = "missing_credential"
	CodeInvalidResource   = "invalid_resource"
	CodeTenantNotSelected = "tenant_not_selected"
	CodeUnavailable       = "authz_unavailable"
)

// Require enforces action on the resource that resourceFrom names, for
// every request, behind authn's Middleware (which puts the actor in the
// request's context). The inbound traceparent header, if valid, is
// propagated to Tollgate. Answers, all problem+json:
//
//   - permit: next runs with the decision in its context (DecisionFrom)
//     and the response carries X-Tollgate-Decision-Id;
//   - deny: 403 permission_denied, with the "reasons" and "decision_id"
//     extension members and X-Tollgate-Decision-Id;
//   - no authenticated actor: 401 missing_credential;
//   - an actor without a tenant: 403 tenant_not_selected;
//   - resourceFrom failing: 400 invalid_resource, with its error as
//     detail;
//   - ErrUnavailable: 503 authz_unavailable — Require fails closed;
//   - any other error (a service misconfigured in Tollgate): 500
//     internal_error, logged.
func (c *Client) Require(action string, resourceFrom func(*http.Request) (Resource, error), opts ...CheckOption) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			if _, ok := traceparentFrom(ctx); !ok {
				ctx = WithTraceparent(ctx, r.Header.Get(TraceparentHeader))
			}
			ac, ok := authn.FromContext(ctx)
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="tollgate"`)
				problem.Write(w, r, problem.Document{Status: http.StatusUnauthorized, Code: CodeMissingCredential,
					Detail: "this request needs an authenticated actor"})
				return
			}
			if ac.TenantID == "" {
				problem.Write(w, r, problem.Document{Status: http.StatusForbidden, Code: CodeTenantNotSelected,
					Detail: "switch to a tenant first: decisions are made within one"})
				return
			}
			res, err := resourceFrom(r)
			if err != nil {
				problem.Write(w, r, problem.Document{Status: http.StatusBadRequest, Code: CodeInvalidResource, Detail: err.Error()})
				return
			}
			d, err := c.check(ctx, action, res, opts)
			var denied *DeniedError
			switch {
			case errors.As(err, &denied):
				d := denied.Decision
				if d.DecisionID != "" {
					w.Header().Set(DecisionIDHeader, d.DecisionID)
				}
				reasons := d.Reasons
				if reasons == nil {
					reasons = []string{}
				}
				problem.Write(w, r, problem.Document{Status: http.StatusForbidden, Code: CodePermissionDenied,
					Detail:  "the policy does not permit " + action + " on this " + res.Type,
					Reasons: reasons, DecisionID: d.DecisionID})
				return
			case errors.Is(err, ErrUnavailable):
				problem.Write(w, r, problem.Document{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
					Detail: "the request cannot be authorized now; retry later"})
				return
			case err != nil:
				if c.quiet.Allow(c.now()) {
					c.log.ErrorContext(ctx, "pep: Require's check failed", "action", action, "err", err)
				}
				problem.Write(w, r, problem.Document{Status: http.StatusInternalServerError, Code: "internal_error"})
				return
			}
			if d.DecisionID != "" {
				w.Header().Set(DecisionIDHeader, d.DecisionID)
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, decisionKey{}, &d)))
		})
	}
}
