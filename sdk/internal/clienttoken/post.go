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

// Response is Tollgate's answer: its status, its headers and at most
// MaxResponseSize+1 bytes of its body (more than MaxResponseSize means too
// large).
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Post sends body as JSON to url with the service's token, through
// Options.HTTPClient, and returns the answer's status and body, as Send.
func (s *Source) Post(ctx context.Context, url string, body []byte, header http.Header) (int, []byte, error) {
	r, err := s.Send(ctx, url, body, header)
	return r.Status, r.Body, err
}

// Send posts body to url with the service's token and returns the answer.
// When Tollgate answers 401 — the token expired early, or the service's
// secret was rotated — the token is dropped and the request sent once more
// with a new one. header adds request headers (a traceparent); a
// Content-Type there replaces application/json. Errors are a *TokenError,
// or the transport's.
func (s *Source) Send(ctx context.Context, url string, body []byte, header http.Header) (Response, error) {
	for attempt := 0; ; attempt++ {
		bearer, err := s.Token(ctx)
		if err != nil {
			return Response{}, &TokenError{err}
		}
		r, err := s.post(ctx, url, bearer, body, header)
		if err == nil && r.Status == http.StatusUnauthorized && attempt == 0 {
			s.Invalidate(bearer)
			continue
		}
		return r, err
	}
}

func (s *Source) post(ctx context.Context, url, bearer string, body []byte, header http.Header) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range header {
		req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Accept", "application/json")
	return Do(s.o.HTTPClient, req)
}

// Do sends req through client and reads the answer, at most
// MaxResponseSize+1 bytes of its body.
func Do(client *http.Client, req *http.Request) (Response, error) {
	resp, err := client.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseSize+1))
	if err != nil {
		return Response{}, err
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}
