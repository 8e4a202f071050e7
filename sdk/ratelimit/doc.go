// Package ratelimit is the Go SDK with which a service of the ecosystem
// (messaging, the agent runtime, the tool registry, …) checks its own rate
// limits against Tollgate: "at most 3 messages an hour per user", "100 tool
// calls a minute per agent". The limits are configured in Tollgate — the
// rate_limits setting (e.g. "messages=3/1h, tool-calls=100/1m") or a
// tenant's plan — and the service asks for them by name, for a key of its
// choosing.
//
// The service calls Tollgate as itself: it is registered in Tollgate's
// service registry with the scope ratelimit:check, and the Client obtains
// and renews its access token with those client credentials.
//
// A denial is not an error: Check returns Result.Allowed false with the
// wait in RetryAfter. Errors are of two kinds:
//
//   - an *Error, Tollgate's refusal of the question itself: a limit that
//     is not configured (404 limit_not_found), a cost above the limit's
//     quota (400 invalid_cost), client credentials it does not accept
//     (401 invalid_client), …;
//   - ErrUnavailable (errors.Is), when the answer cannot be had now:
//     Tollgate unreachable, failing (5xx) or slower than Config.Timeout.
//     Whether to let the request through then — fail open — or refuse it
//     is the caller's decision.
//
// Usage:
//
//	rl, err := ratelimit.New(ratelimit.Config{
//		URL:          "http://127.0.0.1:9200",
//		ClientID:     os.Getenv("TOLLGATE_CLIENT_ID"),
//		ClientSecret: os.Getenv("TOLLGATE_CLIENT_SECRET"),
//	})
//	if err != nil {
//		return err
//	}
//
//	res, err := rl.Check(ctx, "messages", userID, ratelimit.Tenant(tenantID))
//	switch {
//	case errors.Is(err, ratelimit.ErrUnavailable):
//		// Tollgate cannot answer now: fail open (send) or closed (refuse).
//	case err != nil:
//		return err // a misconfigured limit; *ratelimit.Error says which
//	case !res.Allowed:
//		return fmt.Errorf("too many messages; retry in %v", res.RetryAfter)
//	}
//
// Or, for an HTTP service, as middleware answering 429 (with Retry-After
// and the RateLimit-Policy and RateLimit fields) when the limit is reached
// and 503 when Tollgate is unavailable:
//
//	perUser := rl.Middleware("messages", func(r *http.Request) string {
//		ac, _ := authn.FromContext(r.Context())
//		return ac.ActorID
//	})
//	mux.Handle("POST /messages", a.Middleware(perUser(sendMessage)))
package ratelimit
