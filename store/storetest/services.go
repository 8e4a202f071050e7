package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/store"
)

func service(id, name string) serviceaccount.Service {
	return serviceaccount.Service{
		ID: id, Name: name, Description: "Service " + name, Scopes: []string{"messages:send", "agents:read"},
		Tenants: []string{"tenant-1", "tenant-2"}, ResourceTypes: []string{"*"}, Status: serviceaccount.Active, CreatedAt: at(30 * time.Second), UpdatedAt: at(31 * time.Second),
	}
}

func secret(id, serviceID string, created time.Time) serviceaccount.Secret {
	return serviceaccount.Secret{ID: id, ServiceID: serviceID, Hash: hash("secret-" + id), CreatedAt: created}
}

func truncService(sv serviceaccount.Service) serviceaccount.Service {
	sv.CreatedAt, sv.UpdatedAt = us(sv.CreatedAt), us(sv.UpdatedAt)
	return sv
}

func truncSecret(sc serviceaccount.Secret) serviceaccount.Secret {
	sc.CreatedAt, sc.ExpiresAt, sc.RevokedAt = us(sc.CreatedAt), usp(sc.ExpiresAt), usp(sc.RevokedAt)
	return sc
}

// newService creates service id called name with first secret id+"-0"
// created at t0.
func newService(t *testing.T, s store.Store, id, name string) serviceaccount.Service {
	t.Helper()
	sv := service(id, name)
	must(t, s.CreateService(t.Context(), sv, secret(id+"-0", id, at(0))))
	return sv
}

func serviceIDs(l []serviceaccount.Service) []string {
	out := []string{}
	for _, sv := range l {
		out = append(out, sv.ID)
	}
	return out
}

func serviceTests() []test {
	return []test{
		{"CreateAndGet", testServiceCreateAndGet},
		{"NameTakenStoresNothing", testServiceNameTakenStoresNothing},
		{"DuplicateIDsConflict", testServiceDuplicateIDsConflict},
		{"UnknownNotFound", testServiceUnknownNotFound},
		{"UpdateKeepsName", testServiceUpdateKeepsName},
		{"ListPagesByID", testServiceListPagesByID},
		{"RotateWithoutGraceRevokesOld", testServiceRotateWithoutGraceRevokesOld},
		{"RotateWithGraceExpiresOld", testServiceRotateWithGraceExpiresOld},
		{"RotateSecretIDTakenRevokesNothing", testServiceRotateSecretIDTakenRevokesNothing},
		{"ConcurrentRotationsLeaveOneLive", testServiceConcurrentRotationsLeaveOneLive},
		{"DeleteRevokesSecretsAndKeys", testServiceDeleteRevokesSecretsAndKeys},
		{"DeleteWithoutKeysRevokesSecrets", testServiceDeleteWithoutKeysRevokesSecrets},
		{"StringsRoundTrip", testServiceStringsRoundTrip},
	}
}

func testServiceCreateAndGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	sv := service("svc1", "mailer")
	// The first secret belongs to the new service whatever ServiceID
	// it carries.
	first := secret("sec1", "", at(0))
	must(t, s.CreateService(ctx, sv, first))
	check(t, "GetService", ok(s.GetService(ctx, "svc1"))(t), truncService(sv))
	check(t, "GetServiceByName", ok(s.GetServiceByName(ctx, "mailer"))(t), truncService(sv))
	first.ServiceID = "svc1"
	check(t, "GetServiceSecret", ok(s.GetServiceSecret(ctx, "sec1"))(t), truncSecret(first))

	// No scopes, no description, disabled; a first secret that
	// already carries an expiry.
	bare := service("svc2", "runtime")
	bare.Scopes, bare.Description, bare.Status = nil, "", serviceaccount.Disabled
	exp := secret("sec2", "svc2", at(0))
	exp.ExpiresAt = ptr(at(time.Hour))
	must(t, s.CreateService(ctx, bare, exp))
	check(t, "bare service", ok(s.GetService(ctx, "svc2"))(t), truncService(bare))
	check(t, "secret with expiry", ok(s.GetServiceSecret(ctx, "sec2"))(t), truncSecret(exp))
}

func testServiceNameTakenStoresNothing(t *testing.T, s store.Store) {
	ctx := t.Context()
	newService(t, s, "svc1", "mailer")
	err := s.CreateService(ctx, service("svc2", "mailer"), secret("svc2-0", "svc2", at(0)))
	wantConflict(t, err, "service_name_taken")
	// Atomic: neither the service nor its secret was stored.
	_, err = s.GetService(ctx, "svc2")
	wantNotFound(t, err, "service_not_found")
	_, err = s.GetServiceSecret(ctx, "svc2-0")
	wantNotFound(t, err, "service_secret_not_found")
}

func testServiceDuplicateIDsConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	newService(t, s, "svc1", "mailer")
	err := s.CreateService(ctx, service("svc1", "other"), secret("x-0", "svc1", at(0)))
	if fault.KindOf(err) != fault.Conflict {
		t.Fatalf("same service id: err = %v, want a conflict", err)
	}
	// A secret id that exists fails the whole create.
	err = s.CreateService(ctx, service("svc2", "other"), secret("svc1-0", "svc2", at(0)))
	if fault.KindOf(err) != fault.Conflict {
		t.Fatalf("same secret id: err = %v, want a conflict", err)
	}
	_, err = s.GetService(ctx, "svc2")
	wantNotFound(t, err, "service_not_found")
	_, err = s.GetServiceByName(ctx, "other")
	wantNotFound(t, err, "service_not_found")
	check(t, "first secret", ok(s.GetServiceSecret(ctx, "svc1-0"))(t), truncSecret(secret("svc1-0", "svc1", at(0))))
}

func testServiceUnknownNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	newService(t, s, "svc1", "mailer")
	_, err := s.GetService(ctx, "nope")
	wantNotFound(t, err, "service_not_found")
	// A name is not an id and an id is not a name.
	_, err = s.GetService(ctx, "mailer")
	wantNotFound(t, err, "service_not_found")
	_, err = s.GetServiceByName(ctx, "svc1")
	wantNotFound(t, err, "service_not_found")
	wantNotFound(t, s.UpdateService(ctx, service("nope", "nope")), "service_not_found")
	_, err = s.GetServiceSecret(ctx, "nope")
	wantNotFound(t, err, "service_secret_not_found")
	_, err = s.RotateServiceSecret(ctx, "nope", secret("x-1", "nope", at(time.Hour)), nil)
	wantNotFound(t, err, "service_not_found")
	_, err = s.GetServiceSecret(ctx, "x-1")
	wantNotFound(t, err, "service_secret_not_found")
	_, err = s.DeleteService(ctx, "nope", at(time.Hour))
	wantNotFound(t, err, "service_not_found")
}

func testServiceUpdateKeepsName(t *testing.T, s store.Store) {
	ctx := t.Context()
	orig := newService(t, s, "svc1", "mailer")
	upd := orig
	upd.Description, upd.Scopes, upd.Status = "Sends mail", []string{"messages:send"}, serviceaccount.Disabled
	upd.Tenants, upd.ResourceTypes = []string{"*"}, []string{"channel", "tool"}
	upd.UpdatedAt = at(time.Hour)
	// Name and created_at are not written: the name is in the actor id.
	upd.Name, upd.CreatedAt = "renamed", at(-time.Hour)
	must(t, s.UpdateService(ctx, upd))
	want := truncService(orig)
	want.Description, want.Scopes, want.Status = "Sends mail", []string{"messages:send"}, serviceaccount.Disabled
	want.Tenants, want.ResourceTypes = []string{"*"}, []string{"channel", "tool"}
	want.UpdatedAt = us(upd.UpdatedAt)
	check(t, "GetService", ok(s.GetService(ctx, "svc1"))(t), want)
	_, err := s.GetServiceByName(ctx, "renamed")
	wantNotFound(t, err, "service_not_found")

	// And back to no scopes.
	upd.Scopes, upd.Status = nil, serviceaccount.Active
	must(t, s.UpdateService(ctx, upd))
	if got := ok(s.GetService(ctx, "svc1"))(t); len(got.Scopes) != 0 || got.Status != serviceaccount.Active {
		t.Errorf("after clearing: scopes %v, status %q", got.Scopes, got.Status)
	}
}

func testServiceListPagesByID(t *testing.T, s store.Store) {
	ctx := t.Context()
	all := ids("svc", 5)
	// Names sort the other way round from ids: the list is by id.
	for i, id := range shuffled(all) {
		newService(t, s, id, fmt.Sprintf("name-%d", 9-i))
	}
	var got []string
	after := ""
	for range 10 {
		page := ok(s.ListServices(ctx, cursor.Page{After: after, Limit: 2}))(t)
		if len(page) > 2 {
			t.Fatalf("page of %d items, limit 2", len(page))
		}
		if len(page) == 0 {
			break
		}
		got = append(got, serviceIDs(page)...)
		after = page[len(page)-1].ID
	}
	check(t, "paged ids", got, all)
	check(t, "zero limit", serviceIDs(ok(s.ListServices(ctx, cursor.Page{}))(t)), all)
	page := ok(s.ListServices(ctx, cursor.Page{After: "svc-03", Limit: 5}))(t)
	check(t, "item", page, []serviceaccount.Service{truncService(ok(s.GetService(ctx, "svc-04"))(t))})
}

func testServiceStringsRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i, v := range nasty {
		id := ids("svc", len(nasty))[i]
		sv := service(id, v)
		sv.Description, sv.Scopes, sv.Tenants, sv.ResourceTypes = v, []string{v}, []string{v}, []string{v, "x"}
		must(t, s.CreateService(ctx, sv, secret(id+"-0", id, at(0))))
		check(t, "by id", ok(s.GetService(ctx, id))(t), truncService(sv))
		check(t, "by name", ok(s.GetServiceByName(ctx, v))(t), truncService(sv))
	}
}
