// Package authn is the Go SDK with which a service of the ecosystem
// (messaging, the agent runtime, the tool registry, …) authenticates the
// requests it receives against Tollgate.
//
// Access tokens are verified locally, in microseconds, against the keys
// Tollgate publishes at /.well-known/jwks.json; the keys are refreshed in
// the background and at once (rate-limited) when a token names a new one.
// API keys ("tg_…") are checked by Tollgate's introspection endpoint, with
// the service's own client credentials, and the answers cached briefly,
// keyed by the key's SHA-256.
//
// Everything fails closed: a credential that cannot be checked is refused
// with 503 (ErrUnavailable), never let through.
//
// Revocation: with Config.Events, the Authenticator follows Tollgate's
// credential events (event.Subject) and refuses at once the tokens of a
// revoked session or credential, a disabled actor or a suspended tenant.
// Without it, an access token stays valid until it expires — minutes — and
// an API key's last answer until CacheTTL. The bus delivers at most once, so
// an event lost during a disconnection is covered by the same expiries.
//
// Usage:
//
//	a, err := authn.New(ctx, authn.Config{
//		URL:          "http://127.0.0.1:9200",
//		Audience:     "tollgate",
//		ClientID:     os.Getenv("TOLLGATE_CLIENT_ID"),
//		ClientSecret: os.Getenv("TOLLGATE_CLIENT_SECRET"),
//	})
//	if err != nil {
//		return err
//	}
//	defer a.Close()
//
//	mux := http.NewServeMux()
//	mux.HandleFunc("GET /channels/{id}", func(w http.ResponseWriter, r *http.Request) {
//		ac, err := authn.Require(r.Context(), "tenant:read")
//		if err != nil {
//			authn.WriteError(w, r, err)
//			return
//		}
//		// ac.ActorID, ac.TenantID, ac.Permissions, …
//	})
//	http.ListenAndServe(addr, a.Middleware(mux))
package authn
