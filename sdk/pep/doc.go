// Package pep is the Go SDK with which a service of the ecosystem enforces
// Tollgate's policies: a policy enforcement point asking Tollgate's policy
// decision point (POST /v1/authorize, docs/policy.md) "may this actor do
// this action on this resource?".
//
// The service asks as itself: it is registered in Tollgate's service
// registry with the scope authz:check for the tenants it serves, and the
// Client obtains and renews its access token with those client
// credentials. It therefore names the tenant and the principal of every
// question.
//
// A deny is not an error: Authorize returns a Decision with Permit false
// and the policies' reasons. Everything fails closed: an error means "not
// permitted", and Check, Require and Decision.Permit never say yes without
// Tollgate's permit. Errors are:
//
//   - ErrInvalidRequest, a question missing its tenant, principal or
//     action, refused before it is sent;
//   - an *Error, Tollgate's refusal of the question itself: an unknown
//     tenant (404 tenant_not_found), a tenant or resource type the service
//     is not registered for (403 tenant_not_registered,
//     resource_type_not_registered), a service without authz:check (403
//     scope_required), client credentials it does not accept (401
//     invalid_client);
//   - ErrUnavailable (errors.Is): Tollgate unreachable, failing (5xx) or
//     slower than Config.Timeout.
//
// Decisions are cached for Config.CacheTTL (5 s by default), keyed by the
// whole question (tenant, principal, on_behalf_of, action, resource and a
// digest of the context); decisions with errors are not. Identical
// questions in flight together are sent once. With Config.Events (the bus
// Tollgate publishes its credential events on) a tenant's policy change or
// suspension drops its cached decisions at once, and an actor's change
// drops all of them. Config.StaleFor, off by default, lets cached
// decisions outlive their TTL while Tollgate is unavailable.
//
// The W3C traceparent of the context (WithTraceparent; Require takes the
// inbound request's) is sent to Tollgate, and decisions are logged with
// their trace_id and decision_id: permits at debug level, denies at info.
//
// Usage:
//
//	pdp, err := pep.New(ctx, pep.Config{
//		URL:          "http://127.0.0.1:9200",
//		ClientID:     os.Getenv("TOLLGATE_CLIENT_ID"),
//		ClientSecret: os.Getenv("TOLLGATE_CLIENT_SECRET"),
//		Events:       natsBus, // optional
//	})
//	if err != nil {
//		return err
//	}
//	defer pdp.Close()
//
// Behind authn's Middleware, as middleware answering 403 problem+json
// (permission_denied, with reasons and decision_id) on a deny and 503 when
// Tollgate is unavailable:
//
//	channelFromPath := func(r *http.Request) (pep.Resource, error) {
//		return pep.Resource{Type: "channel", ID: r.PathValue("id")}, nil
//	}
//	send := pdp.Require("SEND_MESSAGE", channelFromPath)
//	mux.Handle("POST /channels/{id}/messages", a.Middleware(send(sendMessage)))
//
// Or anywhere the request's context carries the authenticated actor:
//
//	err := pdp.Check(ctx, "EXECUTE_TOOL", pep.Resource{Type: "tool", ID: toolID})
//	switch {
//	case errors.Is(err, pep.ErrDenied):
//		return err // *pep.DeniedError holds the Decision
//	case err != nil:
//		return err // not permitted either: unavailable, misconfigured
//	}
package pep
