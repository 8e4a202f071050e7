package identity_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

func TestCreateUserNormalisesTheEmail(t *testing.T) {
	w := newWorld(t)
	u, err := w.svc.CreateUser(w.ctx, identity.NewUser{Email: "  Ann.Lee@Example.COM ", PasswordHash: "$argon2id$x"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "ann.lee@example.com" || u.Status != identity.UserActive || u.PlatformAdmin || u.DisplayName != "" ||
		u.ActorID() != "user:"+u.ID || u.PasswordHash != "$argon2id$x" {
		t.Fatalf("created %+v", u)
	}
	stored, err := w.st.GetUserByEmail(w.ctx, "ann.lee@example.com")
	if err != nil || stored.ID != u.ID {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	for _, c := range []struct {
		name  string
		in    identity.NewUser
		kind  fault.Kind
		field string
		code  string
	}{
		{"same email in other case", identity.NewUser{Email: "ANN.LEE@example.com"}, fault.Conflict, "", "email_taken"},
		{"no email", identity.NewUser{}, fault.Invalid, "email", "invalid_email"},
		{"bad email", identity.NewUser{Email: "ann@localhost"}, fault.Invalid, "email", "invalid_email"},
		{"control in display name", identity.NewUser{Email: "bob@example.com", DisplayName: "Bob\x07"}, fault.Invalid, "display_name", "invalid_name"},
		{"long display name", identity.NewUser{Email: "bob@example.com", DisplayName: strings.Repeat("b", 201)}, fault.Invalid, "display_name", "invalid_name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.svc.CreateUser(w.ctx, c.in)
			if fe := wantFault(t, err, c.kind, c.code); fe.Field != c.field {
				t.Fatalf("field %q, want %q", fe.Field, c.field)
			}
		})
	}
	_, err = w.st.GetUserByEmail(w.ctx, "bob@example.com")
	wantFault(t, err, fault.NotFound, "user_not_found")
}

func TestBootstrapMakesThePlatformAdminAndTheirTenant(t *testing.T) {
	svc := identity.NewService(identity.Deps{Store: sqlitetest.Open(t)}, identity.Options{})
	u, tn, err := svc.Bootstrap(t.Context(), identity.NewUser{Email: "First@Example.com"}, identity.NewTenant{Slug: "first", Name: "First"})
	if err != nil {
		t.Fatal(err)
	}
	if !u.PlatformAdmin || u.Email != "first@example.com" || tn.Slug != "first" {
		t.Fatalf("bootstrapped %+v, %+v", u, tn)
	}
	if !svc.IsPlatformAdmin(t.Context(), identity.Caller{ActorID: u.ActorID()}) {
		t.Fatal("the first user is not a platform admin")
	}
	got, err := svc.GetTenant(t.Context(), identity.Caller{ActorID: u.ActorID()}, tn.ID)
	if err != nil || !slices.Equal(got.Roles, []string{"owner"}) {
		t.Fatalf("first tenant: %+v, %v", got, err)
	}
}

func TestBootstrapRefusesBadInputWithoutLeavingAUser(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct {
		name   string
		user   identity.NewUser
		tenant identity.NewTenant
		kind   fault.Kind
		code   string
	}{
		{"taken slug", identity.NewUser{Email: "late@example.com"}, identity.NewTenant{Slug: w.tenantA.Slug}, fault.Conflict, "tenant_slug_taken"},
		{"bad slug", identity.NewUser{Email: "late@example.com"}, identity.NewTenant{Slug: "No"}, fault.Invalid, "invalid_slug"},
		{"bad email", identity.NewUser{Email: "late"}, identity.NewTenant{Slug: "late"}, fault.Invalid, "invalid_email"},
		{"control character in the tenant name", identity.NewUser{Email: "late@example.com"}, identity.NewTenant{Slug: "late", Name: "bad\x07name"}, fault.Invalid, "invalid_name"},
		{"padded tenant name", identity.NewUser{Email: "late@example.com"}, identity.NewTenant{Slug: "late", Name: " Late"}, fault.Invalid, "invalid_name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := w.svc.Bootstrap(w.ctx, c.user, c.tenant)
			wantFault(t, err, c.kind, c.code)
			if users, err := w.svc.ListUsers(w.ctx, cursor.Page{}); err != nil || len(users) != 6 {
				t.Fatalf("refused bootstrap left a user: %d users, %v", len(users), err)
			}
			if _, err := w.st.GetTenantBySlug(w.ctx, "late"); !errors.Is(err, fault.ErrNotFound) {
				t.Fatalf("refused bootstrap left a tenant: %v", err)
			}
		})
	}
	_, _, err := w.svc.Bootstrap(w.ctx, identity.NewUser{Email: w.owner.Email}, identity.NewTenant{Slug: "again"})
	wantFault(t, err, fault.Conflict, "email_taken")
	if _, err := w.st.GetTenantBySlug(w.ctx, "again"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("refused bootstrap left a tenant: %v", err)
	}
}

func TestBootstrapWithABadTenantNameLeavesNoUser(t *testing.T) {
	w := newWorld(t)
	_, _, err := w.svc.Bootstrap(w.ctx, identity.NewUser{Email: "late@example.com"}, identity.NewTenant{Slug: "late", Name: "bad\x07name"})
	wantInvalid(t, err, "name", "invalid_name")
	if _, err := w.st.GetUserByEmail(w.ctx, "late@example.com"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("refused bootstrap left a platform admin behind: %v", err)
	}
}

func TestSetUserStatusDisablesAndEnablesUsers(t *testing.T) {
	w := newWorld(t)
	root2 := w.user("root2@platform.example", true)
	got, err := w.svc.SetUserStatus(w.ctx, w.as(w.root), w.member.ID, identity.UserDisabled)
	if err != nil || got.Status != identity.UserDisabled || !got.UpdatedAt.Equal(w.clock.Now()) {
		t.Fatalf("disable = %+v, %v", got, err)
	}
	wantEvents(t, w.events.Take(), ev(event.KindActorDisabled, w.member.ActorID()))
	if stored, _ := w.st.GetUser(w.ctx, w.member.ID); stored.Status != identity.UserDisabled {
		t.Fatalf("stored status %s", stored.Status)
	}
	_, err = w.svc.TenantPermissions(w.ctx, w.tenantA.ID, w.member.ActorID())
	wantFault(t, err, fault.Forbidden, "user_disabled")
	_, err = w.svc.TenantPermissions(w.ctx, w.tenantA.ID, w.agent.ActorID())
	wantFault(t, err, fault.Forbidden, "user_disabled")

	// Disabling again changes and announces nothing.
	if _, err := w.svc.SetUserStatus(w.ctx, w.as(w.root), w.member.ID, identity.UserDisabled); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, w.events.Take())

	if got, err := w.svc.SetUserStatus(w.ctx, w.as(root2), w.member.ID, identity.UserActive); err != nil || got.Status != identity.UserActive {
		t.Fatalf("enable = %+v, %v", got, err)
	}
	wantEvents(t, w.events.Take(), ev(event.KindActorEnabled, w.member.ActorID()))
	if _, err := w.svc.TenantPermissions(w.ctx, w.tenantA.ID, w.member.ActorID()); err != nil {
		t.Fatalf("re-enabled member: %v", err)
	}

	// A disabled platform admin loses platform standing.
	if _, err := w.svc.SetUserStatus(w.ctx, w.as(root2), w.root.ID, identity.UserDisabled); err != nil {
		t.Fatal(err)
	}
	if w.svc.IsPlatformAdmin(w.ctx, w.as(w.root)) {
		t.Fatal("a disabled platform admin is still one")
	}
	_, err = w.svc.GetTenant(w.ctx, w.as(w.root), w.tenantA.ID)
	wantFault(t, err, fault.NotFound, "tenant_not_found")
	_, err = w.svc.SetUserStatus(w.ctx, w.as(w.root), w.member.ID, identity.UserDisabled)
	wantFault(t, err, fault.Forbidden, "platform_admin_required")
}

func TestSetUserStatusRefusals(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct {
		name   string
		caller identity.Caller
		userID string
		status identity.UserStatus
		kind   fault.Kind
		field  string
		code   string
	}{
		{"tenant owner", w.as(w.owner), w.member.ID, identity.UserDisabled, fault.Forbidden, "", "platform_admin_required"},
		{"platform admin's key", bounded(w.root, w.tenantA.ID, identity.Catalogue()...), w.member.ID, identity.UserDisabled, fault.Forbidden, "", "platform_admin_required"},
		{"oneself", w.as(w.root), w.root.ID, identity.UserDisabled, fault.Conflict, "", "cannot_change_own_status"},
		{"unknown status", w.as(w.root), w.member.ID, identity.UserStatus("banned"), fault.Invalid, "status", "invalid_status"},
		{"malformed id", w.as(w.root), "not-an-id", identity.UserDisabled, fault.NotFound, "", "user_not_found"},
		{"missing user", w.as(w.root), missingTenant, identity.UserDisabled, fault.NotFound, "", "user_not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.svc.SetUserStatus(w.ctx, c.caller, c.userID, c.status)
			if fe := wantFault(t, err, c.kind, c.code); fe.Field != c.field {
				t.Fatalf("field %q, want %q", fe.Field, c.field)
			}
		})
	}
	for _, u := range []identity.User{w.member, w.root} {
		if stored, _ := w.st.GetUser(w.ctx, u.ID); stored.Status != identity.UserActive {
			t.Fatalf("%s now %s", u.Email, stored.Status)
		}
	}
	wantEvents(t, w.events.Take())
}

func TestIsPlatformAdmin(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct {
		name   string
		caller identity.Caller
		want   bool
	}{
		{"platform admin's session", w.as(w.root), true},
		{"platform admin's key", bounded(w.root, w.tenantA.ID, identity.Catalogue()...), false},
		{"tenant owner", w.as(w.owner), false},
		{"agent", identity.Caller{ActorID: w.agent.ActorID()}, false},
		{"raw user id without prefix", identity.Caller{ActorID: w.root.ID}, false},
		{"unknown user", identity.Caller{ActorID: "user:" + missingTenant}, false},
	} {
		if got := w.svc.IsPlatformAdmin(w.ctx, c.caller); got != c.want {
			t.Errorf("%s: IsPlatformAdmin = %v", c.name, got)
		}
	}
}
