package storetest

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
)

func testServiceDeleteRevokesSecretsAndKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:alice")
	newTenant(t, s, "tb", "user:bob")
	newService(t, s, "svc1", "mailer")
	newService(t, s, "svc2", "runtime")
	ok(s.RotateServiceSecret(ctx, "svc1", secret("svc1-1", "svc1", at(time.Minute)), nil))(t)
	ok(s.RotateServiceSecret(ctx, "svc1", secret("svc1-2", "svc1", at(2*time.Minute)), ptr(at(time.Hour))))(t)
	// The service's keys in two tenants, one already revoked; other
	// actors' keys, one with a name that merely starts the same.
	newAPIKey(t, s, "k1", "ta", "service:mailer")
	newAPIKey(t, s, "k2", "tb", "service:mailer")
	newAPIKey(t, s, "k3", "ta", "service:mailer")
	must(t, s.RevokeAPIKey(ctx, "k3", at(time.Minute)))
	newAPIKey(t, s, "k4", "ta", "service:runtime")
	newAPIKey(t, s, "k5", "ta", "service:mailer2")
	newAPIKey(t, s, "k6", "ta", "user:mailer")

	revoked := ok(s.DeleteService(ctx, "svc1", at(30*time.Minute)))(t)
	check(t, "revoked", revoked, []string{"k1", "k2", "svc1-1", "svc1-2"})
	_, err := s.GetService(ctx, "svc1")
	wantNotFound(t, err, "service_not_found")
	_, err = s.GetServiceByName(ctx, "mailer")
	wantNotFound(t, err, "service_not_found")
	check(t, "ListServices", serviceIDs(ok(s.ListServices(ctx, pageAll))(t)), []string{"svc2"})

	// The secrets stay, revoked, for the revocation feed.
	for _, id := range []string{"svc1-1", "svc1-2"} {
		if sc := ok(s.GetServiceSecret(ctx, id))(t); sc.RevokedAt == nil || !sc.RevokedAt.Equal(us(at(30*time.Minute))) {
			t.Errorf("%s: revoked at %v, want +30m", id, sc.RevokedAt)
		}
	}
	// svc1-0 was revoked by the rotation and keeps that time.
	if sc := ok(s.GetServiceSecret(ctx, "svc1-0"))(t); sc.RevokedAt == nil || !sc.RevokedAt.Equal(us(at(time.Minute))) {
		t.Errorf("svc1-0: revoked at %v, want +1m", sc.RevokedAt)
	}
	wantRevokedAt(t, s, "k1", at(30*time.Minute))
	wantRevokedAt(t, s, "k2", at(30*time.Minute))
	wantRevokedAt(t, s, "k3", at(time.Minute))
	for _, id := range []string{"k4", "k5", "k6"} {
		if k := ok(s.GetAPIKey(ctx, id))(t); k.RevokedAt != nil {
			t.Errorf("%s revoked with service mailer", id)
		}
	}
	check(t, "svc2", liveSecrets(t, s, at(30*time.Minute), "svc2-0"), []string{"svc2-0"})

	_, err = s.DeleteService(ctx, "svc1", at(time.Hour))
	wantNotFound(t, err, "service_not_found")
	_, err = s.RotateServiceSecret(ctx, "svc1", secret("svc1-3", "svc1", at(time.Hour)), nil)
	wantNotFound(t, err, "service_not_found")
	// The name is free again.
	newService(t, s, "svc3", "mailer")
}

func testServiceDeleteWithoutKeysRevokesSecrets(t *testing.T, s store.Store) {
	newService(t, s, "svc1", "mailer")
	check(t, "revoked", ok(s.DeleteService(t.Context(), "svc1", at(time.Hour)))(t), []string{"svc1-0"})
}
