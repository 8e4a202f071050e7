package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// fuzzAuthorizeRequest mirrors what POST /v1/authorize accepts, decoded as
// strictly, to judge independently of the handler whether a body is a
// well-formed question.
type fuzzAuthorizeRequest struct {
	TenantID   string             `json:"tenant_id"`
	Principal  string             `json:"principal"`
	Action     string             `json:"action"`
	Resource   policy.ResourceRef `json:"resource"`
	OnBehalfOf string             `json:"on_behalf_of"`
	Context    map[string]any     `json:"context"`
	Entities   []struct {
		Type    string               `json:"type"`
		ID      string               `json:"id"`
		Parents []policy.ResourceRef `json:"parents"`
		Attrs   map[string]any       `json:"attrs"`
	} `json:"entities"`
}

func fuzzValidID(id string) bool {
	if id == "" || len(id) > policy.MaxIDLen || !utf8.ValidString(id) {
		return false
	}
	return !strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || (r >= 0x7f && r <= 0x9f) })
}

// wellFormed reports whether body is a question the engine can evaluate:
// one JSON object of known fields, a known action and resource type, valid
// ids, at most 100 channels or tools as entities, and only ip in context.
// Only such a question may be permitted.
func wellFormed(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var in fuzzAuthorizeRequest
	if dec.Decode(&in) != nil || dec.More() {
		return false
	}
	actions := []string{"READ", "SEND_MESSAGE", "MANAGE", "EXECUTE_TOOL", "MANAGE_AGENT", "VIEW_USAGE", "VIEW_TENANT",
		"MANAGE_TENANT", "MANAGE_MEMBERS", "MANAGE_ROLES", "MANAGE_API_KEYS", "MANAGE_POLICIES", "MANAGE_OWNERS"}
	types := []string{"channel", "tool", "agent", "usage", "tenant"}
	if !slices.Contains(actions, in.Action) || !slices.Contains(types, in.Resource.Type) || !fuzzValidID(in.Resource.ID) ||
		len(in.Entities) > policy.MaxRequestEntities {
		return false
	}
	for k := range in.Context {
		if k != "ip" {
			return false
		}
	}
	for _, e := range in.Entities {
		if (e.Type != "channel" && e.Type != "tool") || !fuzzValidID(e.ID) {
			return false
		}
	}
	return true
}

// FuzzAuthorizeRequest sends arbitrary bodies to POST /v1/authorize through
// the real server, as a member of a tenant, a member of another tenant and
// a service holding authz:check. The answer is never a 5xx; a 200 is a
// permit or a deny with reasons and a decision id; and a permit answers
// only a well-formed question, without errors or reserved reasons.
func FuzzAuthorizeRequest(f *testing.F) {
	ts := newTestServerWithConfig(f, sqlitetest.Open(f), func(c *config.Config) {
		c.RateLimitIP, c.RateLimitLogin, c.RateLimitLoginAccount, c.RateLimitToken = "off", "off", "off", "off"
		c.RateLimitTenant, c.RateLimitActor, c.RateLimitService = "off", "off", "off"
	})
	ctx := context.Background()
	owner, member, outsider := ts.user("owner@a.example", false), ts.user("member@a.example", false), ts.user("owner@b.example", false)
	ts.user("root@platform.example", true)
	ta, err := ts.app.Identity.CreateTenant(ctx, owner.ActorID(), identity.NewTenant{Slug: "tenant-a", Name: "A"})
	if err != nil {
		f.Fatal(err)
	}
	tb, err := ts.app.Identity.CreateTenant(ctx, outsider.ActorID(), identity.NewTenant{Slug: "tenant-b", Name: "B"})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := ts.app.Identity.AddMember(ctx, identity.Caller{ActorID: owner.ActorID()}, ta.ID,
		identity.NewMember{ActorID: member.ActorID(), Roles: []string{"member"}}); err != nil {
		f.Fatal(err)
	}
	ownerTok := ts.login(owner.Email, ta.ID).str("access_token")
	tokens := []string{ts.login(member.Email, ta.ID).str("access_token"), ts.login(outsider.Email, tb.ID).str("access_token")}
	root := ts.login("root@platform.example", "").str("access_token")
	r := ts.do("POST", "/v1/services", root, map[string]any{"name": "messaging", "scopes": []string{"authz:check", "authz:write"}, "tenants": []string{"*"}})
	if r.status != http.StatusCreated {
		f.Fatalf("registering a service: %s", r.raw)
	}
	svc := ts.postForm("/oauth/token", basicAuth(r.str("client_id"), r.str("client_secret")), map[string][]string{"grant_type": {"client_credentials"}})
	tokens = append(tokens, svc.str("access_token"))
	r = ts.do("PUT", resourcePath(ta.ID, "channel", seedChannel), ownerTok, map[string]any{"attrs": map[string]any{"members": []string{member.ActorID()}}})
	if r.status != http.StatusOK {
		f.Fatalf("registering the channel: %s", r.raw)
	}

	for _, seed := range []string{
		`{"action":"SEND_MESSAGE","resource":{"type":"channel","id":"` + seedChannel + `"}}`,
		`{"tenant_id":"` + ta.ID + `","principal":"` + member.ActorID() + `","action":"READ","resource":{"type":"channel","id":"` + seedChannel + `"}}`,
		`{"action":"EXECUTE_TOOL","resource":{"type":"tool","id":"t"},"entities":[{"type":"tool","id":"t","attrs":{"roles":["member"]}}]}`,
		`{"action":"READ","resource":{"type":"channel","id":"c"},"entities":[{"type":"channel","id":"c","parents":[{"type":"channel","id":"c"}],"attrs":{"members":[1,2.5,null,{"a":[]}]}}]}`,
		`{"action":"VIEW_USAGE","resource":{"type":"usage","id":"tenant"},"context":{"ip":"10.0.0.1"}}`,
		`{"action":"MANAGE_AGENT","resource":{"type":"agent","id":"x"},"on_behalf_of":"user:1"}`,
		`{"action":"VIEW_TENANT","resource":{"type":"tenant","id":"` + ta.ID + `"},"context":{"ip":"::1/64","time":1}}`,
		`{"action":"READ","resource":{"type":"channel","id":"a\u0000b"}}`,
		`{"ACTION":"READ","Resource":{"TYPE":"channel","id":"x"}}`,
		`{"action":"READ","resource":{"type":"channel","id":"x"}} {}`,
		`{"action":["READ"]}`, `[]`, `null`, `{}`, ``, `{"action":"READ","resource":{"type":"channel","id":"x"},"entities":null,"context":null}`,
		`{"action":"READ","resource":{"type":"channel","id":"x"},"entities":[{"type":"channel","id":"x","attrs":{"members":[9223372036854775808]}}]}`,
	} {
		for who := range len(tokens) {
			f.Add([]byte(seed), uint8(who))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, who uint8) {
		req := httptest.NewRequest("POST", "/v1/authorize", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tokens[int(who)%len(tokens)])
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		ts.app.API.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%d for %q: %s", rec.Code, body, rec.Body)
		}
		if rec.Code != http.StatusOK {
			var p map[string]any
			if json.Unmarshal(rec.Body.Bytes(), &p) != nil || p["code"] == nil || rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d without a problem for %q: %s", rec.Code, body, rec.Body)
			}
			return
		}
		var d decisionOfFuzz
		if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
			t.Fatalf("200 that is not a decision: %s", rec.Body)
		}
		switch {
		case d.Decision != policy.Permit && d.Decision != policy.Deny:
			t.Fatalf("decision %q for %q", d.Decision, body)
		case len(d.Reasons) == 0 || d.DecisionID == "" || d.Errors == nil:
			t.Fatalf("incomplete decision for %q: %s", body, rec.Body)
		case d.Decision == policy.Deny:
			return
		case !wellFormed(body):
			t.Fatalf("a permit for a malformed question %q: %s", body, rec.Body)
		case len(d.Errors) != 0:
			t.Fatalf("a permit with errors for %q: %s", body, rec.Body)
		}
		for _, reason := range d.Reasons {
			if slices.Contains([]string{policy.ReasonDefaultDeny, policy.ReasonEvaluationError, policy.ReasonUnavailable, policy.ReasonInvalidRequest}, reason) {
				t.Fatalf("a permit for reason %q for %q", reason, body)
			}
		}
	})
}

type decisionOfFuzz struct {
	Decision   string   `json:"decision"`
	Reasons    []string `json:"reasons"`
	Errors     []string `json:"errors"`
	DecisionID string   `json:"decision_id"`
}
