package token

import (
	"encoding/json"
	"math"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the claims of a Tollgate access token (RFC 9068 profile plus
// Tollgate's own). Times have second precision in a token; zero times are
// omitted. Claims returned by Verifier.Verify are shared with its cache and
// must be treated as read-only, including the Audience and Roles slices.
type Claims struct {
	Issuer    string    // iss
	Subject   string    // sub: the actor id, e.g. "user:93"
	Audience  []string  // aud
	ExpiresAt time.Time // exp
	IssuedAt  time.Time // iat
	NotBefore time.Time // nbf
	ID        string    // jti
	SessionID string    // sid
	TenantID  string    // tid
	Roles     []string  // roles
	ActorType string    // act_type: human, agent or service
	// Act is the RFC 8693 actor: who acts on behalf of Subject. Nil unless
	// the token was obtained by delegation.
	Act *Actor // act
	// CredentialID names the credential other than the session the token
	// derives from — the agent's API key of a delegated token, the client
	// secret of a service's token — so that revoking it ends the token too.
	CredentialID string // cid
	// Scope is the permissions the token grants (RFC 8693 §4.2 "scope",
	// space-separated on the wire), fixed when it was issued.
	Scope []string // scope
	// AMR is how the subject signed in (RFC 8176 values: "pwd", "otp",
	// "hwk", "swk", "mfa"); empty for tokens not issued to a sign-in.
	AMR []string // amr
}

// Actor is an RFC 8693 "act" claim. A nested Act records a delegation
// chain, the outermost being the current actor.
type Actor struct {
	Subject string `json:"sub"`
	// Owner is the human responsible for an agent actor. Tollgate records
	// it so that disabling that person ends every token delegated to
	// their agents, whoever delegated. RFC 8693 §4.1 lets act carry any
	// claims that identify the actor.
	Owner string `json:"owner,omitempty"`
	Act   *Actor `json:"act,omitempty"`
}

// wireClaims is the JSON form; Claims keeps time.Time fields for callers.
// NumericDates are plain float64 seconds, 0 meaning absent: no allocation per
// date, and a date of 0 (1970) fails or passes every check exactly as an
// absent one does.
type wireClaims struct {
	Issuer    string   `json:"iss,omitempty"`
	Subject   string   `json:"sub,omitempty"`
	Audience  audience `json:"aud,omitempty"`
	ExpiresAt float64  `json:"exp,omitempty"`
	IssuedAt  float64  `json:"iat,omitempty"`
	NotBefore float64  `json:"nbf,omitempty"`
	ID        string   `json:"jti,omitempty"`
	SessionID string   `json:"sid,omitempty"`
	TenantID  string   `json:"tid,omitempty"`
	// roles is always present so consumers see one shape for "no roles".
	Roles     []string `json:"roles"`
	ActorType string   `json:"act_type,omitempty"`
	Act       *Actor   `json:"act,omitempty"`
	CID       string   `json:"cid,omitempty"`
	Scope     scope    `json:"scope,omitempty"`
	AMR       []string `json:"amr,omitempty"`
}

// scope is RFC 6749 §3.3's space-delimited list in a JSON string.
type scope []string

func (s scope) MarshalJSON() ([]byte, error) { return json.Marshal(strings.Join(s, " ")) }

func (s *scope) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	*s = strings.Fields(str)
	return nil
}

// audience is aud: a string or an array of strings (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

func seconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.Unix())
}

// timeOf mirrors jwt.NumericDate: fractions are accepted, then truncated to
// jwt.TimePrecision.
func timeOf(s float64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	whole, frac := math.Modf(s)
	return time.Unix(int64(whole), int64(frac*1e9)).Truncate(jwt.TimePrecision).UTC()
}

func numericDate(t time.Time) *jwt.NumericDate {
	if t.IsZero() {
		return nil
	}
	return jwt.NewNumericDate(t)
}

func (c *Claims) wire() wireClaims {
	roles := c.Roles
	if roles == nil {
		roles = []string{}
	}
	return wireClaims{
		Issuer: c.Issuer, Subject: c.Subject, Audience: c.Audience,
		ExpiresAt: seconds(c.ExpiresAt), IssuedAt: seconds(c.IssuedAt), NotBefore: seconds(c.NotBefore),
		ID: c.ID, SessionID: c.SessionID, TenantID: c.TenantID, Roles: roles, ActorType: c.ActorType, Act: c.Act,
		CID: c.CredentialID, Scope: c.Scope, AMR: c.AMR,
	}
}

func (w *wireClaims) claims() *Claims {
	return &Claims{
		Issuer: w.Issuer, Subject: w.Subject, Audience: w.Audience,
		ExpiresAt: timeOf(w.ExpiresAt), IssuedAt: timeOf(w.IssuedAt), NotBefore: timeOf(w.NotBefore),
		ID: w.ID, SessionID: w.SessionID, TenantID: w.TenantID, Roles: w.Roles, ActorType: w.ActorType, Act: w.Act,
		CredentialID: w.CID, Scope: w.Scope, AMR: w.AMR,
	}
}

// MarshalJSON encodes the claims with their JWT names and NumericDates.
func (c *Claims) MarshalJSON() ([]byte, error) {
	w := c.wire()
	return json.Marshal(&w)
}

// UnmarshalJSON decodes a JWT claims set. aud may be a string or an array.
func (c *Claims) UnmarshalJSON(b []byte) error {
	var w wireClaims
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = *w.claims()
	return nil
}

// Both forms implement jwt.Claims: Claims for callers of golang-jwt, and
// wireClaims so that Verify decodes each token once, straight into it.
var (
	_ jwt.Claims = (*Claims)(nil)
	_ jwt.Claims = (*wireClaims)(nil)
)

func (c *Claims) GetExpirationTime() (*jwt.NumericDate, error) { return numericDate(c.ExpiresAt), nil }
func (c *Claims) GetIssuedAt() (*jwt.NumericDate, error)       { return numericDate(c.IssuedAt), nil }
func (c *Claims) GetNotBefore() (*jwt.NumericDate, error)      { return numericDate(c.NotBefore), nil }
func (c *Claims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *Claims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *Claims) GetAudience() (jwt.ClaimStrings, error)       { return jwt.ClaimStrings(c.Audience), nil }

func (w *wireClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return numericDate(timeOf(w.ExpiresAt)), nil
}
func (w *wireClaims) GetIssuedAt() (*jwt.NumericDate, error) {
	return numericDate(timeOf(w.IssuedAt)), nil
}
func (w *wireClaims) GetNotBefore() (*jwt.NumericDate, error) {
	return numericDate(timeOf(w.NotBefore)), nil
}
func (w *wireClaims) GetIssuer() (string, error)  { return w.Issuer, nil }
func (w *wireClaims) GetSubject() (string, error) { return w.Subject, nil }
func (w *wireClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings(w.Audience), nil
}

// missing names the first claim an access token cannot do without, or "".
func (c *Claims) missing() string {
	switch {
	case c.Subject == "":
		return "sub"
	case c.ID == "":
		return "jti"
	case c.SessionID == "":
		return "sid"
	case c.ExpiresAt.IsZero():
		return "exp"
	}
	return ""
}
