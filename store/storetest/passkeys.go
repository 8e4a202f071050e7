package storetest

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/store"
)

func passkeyTests() []test {
	return []test{
		{"RoundTrip", testPasskeyRoundTrip},
		{"CappedPerUser", testPasskeyCappedPerUser},
		{"CredentialUnique", testPasskeyCredentialUnique},
		{"OwnerOnly", testPasskeyOwnerOnly},
		{"CounterMovesForward", testPasskeyCounterMovesForward},
		{"CounterRaceOneWins", testPasskeyCounterRaceOneWins},
		{"CeremonyTakenOnce", testPasskeyCeremonyTakenOnce},
	}
}

func passkey(id, userID, cred string) session.Passkey {
	return session.Passkey{
		ID: id, UserID: userID, CredentialID: []byte("cred-" + cred), PublicKey: []byte("cose-" + cred),
		SignCount: 7, AAGUID: []byte("0123456789abcdef"), Transports: []string{"hybrid", "internal"},
		UserVerified: true, BackupEligible: true, BackupState: false, AttestationType: "none",
		Name: "Key " + id, CreatedAt: at(time.Second),
	}
}

// testPasskeyRoundTrip: a passkey reads back as written; a use and a
// rename show.
func testPasskeyRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, user("u1", "a@x.example")))
	if got := ok(s.ListPasskeys(ctx, "u1"))(t); len(got) != 0 {
		t.Fatalf("no passkeys: %+v", got)
	}
	p := passkey("p1", "u1", "1")
	must(t, s.CreatePasskey(ctx, p, 10))
	p2 := passkey("p2", "u1", "2")
	p2.AAGUID, p2.Transports = nil, nil
	must(t, s.CreatePasskey(ctx, p2, 10))
	want := p
	want.CreatedAt = us(p.CreatedAt)
	got := ok(s.ListPasskeys(ctx, "u1"))(t)
	if len(got) != 2 || !reflect.DeepEqual(got[0], want) || got[1].ID != "p2" || len(got[1].AAGUID) != 0 || got[1].Transports != nil {
		t.Fatalf("list %+v\nwant first %+v", got, want)
	}
	if !ok(s.UsePasskey(ctx, "u1", []byte("cred-1"), 8, true, at(time.Hour)))(t) {
		t.Fatal("use refused")
	}
	r := ok(s.RenamePasskey(ctx, "u1", "p1", "Laptop"))(t)
	if r.Name != "Laptop" || r.SignCount != 8 || !r.BackupState || r.LastUsedAt == nil || !r.LastUsedAt.Equal(us(at(time.Hour))) {
		t.Fatalf("after use and rename %+v", r)
	}
}

// testPasskeyCappedPerUser: a user's passkeys stop at the cap; another
// user's count apart; an unknown user has none to add to.
func testPasskeyCappedPerUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, user("u1", "a@x.example")))
	must(t, s.CreateUser(ctx, user("u2", "b@x.example")))
	for i := range 3 {
		must(t, s.CreatePasskey(ctx, passkey(fmt.Sprintf("p%d", i), "u1", fmt.Sprint(i)), 3))
	}
	wantConflict(t, s.CreatePasskey(ctx, passkey("p9", "u1", "9"), 3), session.CodePasskeyLimit)
	must(t, s.CreatePasskey(ctx, passkey("q1", "u2", "q1"), 3))
	must(t, s.DeletePasskey(ctx, "u1", "p0"))
	must(t, s.CreatePasskey(ctx, passkey("p9", "u1", "9"), 3))
	if err := s.CreatePasskey(ctx, passkey("x1", "nobody", "x1"), 3); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("passkey of an unknown user: %v", err)
	}
}

// testPasskeyCredentialUnique: one authenticator credential is one
// passkey, across users.
func testPasskeyCredentialUnique(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, user("u1", "a@x.example")))
	must(t, s.CreateUser(ctx, user("u2", "b@x.example")))
	must(t, s.CreatePasskey(ctx, passkey("p1", "u1", "same"), 10))
	wantConflict(t, s.CreatePasskey(ctx, passkey("p2", "u2", "same"), 10), session.CodePasskeyExists)
	wantConflict(t, s.CreatePasskey(ctx, passkey("p3", "u1", "same"), 10), session.CodePasskeyExists)
}

// testPasskeyOwnerOnly: renaming, deleting and using go through the
// owner: another user's id matches nothing.
func testPasskeyOwnerOnly(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, user("u1", "a@x.example")))
	must(t, s.CreateUser(ctx, user("u2", "b@x.example")))
	must(t, s.CreatePasskey(ctx, passkey("p1", "u1", "1"), 10))
	if _, err := s.RenamePasskey(ctx, "u2", "p1", "mine"); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("rename of another's: %v", err)
	}
	if err := s.DeletePasskey(ctx, "u2", "p1"); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("delete of another's: %v", err)
	}
	if ok(s.UsePasskey(ctx, "u2", []byte("cred-1"), 100, false, at(time.Hour)))(t) {
		t.Fatal("use of another's passkey recorded")
	}
	if got := ok(s.ListPasskeys(ctx, "u2"))(t); len(got) != 0 {
		t.Fatalf("u2 sees %+v", got)
	}
	got := ok(s.ListPasskeys(ctx, "u1"))(t)
	if len(got) != 1 || got[0].Name != "Key p1" || got[0].SignCount != 7 {
		t.Fatalf("u1's passkey changed: %+v", got)
	}
	must(t, s.DeletePasskey(ctx, "u1", "p1"))
	if err := s.DeletePasskey(ctx, "u1", "p1"); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("second delete: %v", err)
	}
}

// testPasskeyCounterMovesForward: a use must move the counter forward,
// unless the authenticator does not count (0 stored and given).
func testPasskeyCounterMovesForward(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, user("u1", "a@x.example")))
	must(t, s.CreatePasskey(ctx, passkey("p1", "u1", "1"), 10))
	zero := passkey("p2", "u1", "2")
	zero.SignCount = 0
	must(t, s.CreatePasskey(ctx, zero, 10))
	for _, c := range []struct {
		cred  string
		count uint32
		want  bool
	}{
		{"1", 7, false}, // equal: a replay or a clone
		{"1", 6, false}, // backwards
		{"1", 9, true},
		{"1", 0, false}, // a counting authenticator stopped counting
		{"2", 0, true},
		{"2", 0, true},
		{"2", 3, true}, // began counting
		{"2", 0, false},
	} {
		if got := ok(s.UsePasskey(ctx, "u1", []byte("cred-"+c.cred), c.count, false, at(time.Hour)))(t); got != c.want {
			t.Errorf("use of %s at %d: %v, want %v", c.cred, c.count, got, c.want)
		}
	}
}

// testPasskeyCounterRaceOneWins: of many uses with one counter value at
// once, exactly one is recorded.
func testPasskeyCounterRaceOneWins(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, user("u1", "a@x.example")))
	must(t, s.CreatePasskey(ctx, passkey("p1", "u1", "1"), 10))
	warmUp(t, s)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Go(func() {
			used, err := s.UsePasskey(ctx, "u1", []byte("cred-1"), 8, false, at(time.Hour))
			if err != nil {
				t.Error(err)
			}
			if used {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d uses recorded, want 1", wins)
	}
}

// testPasskeyCeremonyTakenOnce: a ceremony reads back once, before it
// expires; DeleteExpired sweeps the expired.
func testPasskeyCeremonyTakenOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := session.PasskeyCeremony{Kind: session.CeremonyMFA, UserID: "u1", Binding: "b1", State: []byte(`{"challenge":"x"}`), CreatedAt: at(0), ExpiresAt: at(5 * time.Minute)}
	must(t, s.CreatePasskeyCeremony(ctx, c, tokenHash("c1")))
	must(t, s.CreatePasskeyCeremony(ctx, session.PasskeyCeremony{Kind: session.CeremonyLogin, State: []byte("{}"), CreatedAt: at(0), ExpiresAt: at(time.Minute)}, tokenHash("c2")))
	got := ok(s.TakePasskeyCeremony(ctx, tokenHash("c1"), at(time.Minute)))(t)
	want := c
	want.CreatedAt, want.ExpiresAt = us(c.CreatedAt), us(c.ExpiresAt)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ceremony %+v, want %+v", got, want)
	}
	for name, hash := range map[string]string{"taken": "c1", "expired": "c2", "unknown": "c3"} {
		if _, err := s.TakePasskeyCeremony(ctx, tokenHash(hash), at(time.Minute)); fault.KindOf(err) != fault.NotFound {
			t.Errorf("%s: %v", name, err)
		}
	}
	must(t, s.CreatePasskeyCeremony(ctx, session.PasskeyCeremony{Kind: session.CeremonyLogin, State: []byte("{}"), CreatedAt: at(0), ExpiresAt: at(time.Minute)}, tokenHash("c4")))
	ok(s.DeleteExpired(ctx, at(2*time.Minute)))(t)
	// c4 expired before the cut-off: it was deleted, so its hash is free.
	must(t, s.CreatePasskeyCeremony(ctx, session.PasskeyCeremony{Kind: session.CeremonyLogin, State: []byte("{}"), CreatedAt: at(0), ExpiresAt: at(time.Hour)}, tokenHash("c4")))
}
