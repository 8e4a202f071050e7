package ratelimit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/tollgate/tollgate/sdk/internal/clienttoken"
)

// Defaults of Config.
const (
	DefaultURL     = "http://127.0.0.1:9200"
	DefaultTimeout = 2 * time.Second
)

// Config configures a Client.
type Config struct {
	// URL is Tollgate's base URL; default http://127.0.0.1:9200.
	URL string
	// ClientID and ClientSecret are this service's client credentials,
	// registered in Tollgate's service registry with the scope
	// ratelimit:check. Required.
	ClientID     string
	ClientSecret string
	// HTTPClient calls Tollgate; default a client with a pool of
	// keep-alive connections and Timeout.
	HTTPClient *http.Client
	// Timeout bounds a Check, obtaining the service's token included;
	// default 2 s. Past it the Check fails with ErrUnavailable.
	Timeout time.Duration
	// Log receives what an operator must see (Tollgate unreachable or
	// failing, client credentials refused), at most one line per 10 s;
	// default slog.Default().
	Log *slog.Logger
}

// Client checks rate limits against Tollgate. It is safe for concurrent
// use, and holds no background work: it needs no closing.
type Client struct {
	checkURL string
	client   *http.Client
	timeout  time.Duration
	log      *slog.Logger
	now      func() time.Time
	// quiet limits the logging of Tollgate's failures, which during an
	// outage every check would repeat.
	quiet  *clienttoken.Throttle
	tokens *clienttoken.Source
}

// New returns a Client for the Tollgate at cfg.URL. It fails only on a bad
// Config; Tollgate is first called by the first Check.
func New(cfg Config) (*Client, error) {
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	base, err := clienttoken.BaseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: %w", err)
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("ratelimit: Config.ClientID and Config.ClientSecret are required")
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("ratelimit: Config.Timeout must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = clienttoken.NewHTTPClient(cfg.Timeout)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	c := &Client{
		checkURL: base + "/v1/ratelimit/check", client: cfg.HTTPClient, timeout: cfg.Timeout,
		log: cfg.Log, now: time.Now, quiet: clienttoken.NewThrottle(clienttoken.LogEvery),
	}
	c.tokens = clienttoken.New(clienttoken.Options{
		TokenURL: base + "/oauth/token", ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		HTTPClient: cfg.HTTPClient, Log: cfg.Log, LogPrefix: "ratelimit", Quiet: c.quiet, Now: c.now,
		// Checks run in requests that may give up; the token fetch they
		// share must not fail with the first of them.
		Timeout: cfg.Timeout, Detached: true,
	})
	return c, nil
}

// Option adjusts one Check.
type Option func(*checkOptions)

type checkOptions struct {
	cost     *int64
	tenantID string
}

// Cost makes the check consume n units instead of 1. Tollgate refuses a
// cost below 1 or above the limit's quota (400 invalid_cost): no amount of
// waiting would admit it.
func Cost(n int64) Option { return func(o *checkOptions) { o.cost = &n } }

// Tenant checks the limit as tenant id has it — with the tenant's own plan
// when it overrides the limit — and counts the key within that tenant, so
// that equal keys of different tenants do not share a budget. Tollgate
// answers 404 tenant_not_found for an unknown tenant.
func Tenant(id string) Option { return func(o *checkOptions) { o.tenantID = id } }

// Result is Tollgate's answer to one check.
type Result struct {
	// Allowed reports whether the request may proceed; it consumed its
	// cost if so, and nothing otherwise.
	Allowed bool
	// Limit is the most the key can have available at once (the quota).
	Limit int64
	// Remaining is how many more cost-1 requests would be allowed now.
	Remaining int64
	// ResetAfter is how long until the key is back to its full quota if
	// nothing more is consumed.
	ResetAfter time.Duration
	// Window is how long an idle key takes to regain its whole quota (the
	// "w" of the RateLimit-Policy field); 0 from a Tollgate too old to say.
	Window time.Duration
	// RetryAfter is, when not Allowed, how long until the same request
	// would be; 0 when Allowed.
	RetryAfter time.Duration
	// Unchecked: the limit is off in Tollgate, or its backend failed and
	// the limit fails open; the request was allowed without being counted
	// and the other numbers mean nothing.
	Unchecked bool
}

type checkRequest struct {
	Name     string `json:"name"`
	Key      string `json:"key"`
	Cost     *int64 `json:"cost,omitempty"`
	TenantID string `json:"tenant_id,omitempty"`
}

// checkResponse carries durations in seconds, with millisecond precision.
type checkResponse struct {
	Allowed    *bool   `json:"allowed"`
	Limit      int64   `json:"limit"`
	Remaining  int64   `json:"remaining"`
	ResetAfter float64 `json:"reset_after"`
	RetryAfter float64 `json:"retry_after"`
	Window     float64 `json:"window"`
	Unchecked  bool    `json:"unchecked"`
}

// Check consumes from the limit called name for key — 1 unit, or the
// Cost option's — if the key has that much left, and reports the outcome.
// A denial is a Result with Allowed false, not an error. The errors are an
// *Error when Tollgate refuses the check (see the Code constants), or match
// ErrUnavailable when it cannot answer within Config.Timeout.
//
// If Tollgate refuses the service's access token (it expired early, or the
// service's secret was rotated), the token is dropped and the check retried
// once with a new one.
func (c *Client) Check(ctx context.Context, name, key string, opts ...Option) (Result, error) {
	var o checkOptions
	for _, opt := range opts {
		opt(&o)
	}
	body, err := json.Marshal(checkRequest{Name: name, Key: key, Cost: o.cost, TenantID: o.tenantID})
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	status, data, err := c.tokens.Post(ctx, c.checkURL, body, nil)
	var te *clienttoken.TokenError
	switch {
	case errors.As(err, &te):
		return Result{}, tokenError(te.Err)
	case err != nil:
		if c.quiet.Allow(c.now()) {
			c.log.Warn("ratelimit: Tollgate's rate-limit endpoint is unreachable", "url", c.checkURL, "err", err)
		}
		return Result{}, unavailable(err)
	case status != http.StatusOK:
		e := problemError(status, data)
		if errors.Is(e, ErrUnavailable) && c.quiet.Allow(c.now()) {
			c.log.Error("ratelimit: Tollgate failed a rate-limit check", "limit", name, "status", status, "err", e)
		}
		return Result{}, e
	case len(data) > clienttoken.MaxResponseSize:
		return Result{}, unavailable(errors.New("rate-limit response too large"))
	}
	res, err := parseResult(data)
	if err != nil {
		if c.quiet.Allow(c.now()) {
			c.log.Error("ratelimit: Tollgate's rate-limit response is malformed", "err", err)
		}
		return Result{}, unavailable(err)
	}
	return res, nil
}

// tokenError classifies a failure to obtain the service's token: the token
// endpoint's refusal is an *Error (401 invalid_client for credentials it
// does not accept; a 5xx also matches ErrUnavailable), anything else —
// unreachable, a timeout, nonsense — is unavailability.
func tokenError(err error) error {
	var se *clienttoken.StatusError
	if errors.As(err, &se) {
		return problemError(se.StatusCode, se.Body)
	}
	return unavailable(err)
}

// parseResult checks an answer strictly: a 200 without a decision, or
// with negative numbers, is not to be trusted.
func parseResult(data []byte) (Result, error) {
	var in checkResponse
	if err := json.Unmarshal(data, &in); err != nil {
		return Result{}, fmt.Errorf("decoding the rate-limit response: %w", err)
	}
	if in.Allowed == nil {
		return Result{}, errors.New("rate-limit response without allowed")
	}
	if in.Limit < 0 || in.Remaining < 0 || in.ResetAfter < 0 || in.RetryAfter < 0 || in.Window < 0 {
		return Result{}, fmt.Errorf("rate-limit response with negative numbers: %s", data)
	}
	return Result{
		Allowed: *in.Allowed, Limit: in.Limit, Remaining: in.Remaining,
		ResetAfter: seconds(in.ResetAfter), RetryAfter: seconds(in.RetryAfter), Window: seconds(in.Window),
		Unchecked: in.Unchecked,
	}, nil
}

// seconds converts Tollgate's seconds, of millisecond precision, to a
// Duration, rounding away the float's error and saturating.
func seconds(s float64) time.Duration {
	ms := math.Round(s * 1000)
	if ms >= float64(math.MaxInt64/int64(time.Millisecond)) {
		return math.MaxInt64
	}
	return time.Duration(ms) * time.Millisecond
}
