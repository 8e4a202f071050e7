package storetest

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store"
)

func userTests() []test {
	return []test{
		{"CreateAndGet", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			u := user("u1", "alice@example.com")
			u.PlatformAdmin = true
			must(t, s.CreateUser(ctx, u))
			check(t, "GetUser", ok(s.GetUser(ctx, "u1"))(t), truncUser(u))
			check(t, "GetUserByEmail", ok(s.GetUserByEmail(ctx, "alice@example.com"))(t), truncUser(u))
		}},
		{"ReplacePasswordHashOnlyIfUnchanged", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			u := user("u1", "alice@example.com")
			u.PasswordHash = "old"
			must(t, s.CreateUser(ctx, u))
			// A change made meanwhile (disabling the user) survives.
			u.Status = identity.UserDisabled
			must(t, s.UpdateUser(ctx, u))
			later := u.UpdatedAt.Add(time.Minute)
			if !ok(s.ReplacePasswordHash(ctx, "u1", "old", "new", later))(t) {
				t.Fatal("the hash was not replaced")
			}
			want := truncUser(u)
			want.PasswordHash, want.UpdatedAt = "new", us(later)
			check(t, "after", ok(s.GetUser(ctx, "u1"))(t), want)
			// The hash is no longer "old": nothing changes.
			if ok(s.ReplacePasswordHash(ctx, "u1", "old", "newer", later.Add(time.Minute)))(t) {
				t.Fatal("a stale hash was replaced")
			}
			check(t, "unchanged", ok(s.GetUser(ctx, "u1"))(t), want)
			_, err := s.ReplacePasswordHash(ctx, "nobody", "old", "new", later)
			wantNotFound(t, err, "user_not_found")
		}},
		{"EmailTaken", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.CreateUser(ctx, user("u1", "alice@example.com")))
			wantConflict(t, s.CreateUser(ctx, user("u2", "alice@example.com")), "email_taken")
			_, err := s.GetUser(ctx, "u2")
			wantNotFound(t, err, "user_not_found")
		}},
		{"EmailMatchedExactly", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			// Emails arrive normalised; folding case is the domain's job, so
			// the store compares bytes.
			must(t, s.CreateUser(ctx, user("u1", "alice@example.com")))
			must(t, s.CreateUser(ctx, user("u2", "Alice@example.com")))
			if got := ok(s.GetUserByEmail(ctx, "Alice@example.com"))(t); got.ID != "u2" {
				t.Errorf("GetUserByEmail(Alice@) = %s, want u2", got.ID)
			}
			_, err := s.GetUserByEmail(ctx, "ALICE@EXAMPLE.COM")
			wantNotFound(t, err, "user_not_found")
		}},
		{"DuplicateID", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.CreateUser(ctx, user("u1", "alice@example.com")))
			err := s.CreateUser(ctx, user("u1", "bob@example.com"))
			if fault.KindOf(err) != fault.Conflict {
				t.Fatalf("err = %v, want a conflict", err)
			}
		}},
		{"NotFound", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.CreateUser(ctx, user("u1", "alice@example.com")))
			_, err := s.GetUser(ctx, "nope")
			wantNotFound(t, err, "user_not_found")
			// GetUser takes the raw id, not the actor id.
			_, err = s.GetUser(ctx, "user:u1")
			wantNotFound(t, err, "user_not_found")
			_, err = s.GetUserByEmail(ctx, "nope@example.com")
			wantNotFound(t, err, "user_not_found")
			wantNotFound(t, s.UpdateUser(ctx, user("nope", "nope@example.com")), "user_not_found")
		}},
		{"Update", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			orig := user("u1", "alice@example.com")
			must(t, s.CreateUser(ctx, orig))
			upd := orig
			upd.DisplayName = "Alice B."
			upd.Status = identity.UserDisabled
			upd.PlatformAdmin = true
			upd.PasswordHash = "$argon2id$new"
			upd.UpdatedAt = at(time.Hour)
			// Email and created_at are not written.
			upd.Email = "changed@example.com"
			upd.CreatedAt = at(-time.Hour)
			must(t, s.UpdateUser(ctx, upd))

			want := truncUser(orig)
			want.DisplayName, want.Status, want.PlatformAdmin = "Alice B.", identity.UserDisabled, true
			want.PasswordHash, want.UpdatedAt = "$argon2id$new", us(upd.UpdatedAt)
			check(t, "GetUser", ok(s.GetUser(ctx, "u1"))(t), want)
			_, err := s.GetUserByEmail(ctx, "changed@example.com")
			wantNotFound(t, err, "user_not_found")

			// And back: false and empty strings are written too.
			upd.PlatformAdmin, upd.PasswordHash = false, ""
			must(t, s.UpdateUser(ctx, upd))
			want.PlatformAdmin, want.PasswordHash = false, ""
			check(t, "GetUser", ok(s.GetUser(ctx, "u1"))(t), want)
		}},
		{"ListPages", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			all := ids("u", 5)
			for _, id := range shuffled(all) {
				must(t, s.CreateUser(ctx, user(id, id+"@example.com")))
			}
			first := ok(s.ListUsers(ctx, cursor.Page{Limit: 2}))(t)
			check(t, "first page", userIDs(first), all[:2])
			check(t, "item", first[0], truncUser(user("u-00", "u-00@example.com")))
			second := ok(s.ListUsers(ctx, cursor.Page{After: first[1].ID, Limit: 2}))(t)
			check(t, "second page", userIDs(second), all[2:4])
			rest := ok(s.ListUsers(ctx, cursor.Page{After: second[1].ID}))(t)
			check(t, "rest", userIDs(rest), all[4:])
		}},
	}
}

func userIDs(l []identity.User) []string {
	out := []string{}
	for _, u := range l {
		out = append(out, u.ID)
	}
	return out
}
