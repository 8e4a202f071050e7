package webhook_test

import (
	"errors"
	"testing"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/webhook"
)

// TestServiceRights: who may read and write a tenant's endpoints, through
// which credential; another tenant is not found.
func TestServiceRights(t *testing.T) {
	w := newWorld(t, webhook.WorkerOptions{})
	e, _, err := w.hooks.Create(w.ctx, w.ownerS, w.tenantA, webhook.NewEndpoint{URL: "https://hooks.example.com/a"})
	must(t, err)
	w.addMember(t, w.outsider)
	member := identity.ActorContext{ActorID: w.outsider.ActorID(), TenantID: w.tenantA, Credential: identity.CredentialSession}
	key := func(tenant string, perms ...string) identity.ActorContext {
		return identity.ActorContext{ActorID: w.owner.ActorID(), TenantID: tenant, Credential: identity.CredentialAPIKey, CredentialID: "k", Permissions: perms}
	}
	for _, c := range []struct {
		name        string
		ac          identity.ActorContext
		tenant      string
		read, write fault.Code // "" allowed
	}{
		{"owner's session", w.ownerS, w.tenantA, "", ""},
		{"member's session", member, w.tenantA, identity.CodePermissionDenied, identity.CodePermissionDenied},
		{"key with webhooks:read", key(w.tenantA, "webhooks:read"), w.tenantA, "", identity.CodePermissionDenied},
		{"key with both", key(w.tenantA, "webhooks:read", "webhooks:write"), w.tenantA, "", ""},
		{"key of another tenant", key(w.tenantB, "webhooks:read", "webhooks:write"), w.tenantA, identity.CodeTenantNotFound, identity.CodeTenantNotFound},
		{"other tenant's owner", w.outB, w.tenantA, identity.CodeTenantNotFound, identity.CodeTenantNotFound},
		{"malformed tenant", w.ownerS, "not an id", identity.CodeTenantNotFound, identity.CodeTenantNotFound},
	} {
		_, err := w.hooks.Get(w.ctx, c.ac, c.tenant, e.ID)
		wantCode(t, c.name+": read", err, c.read)
		desc := "changed"
		_, err = w.hooks.Update(w.ctx, c.ac, c.tenant, e.ID, webhook.EndpointPatch{Description: &desc})
		wantCode(t, c.name+": write", err, c.write)
	}
	// The other tenant's owner, in their own tenant, does not find it.
	_, err = w.hooks.Get(w.ctx, w.outB, w.tenantB, e.ID)
	wantCode(t, "own tenant, other's endpoint", err, webhook.CodeWebhookNotFound)
}

// TestServiceBadInput: every rule of the input, and the cap on endpoints.
func TestServiceBadInput(t *testing.T) {
	w := newWorld(t, webhook.WorkerOptions{})
	create := func(in webhook.NewEndpoint) error {
		_, _, err := w.hooks.Create(w.ctx, w.ownerS, w.tenantA, in)
		return err
	}
	long := make([]byte, 501)
	for i := range long {
		long[i] = 'a'
	}
	tooMany := make([]string, 65)
	for i := range tooMany {
		tooMany[i] = webhook.TypeMemberAdded
	}
	for _, c := range []struct {
		name string
		in   webhook.NewEndpoint
		code fault.Code
	}{
		{"no url", webhook.NewEndpoint{}, webhook.CodeInvalidWebhookURL},
		{"internal url", webhook.NewEndpoint{URL: "http://192.168.0.1/"}, webhook.CodeWebhookURLForbidden},
		{"unknown type", webhook.NewEndpoint{URL: "https://h.example/", EventTypes: []string{"webhook.test"}}, webhook.CodeUnknownEventType},
		{"too many types", webhook.NewEndpoint{URL: "https://h.example/", EventTypes: tooMany}, webhook.CodeUnknownEventType},
		{"long description", webhook.NewEndpoint{URL: "https://h.example/", Description: string(long)}, webhook.CodeInvalidDescription},
	} {
		wantCode(t, c.name, create(c.in), c.code)
	}
	e, _, err := w.hooks.Create(w.ctx, w.ownerS, w.tenantA, webhook.NewEndpoint{URL: "https://h.example/",
		EventTypes: []string{webhook.TypeMemberRemoved, webhook.TypeMemberAdded, webhook.TypeMemberAdded}})
	must(t, err)
	if len(e.EventTypes) != 2 || e.EventTypes[0] != webhook.TypeMemberAdded {
		t.Fatalf("event types %v: want sorted without repeats", e.EventTypes)
	}
	for _, s := range []int64{-1, 7*24*3600 + 1} {
		_, _, err := w.hooks.Rotate(w.ctx, w.ownerS, w.tenantA, e.ID, &s)
		wantCode(t, "overlap", err, webhook.CodeInvalidOverlap)
	}
	paused := webhook.Status("paused")
	_, err = w.hooks.Update(w.ctx, w.ownerS, w.tenantA, e.ID, webhook.EndpointPatch{Status: &paused})
	wantCode(t, "status", err, webhook.CodeInvalidWebhookStatus)
	_, err = w.hooks.Redeliver(w.ctx, w.ownerS, w.tenantA, e.ID, "not-an-id")
	wantCode(t, "malformed delivery id", err, webhook.CodeDeliveryNotFound)

	capped := webhook.NewService(webhook.Deps{Store: w.st, Rights: w.idents, Sealer: sealerFor(t)}, webhook.Options{MaxPerTenant: 1})
	_, _, err = capped.Create(w.ctx, w.ownerS, w.tenantA, webhook.NewEndpoint{URL: "https://h.example/2"})
	wantCode(t, "over the cap", err, identity.CodeLimitReached)
}

func wantCode(t *testing.T, what string, err error, code fault.Code) {
	t.Helper()
	switch {
	case code == "" && err != nil:
		t.Errorf("%s: %v", what, err)
	case code != "" && codeOf(err) != code:
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

func codeOf(err error) fault.Code {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	return ""
}
