package oauth_test

import (
	"errors"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/tollgate/tollgate/oauth"
)

const (
	subject = "eyJhbGciOiJFZERTQSJ9.e30.sig"
	agent   = "tg_live_01jz0000000000000000000000_secret"
)

// exchangeForm is a complete token exchange request; kv adds, replaces or
// (with "") removes parameters.
func exchangeForm(kv ...string) url.Values {
	f := url.Values{
		"grant_type":         {oauth.GrantTokenExchange},
		"subject_token":      {subject},
		"subject_token_type": {oauth.TokenTypeAccessToken},
		"actor_token":        {agent},
		"actor_token_type":   {oauth.TokenTypeAPIKey},
	}
	return with(f, kv...)
}

// ccForm is a client credentials request without client authentication.
func ccForm(kv ...string) url.Values {
	return with(url.Values{"grant_type": {oauth.GrantClientCredentials}}, kv...)
}

// with sets each name of kv to the value after it, or deletes it for "".
func with(f url.Values, kv ...string) url.Values {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			f.Del(kv[i])
		} else {
			f.Set(kv[i], kv[i+1])
		}
	}
	return f
}

type basic struct {
	user, pass string
	ok         bool
}

func TestParseRequest(t *testing.T) {
	cases := []struct {
		name  string
		form  url.Values
		basic basic
		want  oauth.Request
	}{
		{"client credentials in the form", ccForm("client_id", "c1", "client_secret", "s1"), basic{},
			oauth.Request{GrantType: oauth.GrantClientCredentials, ClientID: "c1", ClientSecret: "s1"}},
		{"client credentials with Basic", ccForm(), basic{"c1", "s1", true},
			oauth.Request{GrantType: oauth.GrantClientCredentials, ClientID: "c1", ClientSecret: "s1", BasicAuth: true}},
		{"Basic is form-decoded (RFC 6749 §2.3.1)", ccForm(), basic{"c%2B1", "s%3A1+x", true},
			oauth.Request{GrantType: oauth.GrantClientCredentials, ClientID: "c+1", ClientSecret: "s:1 x", BasicAuth: true}},
		{"Basic with the same client_id", ccForm("client_id", "c1"), basic{"c1", "s1", true},
			oauth.Request{GrantType: oauth.GrantClientCredentials, ClientID: "c1", ClientSecret: "s1", BasicAuth: true}},
		{"Basic on a token exchange", exchangeForm(), basic{"c1", "s1", true},
			oauth.Request{GrantType: oauth.GrantTokenExchange, ClientID: "c1", ClientSecret: "s1", BasicAuth: true,
				SubjectToken: subject, SubjectTokenType: oauth.TokenTypeAccessToken, ActorToken: agent, ActorTokenType: oauth.TokenTypeAPIKey}},
		{"scopes split on spaces", ccForm("client_id", "c1", "client_secret", "s1", "scope", " a  b\tc "), basic{},
			oauth.Request{GrantType: oauth.GrantClientCredentials, ClientID: "c1", ClientSecret: "s1", Scope: []string{"a", "b", "c"}, ScopeGiven: true}},
		{"an empty scope is given", func() url.Values {
			f := ccForm("client_id", "c1", "client_secret", "s1")
			f["scope"] = []string{""}
			return f
		}(), basic{},
			oauth.Request{GrantType: oauth.GrantClientCredentials, ClientID: "c1", ClientSecret: "s1", ScopeGiven: true}},
		{"unknown parameters are ignored", ccForm("client_id", "c1", "client_secret", "s1", "resource", "https://x"), basic{},
			oauth.Request{GrantType: oauth.GrantClientCredentials, ClientID: "c1", ClientSecret: "s1"}},
		{"token exchange", exchangeForm(), basic{},
			oauth.Request{GrantType: oauth.GrantTokenExchange, SubjectToken: subject, SubjectTokenType: oauth.TokenTypeAccessToken,
				ActorToken: agent, ActorTokenType: oauth.TokenTypeAPIKey}},
		{"token exchange with a JWT subject and everything", exchangeForm("subject_token_type", oauth.TokenTypeJWT,
			"requested_token_type", oauth.TokenTypeAccessToken, "audience", "mail", "scope", "tenant:read"), basic{},
			oauth.Request{GrantType: oauth.GrantTokenExchange, SubjectToken: subject, SubjectTokenType: oauth.TokenTypeJWT,
				ActorToken: agent, ActorTokenType: oauth.TokenTypeAPIKey, RequestedTokenType: oauth.TokenTypeAccessToken,
				Audience: "mail", Scope: []string{"tenant:read"}, ScopeGiven: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := oauth.ParseRequest(c.form, c.basic.user, c.basic.pass, c.basic.ok)
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if !equal(got, c.want) {
				t.Fatalf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// equal compares requests, a nil scope being an empty one.
func equal(a, b oauth.Request) bool {
	if len(a.Scope) == 0 && len(b.Scope) == 0 {
		a.Scope, b.Scope = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

func TestParseRequestRefuses(t *testing.T) {
	long := strings.Repeat("x", 8<<10+1)
	cases := []struct {
		name   string
		form   url.Values
		basic  basic
		code   string
		status int
		// challenge: the error asks for an HTTP Basic challenge.
		challenge bool
	}{
		{"no grant type", url.Values{"client_id": {"c1"}}, basic{}, "invalid_request", 400, false},
		{"empty grant type", url.Values{"grant_type": {""}}, basic{}, "invalid_request", 400, false},
		{"unknown grant type", url.Values{"grant_type": {"password"}}, basic{}, "unsupported_grant_type", 400, false},
		{"grant type in another case", url.Values{"grant_type": {"Client_Credentials"}, "client_id": {"c"}, "client_secret": {"s"}}, basic{}, "unsupported_grant_type", 400, false},
		{"authorization code", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, basic{}, "unsupported_grant_type", 400, false},
		{"repeated grant type", url.Values{"grant_type": {oauth.GrantClientCredentials, oauth.GrantClientCredentials}}, basic{}, "invalid_request", 400, false},
		{"repeated unknown parameter", func() url.Values {
			f := ccForm("client_id", "c", "client_secret", "s", "x", "1")
			f.Add("x", "2")
			return f
		}(), basic{}, "invalid_request", 400, false},
		{"overlong parameter", ccForm("client_id", "c", "client_secret", "s", "audience", long), basic{}, "invalid_request", 400, false},
		{"too many scopes", ccForm("client_id", "c", "client_secret", "s", "scope", strings.Repeat("a ", 65)), basic{}, "invalid_scope", 400, false},
		{"no client", ccForm(), basic{}, "invalid_client", 401, false},
		{"no client secret", ccForm("client_id", "c"), basic{}, "invalid_client", 401, false},
		{"no client id", ccForm("client_secret", "s"), basic{}, "invalid_client", 401, false},
		{"Basic without a password", ccForm(), basic{"c", "", true}, "invalid_client", 401, true},
		{"Basic and a form secret", ccForm("client_secret", "s"), basic{"c", "s", true}, "invalid_request", 400, false},
		{"Basic and another client_id", ccForm("client_id", "other"), basic{"c", "s", true}, "invalid_client", 401, true},
		{"Basic user badly escaped", ccForm(), basic{"c%zz", "s", true}, "invalid_client", 401, true},
		{"Basic password badly escaped", ccForm(), basic{"c", "%", true}, "invalid_client", 401, true},
		{"exchange without subject token", exchangeForm("subject_token", ""), basic{}, "invalid_request", 400, false},
		{"exchange without subject token type", exchangeForm("subject_token_type", ""), basic{}, "invalid_request", 400, false},
		{"exchange with an ID token subject", exchangeForm("subject_token_type", "urn:ietf:params:oauth:token-type:id_token"), basic{}, "invalid_request", 400, false},
		{"exchange with a refresh token subject", exchangeForm("subject_token_type", "urn:ietf:params:oauth:token-type:refresh_token"), basic{}, "invalid_request", 400, false},
		{"exchange without actor token", exchangeForm("actor_token", ""), basic{}, "invalid_request", 400, false},
		{"exchange without actor token type", exchangeForm("actor_token_type", ""), basic{}, "invalid_request", 400, false},
		{"exchange with an access token actor", exchangeForm("actor_token_type", oauth.TokenTypeAccessToken), basic{}, "invalid_request", 400, false},
		{"exchange for a refresh token", exchangeForm("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"), basic{}, "invalid_request", 400, false},
		{"exchange with too many scopes", exchangeForm("scope", strings.Repeat("s ", 65)), basic{}, "invalid_scope", 400, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := oauth.ParseRequest(c.form, c.basic.user, c.basic.pass, c.basic.ok)
			var oe *oauth.Error
			if !errors.As(err, &oe) {
				t.Fatalf("error %v, want *oauth.Error", err)
			}
			if oe.Code != c.code || oe.Status != c.status || oe.Basic != c.challenge {
				t.Fatalf("got %s %d basic=%v, want %s %d basic=%v", oe.Code, oe.Status, oe.Basic, c.code, c.status, c.challenge)
			}
		})
	}
}

// TestParseRequestSafeDescriptions checks that client-chosen text reaches
// an error description bounded and without control characters.
func TestParseRequestSafeDescriptions(t *testing.T) {
	name := "\x1b[31m" + strings.Repeat("n", 100) + "\r\n"
	_, err := oauth.ParseRequest(url.Values{"grant_type": {oauth.GrantClientCredentials}, name: {"1", "2"}}, "", "", false)
	var oe *oauth.Error
	if !errors.As(err, &oe) || oe.Code != "invalid_request" {
		t.Fatalf("error %v", err)
	}
	if strings.ContainsFunc(oe.Description, unicode.IsControl) || strings.Contains(oe.Description, strings.Repeat("n", 41)) {
		t.Fatalf("description %q", oe.Description)
	}
}

var supported = []string{oauth.GrantClientCredentials, oauth.GrantTokenExchange}

var errorCodes = []string{"invalid_request", "invalid_client", "invalid_scope", "unsupported_grant_type"}

// FuzzParseRequest feeds arbitrary form bodies and Basic credentials to
// ParseRequest: it must never panic, must refuse with a well-formed OAuth
// error, and must accept only complete requests of a supported grant.
func FuzzParseRequest(f *testing.F) {
	for _, seed := range []struct {
		body, user, pass string
		ok               bool
	}{
		{"grant_type=client_credentials&client_id=c&client_secret=s", "", "", false},
		{"grant_type=client_credentials", "c", "s", true},
		{"grant_type=client_credentials&client_secret=s", "c", "s", true},
		{"grant_type=client_credentials&scope=a+b", "c%41", "%", true},
		{exchangeForm().Encode(), "", "", false},
		{exchangeForm("scope", "a b", "requested_token_type", oauth.TokenTypeAccessToken).Encode(), "", "", false},
		{"grant_type=password&username=a&password=b", "", "", false},
		{"grant_type=a&grant_type=b", "", "", false},
		{"scope=&grant_type=client_credentials&client_id=%00&client_secret=%ff", "", "", false},
		{"", "", "", false},
		{"&&==&;", "", "", true},
	} {
		f.Add(seed.body, seed.user, seed.pass, seed.ok)
	}
	f.Fuzz(func(t *testing.T, body, user, pass string, basicOK bool) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return // the HTTP layer refuses malformed forms before parsing
		}
		r, err := oauth.ParseRequest(form, user, pass, basicOK)
		if err != nil {
			var oe *oauth.Error
			if !errors.As(err, &oe) {
				t.Fatalf("error %T %v is not an *oauth.Error", err, err)
			}
			if !slices.Contains(errorCodes, oe.Code) || oe.Status != 400 && oe.Status != 401 ||
				(oe.Status == 401) != (oe.Code == "invalid_client") || oe.Basic && oe.Code != "invalid_client" {
				t.Fatalf("malformed error %+v for %q", oe, body)
			}
			if strings.ContainsFunc(oe.Description, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("control characters in %q", oe.Description)
			}
			return
		}
		if !slices.Contains(supported, r.GrantType) || r.GrantType != form.Get("grant_type") {
			t.Fatalf("accepted grant type %q", r.GrantType)
		}
		for name, vs := range form {
			if len(vs) != 1 {
				t.Fatalf("accepted %s %d times", name, len(vs))
			}
		}
		if _, given := form["scope"]; given != r.ScopeGiven || len(r.Scope) > 64 {
			t.Fatalf("scope given=%v parsed %v from %q", given, r.Scope, form["scope"])
		}
		for _, s := range r.Scope {
			if s == "" || strings.ContainsAny(s, " \t\r\n") {
				t.Fatalf("scope entry %q", s)
			}
		}
		if basicOK && form.Get("client_secret") != "" {
			t.Fatal("accepted Basic together with a form client_secret")
		}
		if r.BasicAuth != basicOK {
			t.Fatalf("BasicAuth = %v with Basic credentials %v", r.BasicAuth, basicOK)
		}
		switch r.GrantType {
		case oauth.GrantClientCredentials:
			if r.ClientID == "" || r.ClientSecret == "" {
				t.Fatalf("client credentials without client: %+v", r)
			}
			if basicOK {
				u, _ := url.QueryUnescape(user)
				p, _ := url.QueryUnescape(pass)
				if r.ClientID != u || r.ClientSecret != p {
					t.Fatalf("Basic %q:%q became %q:%q", user, pass, r.ClientID, r.ClientSecret)
				}
			}
		case oauth.GrantTokenExchange:
			if r.SubjectToken == "" || r.ActorToken == "" || r.ActorTokenType != oauth.TokenTypeAPIKey ||
				r.SubjectTokenType != oauth.TokenTypeAccessToken && r.SubjectTokenType != oauth.TokenTypeJWT ||
				r.RequestedTokenType != "" && r.RequestedTokenType != oauth.TokenTypeAccessToken {
				t.Fatalf("incomplete token exchange accepted: %+v", r)
			}
		}
	})
}
