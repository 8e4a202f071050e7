// Package clienttoken obtains and caches a service's own access token from
// Tollgate's client credentials grant, for the SDK packages that call
// Tollgate as a registered service (sdk/authn to introspect API keys,
// sdk/ratelimit to check limits). It also holds what those packages share
// about talking to Tollgate: the bound on responses, the timeout of a call,
// the default HTTP client, the validation of the base URL and the throttle
// that keeps an outage from flooding the log.
package clienttoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MaxResponseSize bounds what is read of a Tollgate response.
const MaxResponseSize = 64 << 10

// DefaultTimeout bounds a call to Tollgate even when the HTTP client has no
// timeout of its own.
const DefaultTimeout = 10 * time.Second

// LogEvery is the least time between two log lines about Tollgate's
// failures.
const LogEvery = 10 * time.Second

// Token timing. The token is renewed at 80% of its lifetime, while the
// current one still works, and counted as expired a little early so that
// it never reaches Tollgate stale.
const (
	renewAt           = 0.8
	maxExpiryMargin   = 10 * time.Second
	defaultExpiresIn  = time.Minute // when Tollgate does not say
	tokenRetryBackoff = time.Second // after a failed fetch
)

// Throttle lets one event through per interval; the SDK uses it to log
// Tollgate's failures, which during an outage every request would repeat.
// It is safe for concurrent use.
type Throttle struct {
	every time.Duration
	last  atomic.Int64 // Unix nanoseconds
}

// NewThrottle returns a Throttle letting one event through per every.
func NewThrottle(every time.Duration) *Throttle { return &Throttle{every: every} }

// Allow reports whether an event at now may go through, and counts it if so.
func (t *Throttle) Allow(now time.Time) bool {
	n, l := now.UnixNano(), t.last.Load()
	return (l == 0 || n-l >= int64(t.every)) && t.last.CompareAndSwap(l, n)
}

// Options configure a Source.
type Options struct {
	// TokenURL is Tollgate's token endpoint, e.g.
	// http://127.0.0.1:9200/oauth/token. Required.
	TokenURL string
	// ClientID and ClientSecret are the service's client credentials.
	ClientID, ClientSecret string
	// HTTPClient performs the grant; default http.DefaultClient.
	HTTPClient *http.Client
	// Log receives what an operator must see (the token endpoint
	// unreachable, the credentials refused); default slog.Default().
	Log *slog.Logger
	// LogPrefix starts every log message, e.g. "authn".
	LogPrefix string
	// Quiet throttles those log lines; a caller passes its own to share
	// one budget with its other messages about Tollgate. Default one line
	// per LogEvery.
	Quiet *Throttle
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Timeout bounds one fetch; default DefaultTimeout.
	Timeout time.Duration
	// Detached makes a fetch outlast the caller that started it: it runs
	// in its own goroutine under context.WithoutCancel of that caller's
	// context, bounded by Timeout, so that a request giving up does not
	// fail the fetch for the others waiting on it. Every caller still
	// stops waiting when its own context ends. Without it the first caller
	// fetches within its own context, which suits callers that already run
	// in the background.
	Detached bool
}

// Source obtains and caches a service's own access token from Tollgate's
// client credentials grant. One fetch is in flight at a time; once the
// token is due for renewal, one caller renews it while the others go on
// using it until it expires. A failed fetch is returned to the callers of
// the next second without a new one. It is safe for concurrent use.
type Source struct {
	o Options

	mu  sync.Mutex
	cur *token
	// inflight is the fetch under way, if any; failed and failedAt hold the
	// last failure, returned without a new fetch for tokenRetryBackoff.
	inflight *fetch
	failed   error
	failedAt time.Time
}

type token struct {
	value            string
	renew, expiresAt time.Time
}

type fetch struct {
	done chan struct{}
	tok  *token // set before done is closed, nil on failure
	err  error
}

// New returns a Source for o.
func New(o Options) *Source {
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.LogPrefix != "" {
		o.LogPrefix += ": "
	}
	if o.Quiet == nil {
		o.Quiet = NewThrottle(LogEvery)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return &Source{o: o}
}

// StatusError is the token endpoint's refusal: an answer other than 200.
// Body is the start of the answer (at most MaxResponseSize+1 bytes),
// usually an RFC 9457 problem document or an RFC 6749 §5.2 error.
type StatusError struct {
	URL        string
	StatusCode int
	Status     string // e.g. "401 Unauthorized"
	Body       []byte
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("POST %s: %s: %.200s", e.URL, e.Status, e.Body)
}

// Token returns a usable token: the cached one, or a new one fetched within
// ctx. Its errors are plain: the context's error, a *StatusError when the
// token endpoint refused the credentials or failed, any other error when it
// could not be reached or answered nonsense.
func (s *Source) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	now := s.o.Now()
	cur := s.cur
	if cur != nil && now.Before(cur.renew) {
		s.mu.Unlock()
		return cur.value, nil
	}
	usable := cur != nil && now.Before(cur.expiresAt)
	f, leader := s.inflight, false
	if f == nil {
		if !usable && s.failed != nil && now.Sub(s.failedAt) < tokenRetryBackoff {
			err := s.failed
			s.mu.Unlock()
			return "", err
		}
		f, leader = &fetch{done: make(chan struct{})}, true
		s.inflight = f
	}
	s.mu.Unlock()
	switch {
	case leader && s.o.Detached:
		go s.fetch(context.WithoutCancel(ctx), f)
		if usable {
			return cur.value, nil
		}
	case leader:
		s.fetch(ctx, f)
	case usable:
		return cur.value, nil
	}
	select {
	case <-f.done:
		if f.err != nil {
			if usable {
				return cur.value, nil
			}
			return "", f.err
		}
		return f.tok.value, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Invalidate drops value if it is still the cached token, after Tollgate
// refused it.
func (s *Source) Invalidate(value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && s.cur.value == value {
		s.cur = nil
	}
}

func (s *Source) fetch(ctx context.Context, f *fetch) {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	start := s.o.Now()
	tok, err := s.request(ctx, start)
	s.mu.Lock()
	if err != nil {
		f.err = err
		s.failed, s.failedAt = err, s.o.Now()
	} else {
		f.tok, s.cur, s.failed = tok, tok, nil
	}
	s.inflight = nil
	s.mu.Unlock()
	close(f.done)
}

// request performs the client credentials grant (RFC 6749 §4.4), the client
// authenticating with HTTP Basic over its form-encoded id and secret
// (§2.3.1).
func (s *Source) request(ctx context.Context, start time.Time) (*token, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.o.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(url.QueryEscape(s.o.ClientID), url.QueryEscape(s.o.ClientSecret))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := s.o.HTTPClient.Do(req)
	if err != nil {
		if s.o.Quiet.Allow(s.o.Now()) {
			s.o.Log.Warn(s.o.LogPrefix+"Tollgate's token endpoint is unreachable", "url", s.o.TokenURL, "err", err)
		}
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseSize+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		err := &StatusError{URL: s.o.TokenURL, StatusCode: resp.StatusCode, Status: resp.Status, Body: data}
		if s.o.Quiet.Allow(s.o.Now()) {
			s.o.Log.Error(s.o.LogPrefix+"Tollgate refused this service's client credentials", "client_id", s.o.ClientID,
				"status", resp.StatusCode, "err", err)
		}
		return nil, err
	}
	var body struct {
		AccessToken string  `json:"access_token"`
		TokenType   string  `json:"token_type"`
		ExpiresIn   float64 `json:"expires_in"`
	}
	if len(data) > MaxResponseSize {
		return nil, errors.New("token response too large")
	}
	if err := json.Unmarshal(data, &body); err != nil {
		return nil, fmt.Errorf("decoding the token response: %w", err)
	}
	if body.AccessToken == "" || !strings.EqualFold(body.TokenType, "Bearer") {
		return nil, fmt.Errorf("token response without a Bearer access token (token_type %q)", body.TokenType)
	}
	ttl := defaultExpiresIn
	if body.ExpiresIn > 0 {
		ttl = time.Duration(body.ExpiresIn * float64(time.Second))
	}
	// Times count from before the request, so transit time only makes
	// them early.
	return &token{
		value:     body.AccessToken,
		renew:     start.Add(time.Duration(float64(ttl) * renewAt)),
		expiresAt: start.Add(ttl - min(maxExpiryMargin, ttl/10)),
	}, nil
}

// BaseURL checks that raw is Tollgate's base URL — an absolute http or https
// URL without query, fragment or user — and returns it without trailing
// slashes. Its errors name Config.URL, for the caller to prefix with its
// package.
func BaseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("Config.URL does not parse as a URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("Config.URL %q is not an absolute http or https URL without query, fragment or user", u.Redacted())
	}
	return strings.TrimRight(raw, "/"), nil
}

// NewHTTPClient returns a client for calls to Tollgate, with timeout on the
// whole exchange, the dial and the TLS handshake, and more idle connections
// per host than http.DefaultTransport's 2, since every request of a busy
// service may call Tollgate.
func NewHTTPClient(timeout time.Duration) *http.Client {
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Timeout: timeout, Transport: t}
}
