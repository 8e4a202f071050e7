package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Service token timing. The token is renewed at 80% of its lifetime, in the
// background while the current one still works, and counted as expired a
// little early so that it never reaches Tollgate stale.
const (
	renewAt           = 0.8
	maxExpiryMargin   = 10 * time.Second
	defaultExpiresIn  = time.Minute // when Tollgate does not say
	tokenRetryBackoff = time.Second // after a failed fetch
)

// serviceToken obtains and caches this service's own access token from
// Tollgate's client credentials grant. One fetch is in flight at a time.
type serviceToken struct {
	url, id, secret string
	client          *http.Client
	log             *slog.Logger
	quiet           *throttle
	now             func() time.Time

	mu  sync.Mutex
	cur *svcToken
	// inflight is the fetch under way, if any; failed and failedAt hold the
	// last failure, returned without a new fetch for tokenRetryBackoff.
	inflight *tokenFetch
	failed   error
	failedAt time.Time
}

type svcToken struct {
	value            string
	renew, expiresAt time.Time
}

type tokenFetch struct {
	done chan struct{}
	tok  *svcToken // set before done is closed, nil on failure
	err  error
}

// get returns a usable token: the cached one, or a new one fetched within
// ctx. Once the cached token is due for renewal, one caller renews it while
// the others go on using it until it expires.
func (s *serviceToken) get(ctx context.Context) (string, error) {
	s.mu.Lock()
	now := s.now()
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
		f, leader = &tokenFetch{done: make(chan struct{})}, true
		s.inflight = f
	}
	s.mu.Unlock()
	if leader {
		// Callers run in the Authenticator's background, so ctx is not a
		// client's request that might go away.
		s.fetch(ctx, f)
	} else if usable {
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
		return "", errUnavailable(ctx.Err())
	}
}

// invalidate drops value if it is still the cached token, after Tollgate
// refused it.
func (s *serviceToken) invalidate(value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && s.cur.value == value {
		s.cur = nil
	}
}

func (s *serviceToken) fetch(ctx context.Context, f *tokenFetch) {
	ctx, cancel := context.WithTimeout(ctx, outboundTimeout)
	defer cancel()
	start := s.now()
	tok, err := s.request(ctx, start)
	s.mu.Lock()
	if err != nil {
		f.err = errUnavailable(err)
		s.failed, s.failedAt = f.err, s.now()
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
func (s *serviceToken) request(ctx context.Context, start time.Time) (*svcToken, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(url.QueryEscape(s.id), url.QueryEscape(s.secret))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		if s.quiet.allow(s.now()) {
			s.log.Warn("authn: Tollgate's token endpoint is unreachable", "url", s.url, "err", err)
		}
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("POST %s: %s: %.200s", s.url, resp.Status, data)
		if s.quiet.allow(s.now()) {
			s.log.Error("authn: Tollgate refused this service's client credentials", "client_id", s.id,
				"status", resp.StatusCode, "err", err)
		}
		return nil, err
	}
	var body struct {
		AccessToken string  `json:"access_token"`
		TokenType   string  `json:"token_type"`
		ExpiresIn   float64 `json:"expires_in"`
	}
	if len(data) > maxResponseSize {
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
	return &svcToken{
		value:     body.AccessToken,
		renew:     start.Add(time.Duration(float64(ttl) * renewAt)),
		expiresAt: start.Add(ttl - min(maxExpiryMargin, ttl/10)),
	}, nil
}
