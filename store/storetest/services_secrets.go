package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/store"
)

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

func secretIDs(l []serviceaccount.Secret) []string {
	out := []string{}
	for _, sc := range l {
		out = append(out, sc.ID)
	}
	return out
}

func testServiceRotateWithoutGraceRevokesOld(t *testing.T, s store.Store) {
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
}

func testServiceRotateWithGraceExpiresOld(t *testing.T, s store.Store) {
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
}

func testServiceRotateSecretIDTakenRevokesNothing(t *testing.T, s store.Store) {
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
}

func testServiceConcurrentRotationsLeaveOneLive(t *testing.T, s store.Store) {
	ctx := t.Context()
	newService(t, s, "svc1", "mailer")
	const n = 8
	errs := make([]error, n)
	all := []string{"svc1-0"}
	race(t, n, func(i int) func() {
		id := fmt.Sprintf("svc1-r%d", i)
		all = append(all, id)
		return func() { _, errs[i] = s.RotateServiceSecret(ctx, "svc1", secret(id, "svc1", at(time.Hour)), nil) }
	}, s)
	for _, err := range errs {
		must(t, err)
	}
	// Each rotation ended every other secret, so exactly one is left.
	if live := liveSecrets(t, s, at(time.Hour), all...); len(live) != 1 {
		t.Errorf("live secrets after %d concurrent rotations: %v, want exactly one", n, live)
	}
}
