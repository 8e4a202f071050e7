package storetest

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/token"
)

func key(id string, created time.Time) token.StoredKey {
	return token.StoredKey{
		ID: id, Algorithm: "EdDSA",
		// Binary, with zero and high bytes.
		PublicKey:        []byte{0x30, 0x2a, 0x00, 0x05, 0xff, 0x00, 'k', 'e', 'y', 0x00},
		SealedPrivateKey: append([]byte{0x00, 0x01, 0xfe, 0xff}, id...),
		CreatedAt:        created,
	}
}

func truncKey(k token.StoredKey) token.StoredKey {
	k.CreatedAt = us(k.CreatedAt)
	return k
}

func keyTests() []test {
	return []test{
		{"InsertAndListNewestFirst", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			k1, k2, k3 := key("k1", at(time.Hour)), key("k2", at(3*time.Hour)), key("k3", at(2*time.Hour))
			k3.Algorithm = "ES256"
			for _, k := range []token.StoredKey{k1, k2, k3} {
				must(t, s.InsertSigningKey(ctx, k))
			}
			check(t, "ListSigningKeys", ok(s.ListSigningKeys(ctx))(t),
				[]token.StoredKey{truncKey(k2), truncKey(k3), truncKey(k1)})
		}},
		{"Exists", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertSigningKey(ctx, key("k1", at(0))))
			wantConflict(t, s.InsertSigningKey(ctx, key("k1", at(time.Hour))), "key_exists")
			if l := ok(s.ListSigningKeys(ctx))(t); len(l) != 1 || !l[0].CreatedAt.Equal(us(at(0))) {
				t.Errorf("keys after refused insert: %v", l)
			}
		}},
		{"Delete", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertSigningKey(ctx, key("k1", at(0))))
			must(t, s.InsertSigningKey(ctx, key("k2", at(time.Hour))))
			must(t, s.DeleteSigningKey(ctx, "k1"))
			check(t, "ListSigningKeys", ok(s.ListSigningKeys(ctx))(t), []token.StoredKey{truncKey(key("k2", at(time.Hour)))})
			wantNotFound(t, s.DeleteSigningKey(ctx, "k1"), "key_not_found")
			wantNotFound(t, s.DeleteSigningKey(ctx, "nope"), "key_not_found")
		}},
	}
}
