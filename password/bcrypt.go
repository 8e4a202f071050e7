package password

import (
	"errors"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// maxBcryptCost caps legacy hashes for the same reason the argon2id limits
// exist: each cost step doubles the work, and cost 31 would take days. Real
// legacy hashes use 10–14; 16 takes a few seconds.
const maxBcryptCost = 16

// bcryptAlphabet is bcrypt's own base64 alphabet, not the standard one.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// bcryptLen is "$2b$" + two-digit cost + "$" + 22 salt + 31 hash characters.
const bcryptLen = 60

type bcryptHash struct{ encoded []byte }

// parseBcrypt checks the layout itself because x/crypto/bcrypt is lenient:
// it accepts any minor version letter, a signed cost ("+4"), and ignores
// anything after the 60th character, none of which a genuine hash contains.
// $2y$ (PHP) and $2b$ differ from $2a$ only in how old buggy implementations
// handled long or non-ASCII input; Go's bcrypt computes the correct algorithm
// for all three, and keeps the stored prefix when comparing.
func parseBcrypt(encoded string) (*bcryptHash, error) {
	if len(encoded) != bcryptLen {
		return nil, unsupported("bcrypt: wrong length")
	}
	switch encoded[:4] {
	case "$2a$", "$2b$", "$2y$":
	default:
		return nil, unsupported("bcrypt: unsupported variant")
	}
	if encoded[4] < '0' || encoded[4] > '9' || encoded[5] < '0' || encoded[5] > '9' || encoded[6] != '$' {
		return nil, unsupported("bcrypt: bad cost")
	}
	for i := 7; i < len(encoded); i++ {
		if strings.IndexByte(bcryptAlphabet, encoded[i]) < 0 {
			return nil, unsupported("bcrypt: bad base64")
		}
	}
	cost, err := bcrypt.Cost([]byte(encoded))
	if err != nil {
		return nil, unsupported("bcrypt: " + err.Error())
	}
	if cost > maxBcryptCost {
		return nil, unsupported("bcrypt: cost above limit")
	}
	return &bcryptHash{encoded: []byte(encoded)}, nil
}

// matches relies on bcrypt.CompareHashAndPassword, which compares the
// recomputed hash in constant time.
func (b *bcryptHash) matches(plain string) (bool, error) {
	err := bcrypt.CompareHashAndPassword(b.encoded, []byte(plain))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, unsupported("bcrypt: " + err.Error())
	}
}

// outdated is always true: every bcrypt hash is migrated to argon2id.
func (b *bcryptHash) outdated(Params) bool { return true }
