// Package oauth implements Tollgate's OAuth 2.0 token endpoint grants: the
// client credentials grant for services (RFC 6749 §4.4) and token exchange
// for delegating a human's rights to an agent (RFC 8693).
package oauth

import (
	"net/url"
	"strings"
)

// Grant types.
const (
	GrantClientCredentials = "client_credentials"
	GrantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
)

// Token types of RFC 8693 §3, plus Tollgate's own for API keys.
const (
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
	// TokenTypeAPIKey is an agent's Tollgate API key presented as an
	// actor_token.
	TokenTypeAPIKey = "urn:tollgate:params:oauth:token-type:api_key"
)

// Request is a parsed token request.
type Request struct {
	GrantType          string
	ClientID           string
	ClientSecret       string
	Scope              []string
	ScopeGiven         bool
	SubjectToken       string
	SubjectTokenType   string
	ActorToken         string
	ActorTokenType     string
	RequestedTokenType string
	Audience           string
	// BasicAuth reports that the client authenticated with HTTP Basic, so
	// that a failure answers with a Basic challenge.
	BasicAuth bool
}

// Bounds of a token request's parameters.
const (
	maxParamLen = 8 << 10
	maxScopes   = 64
)

// ParseRequest reads a token request from form values and the optional HTTP
// Basic credentials (already split by the HTTP layer; basicOK false when
// absent). Every parameter may appear at most once (RFC 6749 §3.2).
func ParseRequest(form url.Values, basicUser, basicPass string, basicOK bool) (Request, error) {
	var r Request
	for name, vs := range form {
		if len(vs) != 1 {
			return Request{}, errInvalidRequest("the parameter %s must appear exactly once", safe(name))
		}
		if len(vs[0]) > maxParamLen {
			return Request{}, errInvalidRequest("the parameter %s is too long", safe(name))
		}
	}
	get := form.Get
	r.GrantType = get("grant_type")
	if r.GrantType == "" {
		return Request{}, errInvalidRequest("grant_type is required")
	}
	r.ClientID, r.ClientSecret = get("client_id"), get("client_secret")
	if basicOK {
		// RFC 6749 §2.3.1: one authentication method per request.
		if r.ClientSecret != "" {
			return Request{}, errInvalidRequest("use either HTTP Basic or client_secret, not both")
		}
		user, err1 := url.QueryUnescape(basicUser)
		pass, err2 := url.QueryUnescape(basicPass)
		if err1 != nil || err2 != nil || r.ClientID != "" && r.ClientID != user {
			return Request{}, errInvalidClient("client authentication failed", true)
		}
		r.ClientID, r.ClientSecret, r.BasicAuth = user, pass, true
	}
	if s, ok := form["scope"]; ok {
		r.ScopeGiven = true
		r.Scope = strings.Fields(s[0])
		if len(r.Scope) > maxScopes {
			return Request{}, errInvalidScope("at most %d scopes", maxScopes)
		}
	}
	r.SubjectToken, r.SubjectTokenType = get("subject_token"), get("subject_token_type")
	r.ActorToken, r.ActorTokenType = get("actor_token"), get("actor_token_type")
	r.RequestedTokenType, r.Audience = get("requested_token_type"), get("audience")
	switch r.GrantType {
	case GrantClientCredentials:
		if r.ClientID == "" || r.ClientSecret == "" {
			return Request{}, errInvalidClient("client_id and client_secret are required", basicOK)
		}
	case GrantTokenExchange:
		switch {
		case r.SubjectToken == "":
			return Request{}, errInvalidRequest("subject_token is required")
		case r.SubjectTokenType != TokenTypeAccessToken && r.SubjectTokenType != TokenTypeJWT:
			return Request{}, errInvalidRequest("subject_token_type must be %s", TokenTypeAccessToken)
		case r.ActorToken == "":
			return Request{}, errInvalidRequest("actor_token is required: it names the agent to delegate to")
		case r.ActorTokenType != TokenTypeAPIKey:
			return Request{}, errInvalidRequest("actor_token_type must be %s", TokenTypeAPIKey)
		case r.RequestedTokenType != "" && r.RequestedTokenType != TokenTypeAccessToken:
			return Request{}, errInvalidRequest("requested_token_type must be %s", TokenTypeAccessToken)
		}
	default:
		return Request{}, &Error{Code: "unsupported_grant_type", Description: "supported grant types: " + GrantClientCredentials + ", " + GrantTokenExchange, Status: 400}
	}
	return r, nil
}

// safe bounds a client-chosen string before it appears in an error.
func safe(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
