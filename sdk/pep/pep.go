package pep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/tollgate/tollgate/bus"
	"github.com/tollgate/tollgate/cache"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/sdk/internal/clienttoken"
)

// Defaults of Config.
const (
	DefaultURL       = "http://127.0.0.1:9200"
	DefaultTimeout   = 2 * time.Second
	DefaultCacheTTL  = 5 * time.Second
	DefaultCacheSize = 100_000
)

// MaxBatch is the most requests AuthorizeBatch sends at once, Tollgate's
// limit.
const MaxBatch = 1000

// Config configures a Client.
type Config struct {
	// URL is Tollgate's base URL; default http://127.0.0.1:9200.
	URL string
	// ClientID and ClientSecret are this service's client credentials,
	// registered in Tollgate's service registry with the scope
	// authz:check. Required.
	ClientID     string
	ClientSecret string
	// HTTPClient calls Tollgate; default a client with a pool of
	// keep-alive connections and Timeout.
	HTTPClient *http.Client
	// Timeout bounds one question to Tollgate, obtaining the service's
	// token included; default 2 s. Past it the question fails with
	// ErrUnavailable.
	Timeout time.Duration
	// CacheTTL is how long a decision is reused for the same question;
	// default 5 s. A negative CacheTTL disables the cache (identical
	// questions in flight together are still sent once). Decisions with
	// errors, and denies for the reason "unavailable", are never cached.
	CacheTTL time.Duration
	// CacheSize bounds the decision cache; default 100,000 entries.
	CacheSize int
	// StaleFor, when positive, lets a cached decision be served for up to
	// this long past its CacheTTL, marked Stale, when Tollgate cannot
	// answer (ErrUnavailable) — a deliberate trade of freshness for
	// availability: a revoked permission keeps working that much longer
	// during an outage. Default 0: off, every decision past its TTL is
	// asked again and an outage fails closed. Ignored if the cache is
	// disabled. Invalidation by Events applies to stale entries too.
	StaleFor time.Duration
	// Events, when set, is subscribed to event.Subject: policy_changed,
	// tenant_suspended and tenant_activated drop the cached decisions of
	// their tenant; actor_changed, actor_disabled and actor_enabled drop
	// every cached decision. Without it a change takes effect within
	// CacheTTL (plus StaleFor during an outage).
	Events bus.Bus
	// Log receives decisions (permits at debug level, denies at info,
	// with trace_id and decision_id) and what an operator must see
	// (Tollgate unreachable or failing, at most one line per 10 s);
	// default slog.Default().
	Log *slog.Logger
}

// Resource names what a question is about: a type (channel, tool, Tenant…)
// and an id.
type Resource struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Request is one question: may Principal do Action on Resource in tenant
// TenantID? The service asks as itself, so TenantID and Principal are
// required. Principal and OnBehalfOf are actor ids ("user:93",
// "agent:…"). Context carries the request's context attributes (e.g.
// "ip").
type Request struct {
	TenantID   string
	Principal  string
	Action     string
	Resource   Resource
	OnBehalfOf string
	Context    map[string]any
}

// Decision is Tollgate's answer. Its slices may be shared with the cache
// and must not be modified.
type Decision struct {
	// Permit is true only for a "permit" decision.
	Permit bool
	// Decision is "permit" or "deny".
	Decision string
	// Reasons are the ids of the policies that decided, or a reason such
	// as default_deny, invalid_request, unavailable, evaluation_error.
	Reasons []string
	// Errors explain an invalid_request or evaluation_error deny.
	Errors []string
	// DecisionID names the decision in Tollgate's decision log; a cached
	// decision keeps the id of the answer it reuses.
	DecisionID    string
	PolicyVersion int64
	// Cached: the decision came from the cache, not from Tollgate now.
	Cached bool
	// Stale: the decision came from the cache past its TTL because
	// Tollgate could not answer (Config.StaleFor).
	Stale bool
}

// Stats counts what the Client did since New.
type Stats struct {
	// Hits are questions answered from the cache, fresh.
	Hits uint64
	// Misses are questions that needed Tollgate's answer.
	Misses uint64
	// Coalesced are the Misses that shared an identical question already
	// in flight instead of sending their own.
	Coalesced uint64
	// Unavailable are questions that failed with ErrUnavailable.
	Unavailable uint64
	// StaleServed are questions answered with a stale decision.
	StaleServed uint64
}

// Client asks Tollgate's policy decision point. It is safe for concurrent
// use; Close ends its event subscription.
type Client struct {
	authorizeURL string
	batchURL     string
	timeout      time.Duration
	ttl          time.Duration
	staleFor     time.Duration
	log          *slog.Logger
	now          func() time.Time
	quiet        *clienttoken.Throttle
	tokens       *clienttoken.Source

	cache   *cache.Bounded[cacheKey, *cached] // nil when disabled
	gens    *generations
	flights singleflight.Group
	// joined, for tests, is called when a question has joined a flight.
	joined func()

	hits, misses, coalesced, unavail, staleServed atomic.Uint64

	stopSub   func()
	cancel    context.CancelFunc
	closeOnce sync.Once
}

// New returns a Client for the Tollgate at cfg.URL. It fails only on a bad
// Config, or an Events bus refusing the subscription; Tollgate is first
// called by the first question. The subscription lasts until Close.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	base, err := clienttoken.BaseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("pep: %w", err)
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("pep: Config.ClientID and Config.ClientSecret are required")
	}
	if cfg.Timeout < 0 || cfg.CacheSize < 0 || cfg.StaleFor < 0 {
		return nil, errors.New("pep: Config.Timeout, CacheSize and StaleFor must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = clienttoken.NewHTTPClient(cfg.Timeout)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	c := &Client{
		authorizeURL: base + "/v1/authorize", batchURL: base + "/v1/authorize/batch",
		timeout: cfg.Timeout, log: cfg.Log, now: time.Now,
		quiet: clienttoken.NewThrottle(clienttoken.LogEvery), gens: newGenerations(),
	}
	if cfg.CacheTTL > 0 {
		c.ttl, c.staleFor = cfg.CacheTTL, cfg.StaleFor
		c.cache = newDecisionCache(cfg.CacheSize)
	}
	c.tokens = clienttoken.New(clienttoken.Options{
		TokenURL: base + "/oauth/token", ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		HTTPClient: cfg.HTTPClient, Log: cfg.Log, LogPrefix: "pep", Quiet: c.quiet, Now: c.now,
		Timeout: cfg.Timeout, Detached: true,
	})
	if cfg.Events != nil {
		bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stop, err := cfg.Events.Subscribe(bg, event.Subject, c.onEvent)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("pep: subscribing to %s: %w", event.Subject, err)
		}
		c.stopSub, c.cancel = stop, cancel
	}
	return c, nil
}

// Close ends the event subscription. Questions still work afterwards,
// without invalidation. Close may be called more than once.
func (c *Client) Close() {
	c.closeOnce.Do(func() {
		if c.cancel != nil {
			c.cancel()
			c.stopSub()
		}
	})
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	return Stats{
		Hits: c.hits.Load(), Misses: c.misses.Load(), Coalesced: c.coalesced.Load(),
		Unavailable: c.unavail.Load(), StaleServed: c.staleServed.Load(),
	}
}

// onEvent applies one credential event to the cache's generations. A
// message that does not decode drops everything: it might concern anyone.
func (c *Client) onEvent(ctx context.Context, m bus.Message) {
	e, err := event.Decode(m.Data)
	if err != nil {
		c.log.WarnContext(ctx, "pep: ignoring a credential event; dropping every cached decision", "err", err)
		c.gens.bumpAll()
		return
	}
	switch e.Kind {
	case event.KindPolicyChanged, event.KindTenantSuspended, event.KindTenantActivated:
		c.gens.bumpTenant(e.ID)
	case event.KindActorChanged, event.KindActorDisabled, event.KindActorEnabled:
		if e.Tenant != "" {
			// A membership, agent or role change within one tenant.
			c.gens.bumpTenant(e.Tenant)
			return
		}
		c.gens.bumpAll()
	}
}

// wireRequest is a question as Tollgate reads it.
type wireRequest struct {
	TenantID   string          `json:"tenant_id,omitempty"`
	Principal  string          `json:"principal"`
	Action     string          `json:"action"`
	Resource   Resource        `json:"resource"`
	OnBehalfOf string          `json:"on_behalf_of,omitempty"`
	Context    json.RawMessage `json:"context,omitempty"`
}

type wireDecision struct {
	Decision      string   `json:"decision"`
	Reasons       []string `json:"reasons"`
	Errors        []string `json:"errors"`
	DecisionID    string   `json:"decision_id"`
	PolicyVersion int64    `json:"policy_version"`
}

func (w wireDecision) decision() (Decision, error) {
	if w.Decision != "permit" && w.Decision != "deny" {
		return Decision{}, fmt.Errorf("decision %q is neither permit nor deny", w.Decision)
	}
	return Decision{
		// A permit with errors is not one Tollgate is sure of.
		Permit:   w.Decision == "permit" && len(w.Errors) == 0,
		Decision: w.Decision, Reasons: w.Reasons, Errors: w.Errors,
		DecisionID: w.DecisionID, PolicyVersion: w.PolicyVersion,
	}, nil
}

// wire validates r and encodes it for Tollgate; batchTenant is the batch's
// tenant ("" for a single question).
func wire(r Request, batchTenant string) (wireRequest, error) {
	if batchTenant != "" {
		if r.TenantID != "" && r.TenantID != batchTenant {
			return wireRequest{}, invalid("a batch's requests are about its tenant %q, not %q", batchTenant, r.TenantID)
		}
	} else if r.TenantID == "" {
		return wireRequest{}, invalid("Request.TenantID is required")
	}
	if r.Principal == "" || r.Action == "" {
		return wireRequest{}, invalid("Request.Principal and Request.Action are required")
	}
	w := wireRequest{Principal: r.Principal, Action: r.Action, Resource: r.Resource, OnBehalfOf: r.OnBehalfOf}
	if batchTenant == "" {
		w.TenantID = r.TenantID
	}
	if len(r.Context) > 0 {
		// encoding/json sorts object keys: equal contexts encode equally.
		b, err := json.Marshal(r.Context)
		if err != nil {
			return wireRequest{}, invalid("Request.Context: %v", err)
		}
		w.Context = b
	}
	return w, nil
}

// cacheable reports whether a decision may be reused: not one with errors,
// nor a deny because Tollgate's own store was unavailable.
func cacheable(d Decision) bool {
	return len(d.Errors) == 0 && !slices.Contains(d.Reasons, "unavailable")
}

// Authorize asks whether req is permitted. A deny is a Decision, not an
// error. The errors match ErrInvalidRequest for a request missing its
// TenantID, Principal or Action, are an *Error when Tollgate refuses the
// question (see the Code constants), or match ErrUnavailable when it cannot
// answer within Config.Timeout and no stale decision may stand in.
//
// Identical questions in flight together are sent once; see Config for
// the cache. The outbound request carries the traceparent of ctx (see
// WithTraceparent) — that of the first caller when questions share it.
func (c *Client) Authorize(ctx context.Context, req Request) (Decision, error) {
	w, err := wire(req, "")
	if err != nil {
		return Decision{}, err
	}
	d, err := c.authorize(ctx, w)
	c.logDecision(ctx, req, d, err)
	return d, err
}

func (c *Client) authorize(ctx context.Context, w wireRequest) (Decision, error) {
	key := keyOf(w.TenantID, w.Principal, w.OnBehalfOf, w.Action, w.Resource.Type, w.Resource.ID, w.Context)
	var stale *cached
	if c.cache != nil {
		now := c.now().UnixNano()
		if e, ok := c.cache.Get(key, now); ok && c.gens.live(e) {
			if now < e.fresh {
				c.hits.Add(1)
				d := e.d
				d.Cached = true
				return d, nil
			}
			stale = e
		}
	}
	c.misses.Add(1)
	d, err := c.flight(ctx, key, w)
	if err == nil || !errors.Is(err, ErrUnavailable) {
		return d, err
	}
	// A stale entry was alive when looked up; it must still be.
	if stale != nil && c.gens.live(stale) && c.now().UnixNano() < stale.fresh+int64(c.staleFor) {
		c.staleServed.Add(1)
		if c.quiet.Allow(c.now()) {
			c.log.WarnContext(ctx, "pep: Tollgate cannot answer; serving stale decisions", "err", err)
		}
		d := stale.d
		d.Cached, d.Stale = true, true
		return d, nil
	}
	c.unavail.Add(1)
	return Decision{}, err
}

type flightResult struct {
	d   Decision
	err error
}

// flight sends the question, or joins the identical one in flight. The
// call runs detached from any one caller's cancellation, within
// Config.Timeout; each caller waits for it within its own ctx.
func (c *Client) flight(ctx context.Context, key cacheKey, w wireRequest) (Decision, error) {
	var led bool
	ch := c.flights.DoChan(string(key[:]), func() (any, error) {
		led = true
		tenantGen, globalGen := c.gens.of(w.TenantID)
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		d, err := c.ask(fctx, w)
		if err == nil && c.cache != nil && cacheable(d) {
			now := c.now()
			fresh := now.Add(c.ttl).UnixNano()
			e := &cached{d: d, fresh: fresh, tenant: w.TenantID, tenantGen: tenantGen, globalGen: globalGen}
			c.cache.Put(key, e, fresh+int64(c.staleFor), now.UnixNano())
		}
		return flightResult{d, err}, nil
	})
	if c.joined != nil {
		c.joined()
	}
	select {
	case r := <-ch:
		if !led {
			c.coalesced.Add(1)
		}
		fr := r.Val.(flightResult)
		return fr.d, fr.err
	case <-ctx.Done():
		return Decision{}, unavailable(ctx.Err())
	}
}

// ask sends one question to Tollgate.
func (c *Client) ask(ctx context.Context, w wireRequest) (Decision, error) {
	body, err := json.Marshal(w)
	if err != nil {
		return Decision{}, invalid("%v", err)
	}
	var out wireDecision
	if err := c.call(ctx, c.authorizeURL, body, &out); err != nil {
		return Decision{}, err
	}
	d, err := out.decision()
	if err != nil {
		return Decision{}, c.malformed(ctx, err)
	}
	return d, nil
}

// AuthorizeBatch asks up to MaxBatch questions about one tenant at once,
// straight to Tollgate: in order, all against one policy snapshot. The
// requests' TenantID may be empty or tenantID. The cache is neither read
// nor filled: a batch is answered as of one moment, which mixing in
// cached decisions would break. The errors are those of Authorize.
func (c *Client) AuthorizeBatch(ctx context.Context, tenantID string, reqs []Request) ([]Decision, error) {
	if tenantID == "" {
		return nil, invalid("the batch's tenant id is required")
	}
	if len(reqs) == 0 || len(reqs) > MaxBatch {
		return nil, invalid("a batch holds 1 to %d requests", MaxBatch)
	}
	in := struct {
		TenantID string        `json:"tenant_id"`
		Requests []wireRequest `json:"requests"`
	}{TenantID: tenantID, Requests: make([]wireRequest, len(reqs))}
	for i, r := range reqs {
		w, err := wire(r, tenantID)
		if err != nil {
			return nil, fmt.Errorf("requests[%d]: %w", i, err)
		}
		in.Requests[i] = w
	}
	body, err := json.Marshal(in)
	if err != nil {
		return nil, invalid("%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var out struct {
		Decisions []wireDecision `json:"decisions"`
	}
	if err := c.call(ctx, c.batchURL, body, &out); err != nil {
		if errors.Is(err, ErrUnavailable) {
			c.unavail.Add(1)
		}
		return nil, err
	}
	if len(out.Decisions) != len(reqs) {
		return nil, c.malformed(ctx, fmt.Errorf("%d decisions for %d requests", len(out.Decisions), len(reqs)))
	}
	ds := make([]Decision, len(reqs))
	for i, w := range out.Decisions {
		if ds[i], err = w.decision(); err != nil {
			return nil, c.malformed(ctx, err)
		}
		r := reqs[i]
		r.TenantID = tenantID
		c.logDecision(ctx, r, ds[i], nil)
	}
	return ds, nil
}

func (c *Client) malformed(ctx context.Context, err error) error {
	if c.quiet.Allow(c.now()) {
		c.log.ErrorContext(ctx, "pep: Tollgate's decision is malformed", "err", err)
	}
	return unavailable(err)
}

// call posts body to url with the service's token and decodes a 200 into
// out. If Tollgate refuses the token (it expired early, or the secret was
// rotated), the token is dropped and the call retried once.
func (c *Client) call(ctx context.Context, url string, body []byte, out any) error {
	var header http.Header
	if tp, ok := traceparentFrom(ctx); ok {
		header = http.Header{TraceparentHeader: {tp}}
	}
	status, data, err := c.tokens.Post(ctx, url, body, header)
	var te *clienttoken.TokenError
	switch {
	case errors.As(err, &te):
		return tokenError(te.Err)
	case err != nil:
		if c.quiet.Allow(c.now()) {
			c.log.WarnContext(ctx, "pep: Tollgate's decision endpoint is unreachable", "url", url, "err", err)
		}
		return unavailable(err)
	case status != http.StatusOK:
		e := problemError(status, data)
		if c.quiet.Allow(c.now()) {
			c.log.ErrorContext(ctx, "pep: Tollgate refused a decision request", "status", status, "err", e)
		}
		return e
	case len(data) > clienttoken.MaxResponseSize:
		return c.malformed(ctx, errors.New("decision response too large"))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return c.malformed(ctx, err)
	}
	return nil
}

// tokenError classifies a failure to obtain the service's token: the token
// endpoint's refusal is an *Error, anything else unavailability.
func tokenError(err error) error {
	var se *clienttoken.StatusError
	if errors.As(err, &se) {
		return problemError(se.StatusCode, se.Body)
	}
	return unavailable(err)
}

// logDecision logs a decision: permits at debug level, denies at info.
func (c *Client) logDecision(ctx context.Context, r Request, d Decision, err error) {
	if err != nil {
		return
	}
	level := slog.LevelInfo
	if d.Permit {
		level = slog.LevelDebug
	}
	if !c.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("decision", d.Decision), slog.String("decision_id", d.DecisionID),
		slog.String("tenant_id", r.TenantID), slog.String("principal", r.Principal),
		slog.String("action", r.Action), slog.String("resource_type", r.Resource.Type),
		slog.String("resource_id", r.Resource.ID), slog.Any("reasons", d.Reasons),
		slog.Bool("cached", d.Cached),
	}
	if d.Stale {
		attrs = append(attrs, slog.Bool("stale", true))
	}
	if id := TraceID(ctx); id != "" {
		attrs = append(attrs, slog.String("trace_id", id))
	}
	c.log.LogAttrs(ctx, level, "pep: decision", attrs...)
}
