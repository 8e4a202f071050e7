package credential_test

import (
	"context"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/app"
	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/postgres/pgtest"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// keyFixture is a replica assembled by app.New, as cmd/tollgate does, and an
// API key of an ordinary tenant owner (not a platform admin) created
// through the API key service.
type keyFixture struct {
	app *app.App
	key string
}

func newKeyFixture(b *testing.B, st store.Store, keyCacheTTL time.Duration) keyFixture {
	b.Helper()
	ctx := context.Background()
	cfg := config.Defaults()
	cfg.DataDir = b.TempDir()
	cfg.Argon2MemoryKiB, cfg.Argon2Iterations = 64, 1
	cfg.APIKeyCacheTTL = keyCacheTTL
	mk := make([]byte, 32)
	_, _ = rand.Read(mk)
	a, err := app.New(ctx, cfg, st, mk, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close(context.Background()) })
	hash, err := a.Hasher.Hash(ctx, "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	u, err := a.Identity.CreateUser(ctx, identity.NewUser{Email: "bench@example.com", PasswordHash: hash})
	if err != nil {
		b.Fatal(err)
	}
	tenant, err := a.Identity.CreateTenant(ctx, u.ActorID(), identity.NewTenant{Slug: "bench", Name: "Bench"})
	if err != nil {
		b.Fatal(err)
	}
	owner := identity.ActorContext{ActorID: u.ActorID(), ActorType: identity.ActorHuman, TenantID: tenant.ID, Credential: identity.CredentialSession}
	_, raw, err := a.APIKeys.Create(ctx, owner, apikey.NewKey{
		Name: "bench", TenantID: tenant.ID, Scopes: []string{"tenant:read", "members:read", "agents:read"},
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.Credentials.Resolve(ctx, raw); err != nil {
		b.Fatal(err)
	}
	return keyFixture{app: a, key: raw}
}

// run resolves the key b.N times and reports the 50th and 99th percentile
// latencies beside the mean, as sdk/authn's benchmarks do.
func (f keyFixture) run(b *testing.B) {
	ctx := context.Background()
	lat := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if _, err := f.app.Credentials.Resolve(ctx, f.key); err != nil {
			b.Fatal(err)
		}
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(start))
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkAPIKeyWarm resolves an API key whose record and holder's rights
// are in the resolver's cache: checksum, hash, cache lookup, revocation and
// block checks. No store read.
func BenchmarkAPIKeyWarm(b *testing.B) {
	newKeyFixture(b, sqlitetest.Open(b), time.Hour).run(b)
}

// BenchmarkAPIKeyCold resolves an API key that is never in the cache (its
// entries expire after a nanosecond), so every resolution reads the key and
// its holder's standing in the tenant from the store, as the first use of a
// key on a replica does.
func BenchmarkAPIKeyCold(b *testing.B) {
	for _, be := range []struct {
		name string
		open func(testing.TB) store.Store
	}{
		{"sqlite", func(tb testing.TB) store.Store { return sqlitetest.Open(tb) }},
		{"postgres", func(tb testing.TB) store.Store { return pgtest.Open(tb) }},
	} {
		b.Run(be.name, func(b *testing.B) {
			newKeyFixture(b, be.open(b), time.Nanosecond).run(b)
		})
	}
}
