// Package usage is the Go SDK with which a service of the ecosystem (the
// agent runtime, the tool registry, …) reports usage — LLM tokens, tool
// runs, API calls — to Tollgate's usage engine, as CloudEvents over
// POST /v1/usage/events.
//
// A Reporter never makes its caller wait: Report encodes the event, gives
// it a time-ordered id when it has none, and queues it; a goroutine sends
// the queue in batches (Config.BatchSize events, or whatever is queued
// after Config.FlushInterval). A batch that fails for a reason that may
// pass — Tollgate unreachable, 5xx, 429 — is sent again, the same events
// with the same ids, after an exponential back-off with jitter, or after
// Retry-After when Tollgate says so, until it is answered. Tollgate counts
// an event once per (tenant, source, id), so a batch sent twice because an
// answer was lost counts once: the second answer says duplicates.
//
// Memory is bounded: at most Config.MaxBuffer bytes of encoded events wait
// (in flight included). When the queue is full — Tollgate unreachable for
// long, or events reported faster than it takes them — Report drops the
// new event, returns ErrDropped and counts it in Stats().Dropped: the
// events already queued keep their place and order. A batch Tollgate
// refuses as a whole for a reason that will not pass (403: the service
// lacks usage:write) is not sent again; its events, and events Tollgate
// rejects one by one (an invalid event), count in Stats().Rejected and
// are logged.
//
// The service authenticates as other SDK packages do: with its client
// credentials (Config.ClientID and Config.ClientSecret), registered in
// Tollgate's service registry with the scope usage:write for the tenants
// it serves; every event then names its Tenant. Or with an API key
// holding usage:write (Config.APIKey), whose tenant is every event's.
//
// On shutdown, Close(ctx) stops taking events and sends what is queued
// until ctx ends; what is still queued then is dropped and counted.
//
// Example (the Example function of this package, compiled with its tests):
//
//	reporter, err := usage.New(usage.Config{
//		URL:          "http://127.0.0.1:9200",
//		ClientID:     os.Getenv("TOLLGATE_CLIENT_ID"),
//		ClientSecret: os.Getenv("TOLLGATE_CLIENT_SECRET"),
//		Source:       "//agents/runtime",
//	})
//	…
//	err = reporter.Report(ctx, usage.Event{
//		Type: usage.TypeLLM, Tenant: tenantID, Subject: "agent:7f3a",
//		Data: usage.LLM{Model: "gpt-4o", InputTokens: 1200, OutputTokens: 310},
//	})
//	…
//	err = reporter.Close(shutdownCtx)
package usage
