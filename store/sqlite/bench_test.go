package sqlite_test

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store/storetest"
)

func BenchmarkGetUser(b *testing.B) {
	s := open(b)
	now := time.Now()
	u := identity.User{ID: "u1", Email: "alice@example.com", Status: identity.UserActive, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(b.Context(), u); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.GetUser(b.Context(), "u1"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLogin(b *testing.B) { storetest.BenchLogin(b, open(b)) }
