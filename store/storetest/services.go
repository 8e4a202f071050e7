package storetest

import (
	"fmt"
	"sync"
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
		Status: serviceaccount.Active, CreatedAt: at(30 * time.Second), UpdatedAt: at(31 * time.Second),
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

// liveSecrets lists which of the secret ids are neither revoked nor expired
// at now.
func liveSecrets(t *testing.T, s store.Store, now time.Time, secretIDs ...string) []string {
	t.Helper()
	out := []string{}
	for _, id := range secretIDs {
		sc := ok(s.GetServiceSecret(t.Context(), id))(t)
		if sc.RevokedAt == nil && (sc.ExpiresAt == nil || sc.ExpiresAt.After(now)) {
			out = append(out, id)
		}
	}
	return out
}

func serviceTests() []test {
	return []test{
		{"CreateAndGet", func(t *testing.T, s store.Store) {
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
		}},
		{"NameTaken", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newService(t, s, "svc1", "mailer")
			err := s.CreateService(ctx, service("svc2", "mailer"), secret("svc2-0", "svc2", at(0)))
			wantConflict(t, err, "service_name_taken")
			// Atomic: neither the service nor its secret was stored.
			_, err = s.GetService(ctx, "svc2")
			wantNotFound(t, err, "service_not_found")
			_, err = s.GetServiceSecret(ctx, "svc2-0")
			wantNotFound(t, err, "service_secret_not_found")
		}},
		{"DuplicateIDs", func(t *testing.T, s store.Store) {
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
		}},
		{"NotFound", func(t *testing.T, s store.Store) {
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
		}},
		{"Update", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			orig := newService(t, s, "svc1", "mailer")
			upd := orig
			upd.Description, upd.Scopes, upd.Status = "Sends mail", []string{"messages:send"}, serviceaccount.Disabled
			upd.UpdatedAt = at(time.Hour)
			// Name and created_at are not written: the name is in the actor id.
			upd.Name, upd.CreatedAt = "renamed", at(-time.Hour)
			must(t, s.UpdateService(ctx, upd))
			want := truncService(orig)
			want.Description, want.Scopes, want.Status = "Sends mail", []string{"messages:send"}, serviceaccount.Disabled
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
		}},
		{"ListPages", func(t *testing.T, s store.Store) {
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
		}},
		{"RotateWithoutGrace", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newService(t, s, "svc1", "mailer")
			newService(t, s, "svc2", "runtime")
			// next.ServiceID is ignored in favour of the argument.
			next := secret("svc1-1", "svc2", at(time.Hour))
			prev := ok(s.RotateServiceSecret(ctx, "svc1", next, nil))(t)
			old := secret("svc1-0", "svc1", at(0))
			old.RevokedAt = ptr(at(time.Hour))
			check(t, "previous", prev, []serviceaccount.Secret{truncSecret(old)})
			check(t, "stored previous", ok(s.GetServiceSecret(ctx, "svc1-0"))(t), truncSecret(old))
			next.ServiceID = "svc1"
			check(t, "next", ok(s.GetServiceSecret(ctx, "svc1-1"))(t), truncSecret(next))
			// The other service's secret is untouched.
			check(t, "svc2", liveSecrets(t, s, at(time.Hour), "svc2-0"), []string{"svc2-0"})

			// Already revoked secrets are not revoked again nor returned.
			prev = ok(s.RotateServiceSecret(ctx, "svc1", secret("svc1-2", "svc1", at(2*time.Hour)), nil))(t)
			check(t, "second rotation", secretIDs(prev), []string{"svc1-1"})
			check(t, "first keeps its time", ok(s.GetServiceSecret(ctx, "svc1-0"))(t), truncSecret(old))
			check(t, "live", liveSecrets(t, s, at(2*time.Hour), "svc1-0", "svc1-1", "svc1-2"), []string{"svc1-2"})
		}},
		{"RotateWithGrace", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newService(t, s, "svc1", "mailer")
			prev := ok(s.RotateServiceSecret(ctx, "svc1", secret("svc1-1", "svc1", at(time.Hour)), ptr(at(3*time.Hour))))(t)
			s0 := secret("svc1-0", "svc1", at(0))
			s0.ExpiresAt = ptr(at(3 * time.Hour))
			check(t, "previous", prev, []serviceaccount.Secret{truncSecret(s0)})
			check(t, "stored previous", ok(s.GetServiceSecret(ctx, "svc1-0"))(t), truncSecret(s0))
			check(t, "live", liveSecrets(t, s, at(time.Hour), "svc1-0", "svc1-1"), []string{"svc1-0", "svc1-1"})

			// A second rotation inside the grace returns both older secrets.
			// It never lengthens a grace already running (svc1-0 keeps
			// +3h, not +5h) and may shorten it.
			prev = ok(s.RotateServiceSecret(ctx, "svc1", secret("svc1-2", "svc1", at(2*time.Hour)), ptr(at(5*time.Hour))))(t)
			s1 := secret("svc1-1", "svc1", at(time.Hour))
			s1.ExpiresAt = ptr(at(5 * time.Hour))
			check(t, "second rotation", prev, []serviceaccount.Secret{truncSecret(s0), truncSecret(s1)})
			prev = ok(s.RotateServiceSecret(ctx, "svc1", secret("svc1-3", "svc1", at(150*time.Minute)), ptr(at(4*time.Hour))))(t)
			s1.ExpiresAt = ptr(at(4 * time.Hour))
			s2 := secret("svc1-2", "svc1", at(2*time.Hour))
			s2.ExpiresAt = ptr(at(4 * time.Hour))
			check(t, "third rotation", prev, []serviceaccount.Secret{truncSecret(s0), truncSecret(s1), truncSecret(s2)})

			// Once svc1-0 has expired it is no longer live: a rotation
			// without grace neither returns nor revokes it.
			prev = ok(s.RotateServiceSecret(ctx, "svc1", secret("svc1-4", "svc1", at(3*time.Hour)), nil))(t)
			check(t, "rotation without grace", secretIDs(prev), []string{"svc1-1", "svc1-2", "svc1-3"})
			check(t, "expired one untouched", ok(s.GetServiceSecret(ctx, "svc1-0"))(t), truncSecret(s0))
			for _, id := range []string{"svc1-1", "svc1-2", "svc1-3"} {
				if sc := ok(s.GetServiceSecret(ctx, id))(t); sc.RevokedAt == nil || !sc.RevokedAt.Equal(us(at(3*time.Hour))) {
					t.Errorf("%s: revoked at %v, want +3h", id, sc.RevokedAt)
				}
			}
			check(t, "live", liveSecrets(t, s, at(3*time.Hour), "svc1-0", "svc1-1", "svc1-2", "svc1-3", "svc1-4"), []string{"svc1-4"})
		}},
		{"RotateSecretIDTaken", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newService(t, s, "svc1", "mailer")
			newService(t, s, "svc2", "runtime")
			_, err := s.RotateServiceSecret(ctx, "svc1", secret("svc2-0", "svc1", at(time.Hour)), nil)
			if fault.KindOf(err) != fault.Conflict {
				t.Fatalf("err = %v, want a conflict", err)
			}
			// Atomic: the failed rotation revoked nothing.
			check(t, "live", liveSecrets(t, s, at(time.Hour), "svc1-0", "svc2-0"), []string{"svc1-0", "svc2-0"})
			check(t, "svc2's secret", ok(s.GetServiceSecret(ctx, "svc2-0"))(t), truncSecret(secret("svc2-0", "svc2", at(0))))
		}},
		{"ConcurrentRotations", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newService(t, s, "svc1", "mailer")
			const n = 8
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make([]error, n)
			all := []string{"svc1-0"}
			for i := range n {
				id := fmt.Sprintf("svc1-r%d", i)
				all = append(all, id)
				wg.Go(func() {
					<-start
					_, errs[i] = s.RotateServiceSecret(ctx, "svc1", secret(id, "svc1", at(time.Hour)), nil)
				})
			}
			warmUp(t, s)
			close(start)
			wg.Wait()
			for _, err := range errs {
				must(t, err)
			}
			// Each rotation ended every other secret, so exactly one is left.
			if live := liveSecrets(t, s, at(time.Hour), all...); len(live) != 1 {
				t.Errorf("live secrets after %d concurrent rotations: %v, want exactly one", n, live)
			}
		}},
		{"Delete", func(t *testing.T, s store.Store) {
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
		}},
		{"DeleteWithoutKeys", func(t *testing.T, s store.Store) {
			newService(t, s, "svc1", "mailer")
			check(t, "revoked", ok(s.DeleteService(t.Context(), "svc1", at(time.Hour)))(t), []string{"svc1-0"})
		}},
		{"StringsRoundTrip", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			for i, v := range nasty {
				id := ids("svc", len(nasty))[i]
				sv := service(id, v)
				sv.Description, sv.Scopes = v, []string{v}
				must(t, s.CreateService(ctx, sv, secret(id+"-0", id, at(0))))
				check(t, "by id", ok(s.GetService(ctx, id))(t), truncService(sv))
				check(t, "by name", ok(s.GetServiceByName(ctx, v))(t), truncService(sv))
			}
		}},
	}
}

func secretIDs(l []serviceaccount.Secret) []string {
	out := []string{}
	for _, sc := range l {
		out = append(out, sc.ID)
	}
	return out
}
