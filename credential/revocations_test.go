package credential_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tollgate/tollgate/credential"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

func TestRevocationsSync(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	clock := func() time.Time { return now }
	st := sqlitetest.Open(t)
	newSession := func(id, actor string) {
		t.Helper()
		s := session.Session{ID: id, ActorID: actor, CreatedAt: now, RefreshedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.CreateSession(ctx, s, []byte("hash-"+id)); err != nil {
			t.Fatal(err)
		}
	}
	// More sessions revoked in one instant than one page holds: a user with
	// many sessions signing out everywhere.
	const many = 2500
	for i := 0; i < many; i++ {
		newSession(fmt.Sprintf("bulk-%05d", i), "user:bulk")
	}
	newSession("late", "user:late")
	newSession("live", "user:live")
	if _, err := st.RevokeActorSessions(ctx, "user:bulk", "logout_all", now); err != nil {
		t.Fatal(err)
	}

	rv := credential.NewRevocations(st, 15*time.Minute, time.Minute, clock)
	if err := rv.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < many; i++ {
		if id := fmt.Sprintf("bulk-%05d", i); !rv.Revoked(id) {
			t.Fatalf("%s not seen as revoked", id)
		}
	}
	// A revocation recorded with an earlier time than one already seen (a
	// replica with a slow clock, or a late commit) is still picked up.
	if err := st.RevokeSession(ctx, "late", "logout", now.Add(-30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := rv.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if !rv.Revoked("late") || rv.Revoked("live") {
		t.Fatalf("late=%v live=%v", rv.Revoked("late"), rv.Revoked("live"))
	}
	// Once no access token of a session can be valid, it is forgotten.
	now = now.Add(20 * time.Minute)
	if err := rv.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if rv.Revoked("bulk-00000") {
		t.Fatal("expired revocation kept")
	}
}
