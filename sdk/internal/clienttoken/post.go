package clienttoken

import (
	"bytes"
	"context"
	"io"
	"net/http"
)

// TokenError is Post's failure to obtain the service's own token; Err is
// Token's error (a *StatusError when the token endpoint refused).
type TokenError struct{ Err error }

func (e *TokenError) Error() string { return e.Err.Error() }
func (e *TokenError) Unwrap() error { return e.Err }

// Post sends body as JSON to url with the service's token, through
// Options.HTTPClient, and returns the answer's status and at most
// MaxResponseSize+1 bytes of it (more than MaxResponseSize means too
// large). When Tollgate answers 401 — the token expired early, or the
// service's secret was rotated — the token is dropped and the request sent
// once more with a new one. header adds request headers (a traceparent).
// Errors are a *TokenError, or the transport's.
func (s *Source) Post(ctx context.Context, url string, body []byte, header http.Header) (int, []byte, error) {
	for attempt := 0; ; attempt++ {
		bearer, err := s.Token(ctx)
		if err != nil {
			return 0, nil, &TokenError{err}
		}
		status, data, err := s.post(ctx, url, bearer, body, header)
		if err == nil && status == http.StatusUnauthorized && attempt == 0 {
			s.Invalidate(bearer)
			continue
		}
		return status, data, err
	}
}

func (s *Source) post(ctx context.Context, url, bearer string, body []byte, header http.Header) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := s.o.HTTPClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseSize+1))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, data, nil
}
