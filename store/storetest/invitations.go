package storetest

import (
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store"
)

func invitationTests() []test {
	return []test{
		{"OnePendingPerAddress", testInvitationOnePendingPerAddress},
		{"ScopedByTenant", testInvitationScopedByTenant},
		{"AcceptedOnce", testInvitationAcceptedOnce},
		{"AcceptIsAllOrNothing", testInvitationAcceptIsAllOrNothing},
	}
}

func invitation(id, tenantID, email string) identity.Invitation {
	return identity.Invitation{ID: id, TenantID: tenantID, Email: email, Roles: []string{"member"}, InvitedBy: "user:owner",
		Status: identity.InvitationPending, CreatedAt: at(0), UpdatedAt: at(0), ExpiresAt: at(time.Hour)}
}

func tokenHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// testInvitationOnePendingPerAddress: a second pending invitation of one
// address to one tenant is refused; once the first is revoked, it is not.
func testInvitationOnePendingPerAddress(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:owner")
	newTenant(t, s, "tb", "user:owner")
	must(t, s.CreateInvitation(ctx, invitation("i1", "ta", "n@x.example"), tokenHash("1")))
	if err := s.CreateInvitation(ctx, invitation("i2", "ta", "n@x.example"), tokenHash("2")); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("second pending invitation: %v", err)
	}
	must(t, s.CreateInvitation(ctx, invitation("i3", "tb", "n@x.example"), tokenHash("3")))
	must(t, s.RevokeInvitation(ctx, "ta", "i1", at(time.Minute)))
	must(t, s.CreateInvitation(ctx, invitation("i2", "ta", "n@x.example"), tokenHash("2")))
	if err := s.CreateInvitation(ctx, invitation("i4", "missing", "n@x.example"), tokenHash("4")); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("invitation to a missing tenant: %v", err)
	}
	list, err := s.ListInvitations(ctx, "ta", cursor.Page{})
	must(t, err)
	if len(list) != 1 || list[0].ID != "i2" {
		t.Fatalf("pending %+v", list)
	}
}

// testInvitationScopedByTenant: another tenant's invitation is not found,
// revoked or re-tokened through this tenant.
func testInvitationScopedByTenant(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:owner")
	newTenant(t, s, "tb", "user:owner")
	must(t, s.CreateInvitation(ctx, invitation("i1", "ta", "n@x.example"), tokenHash("1")))
	for name, err := range map[string]error{
		"get":     func() error { _, err := s.GetInvitation(ctx, "tb", "i1"); return err }(),
		"revoke":  s.RevokeInvitation(ctx, "tb", "i1", at(time.Minute)),
		"replace": s.ReplaceInvitationToken(ctx, "tb", "i1", tokenHash("9"), at(2*time.Hour), at(time.Minute)),
	} {
		if fault.KindOf(err) != fault.NotFound {
			t.Errorf("%s through another tenant: %v", name, err)
		}
	}
	got, err := s.GetInvitationByToken(ctx, tokenHash("1"))
	must(t, err)
	if got.TenantID != "ta" || got.Status != identity.InvitationPending || !got.ExpiresAt.Equal(us(at(time.Hour))) {
		t.Fatalf("by token %+v", got)
	}
	must(t, s.ReplaceInvitationToken(ctx, "ta", "i1", tokenHash("9"), at(2*time.Hour), at(time.Minute)))
	if _, err := s.GetInvitationByToken(ctx, tokenHash("1")); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("the replaced token still finds the invitation: %v", err)
	}
}

// testInvitationAcceptedOnce: of concurrent acceptances exactly one wins;
// the others see it used.
func testInvitationAcceptedOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:owner")
	must(t, s.CreateInvitation(ctx, invitation("i1", "ta", "n@x.example"), tokenHash("1")))
	must(t, s.CreateUser(ctx, user("u1", "n@x.example")))
	var wins, used int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			err := s.AcceptInvitation(ctx, tokenHash("1"), nil, membership("ta", "user:u1", "member"))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case fault.KindOf(err) == fault.Conflict:
				used++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || used != 5 {
		t.Fatalf("%d accepted, %d refused", wins, used)
	}
	got, err := s.GetInvitation(ctx, "ta", "i1")
	must(t, err)
	if got.Status != identity.InvitationAccepted || got.AcceptedBy != "user:u1" {
		t.Fatalf("after acceptance %+v", got)
	}
	if _, err := s.GetMember(ctx, "ta", "user:u1"); err != nil {
		t.Fatal(err)
	}
}

// testInvitationAcceptIsAllOrNothing: an acceptance whose new user cannot
// be created (the email is taken) leaves the invitation pending and adds
// no member; a revoked invitation creates no user.
func testInvitationAcceptIsAllOrNothing(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:owner")
	must(t, s.CreateInvitation(ctx, invitation("i1", "ta", "n@x.example"), tokenHash("1")))
	must(t, s.CreateUser(ctx, user("u1", "n@x.example")))
	u2 := user("u2", "n@x.example")
	if err := s.AcceptInvitation(ctx, tokenHash("1"), &u2, membership("ta", "user:u2", "member")); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("accept with a taken email: %v", err)
	}
	got, err := s.GetInvitation(ctx, "ta", "i1")
	must(t, err)
	if got.Status != identity.InvitationPending {
		t.Fatalf("after a failed acceptance %+v", got)
	}
	if _, err := s.GetMember(ctx, "ta", "user:u2"); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("a failed acceptance added a member: %v", err)
	}
	must(t, s.RevokeInvitation(ctx, "ta", "i1", at(time.Minute)))
	u3 := user("u3", "other@x.example")
	if err := s.AcceptInvitation(ctx, tokenHash("1"), &u3, membership("ta", "user:u3", "member")); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("accept a revoked invitation: %v", err)
	}
	if _, err := s.GetUser(ctx, "u3"); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("a refused acceptance created a user: %v", err)
	}
}
