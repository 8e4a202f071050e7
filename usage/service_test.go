package usage

import (
	"errors"
	"testing"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

// TestReportCredentials covers who may report and for which tenants. Only
// refusals are checked here: every event of these batches is refused
// before the store, which the conformance suite and httpapi cover.
func TestReportCredentials(t *testing.T) {
	svc := NewService(Deps{}, Options{})
	ofTenant := func(tenant string) []Decoded {
		m := good()
		if tenant == "" {
			delete(m, "tenant")
		} else {
			m["tenant"] = tenant
		}
		e, err := Decode(encode(t, m))
		if err != nil {
			t.Fatal(err)
		}
		return []Decoded{{Event: e}}
	}
	key := identity.ActorContext{ActorID: "user:1", ActorType: identity.ActorHuman, TenantID: "t1", Credential: identity.CredentialAPIKey, Permissions: []string{"usage:write"}}
	svcToken := identity.ActorContext{ActorID: "service:meter", ActorType: identity.ActorService, Credential: identity.CredentialClientCredentials, Scopes: []string{"usage:write"}, Tenants: []string{"t1"}}
	for _, c := range []struct {
		name  string
		ac    identity.ActorContext
		batch []Decoded
		// code is the refusal of the request, or "" when the event alone
		// is rejected with eventCode.
		code, eventCode fault.Code
	}{
		{"a session", identity.ActorContext{ActorID: "user:1", TenantID: "t1", Credential: identity.CredentialSession, Permissions: []string{"usage:write"}}, ofTenant("t1"), CodeWriterRequired, ""},
		{"a delegated token", identity.ActorContext{ActorID: "agent:1", TenantID: "t1", Credential: identity.CredentialDelegation, Permissions: []string{"usage:write"}}, ofTenant("t1"), CodeWriterRequired, ""},
		{"a key without usage:write", identity.ActorContext{TenantID: "t1", Credential: identity.CredentialAPIKey, Permissions: []string{"usage:read"}}, ofTenant("t1"), identity.CodePermissionDenied, ""},
		{"a service without the scope", identity.ActorContext{Credential: identity.CredentialClientCredentials, Scopes: []string{"authz:check"}, Tenants: []string{"*"}}, ofTenant("t1"), identity.CodeScopeRequired, ""},
		{"a key writing another tenant", key, ofTenant("t2"), "", CodeTenantNotAllowed},
		{"a service outside its reach", svcToken, ofTenant("t2"), "", CodeTenantNotAllowed},
		{"a service not naming the tenant", svcToken, ofTenant(""), "", CodeInvalidEvent},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := svc.Report(t.Context(), c.ac, c.batch)
			if c.code != "" {
				var fe *fault.Error
				if !errors.As(err, &fe) || fe.Code != c.code || fe.Kind != fault.Forbidden {
					t.Fatalf("Report = %v, want 403 %s", err, c.code)
				}
				return
			}
			if err != nil || len(res.Rejected) != 1 || res.Rejected[0].Code != string(c.eventCode) || res.Statuses[0] != Rejected {
				t.Fatalf("Report = %+v, %v; want the event rejected with %s", res, err, c.eventCode)
			}
		})
	}
}
