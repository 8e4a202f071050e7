package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

const argon2Prefix = "$argon2id$"

// Limits on argon2id params, applied both to a Hasher's own params and to
// every stored hash before any work is done: a stored hash is data, and one
// with m=4 TiB or t=2^32 would otherwise let whoever wrote it (an import, a
// compromised replica) stall or crash the service on the next login.
const (
	maxMemoryKiB   = 4 << 20 // 4 GiB
	maxIterations  = 100
	maxParallelism = 64
	// RFC 9106 requires at least 8 bytes of salt.
	minSaltLen = 8
	maxSaltLen = 1024
	// A tag shorter than 16 bytes would make a wrong password match by chance
	// with non-negligible probability, so such hashes are refused outright.
	minKeyLen = 16
	maxKeyLen = 1024
)

// b64 is the PHC string format's base64: standard alphabet, no padding.
var b64 = base64.RawStdEncoding.Strict()

type argon2Hash struct {
	params Params
	salt   []byte
	key    []byte
}

func newArgon2(plain string, p Params) *argon2Hash {
	salt := make([]byte, p.SaltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails on supported platforms
	return &argon2Hash{
		params: p,
		salt:   salt,
		key:    argon2.IDKey([]byte(plain), salt, p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyLen),
	}
}

// String returns the PHC string form, the format other argon2 libraries and
// the reference implementation read and write.
func (a *argon2Hash) String() string {
	return fmt.Sprintf("%sv=%d$m=%d,t=%d,p=%d$%s$%s", argon2Prefix, argon2.Version,
		a.params.MemoryKiB, a.params.Iterations, a.params.Parallelism,
		b64.EncodeToString(a.salt), b64.EncodeToString(a.key))
}

func (a *argon2Hash) matches(plain string) (bool, error) {
	p := a.params
	key := argon2.IDKey([]byte(plain), a.salt, p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyLen)
	return subtle.ConstantTimeCompare(key, a.key) == 1, nil
}

func (a *argon2Hash) outdated(current Params) bool { return a.params != current }

// parseArgon2 accepts exactly the form String writes. Optional PHC fields
// (keyid, data) and versions other than 19 are refused rather than ignored,
// since x/crypto/argon2 cannot honour them and would verify the wrong thing.
func parseArgon2(encoded string) (*argon2Hash, error) {
	// "$argon2id$v=19$m=…,t=…,p=…$salt$key" has an empty field before the first $.
	f := strings.SplitN(encoded, "$", 7)
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return nil, unsupported("argon2id: wrong number of fields")
	}
	if f[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return nil, unsupported("argon2id: unsupported version")
	}
	var p Params
	if err := parseArgon2Params(f[3], &p); err != nil {
		return nil, err
	}
	salt, err := decodeB64(f[4], maxSaltLen)
	if err != nil {
		return nil, unsupported("argon2id: salt: " + err.Error())
	}
	key, err := decodeB64(f[5], maxKeyLen)
	if err != nil {
		return nil, unsupported("argon2id: key: " + err.Error())
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.validate(); err != nil {
		return nil, unsupported("argon2id: params out of range: " + err.Error())
	}
	return &argon2Hash{params: p, salt: salt, key: key}, nil
}

// parseArgon2Params reads "m=<KiB>,t=<iterations>,p=<lanes>" in that order.
func parseArgon2Params(s string, p *Params) error {
	f := strings.Split(s, ",")
	if len(f) != 3 {
		return unsupported("argon2id: want exactly m, t and p params")
	}
	m, ok := parseParam(f[0], "m=", maxMemoryKiB)
	if !ok {
		return unsupported("argon2id: bad or excessive m")
	}
	t, ok := parseParam(f[1], "t=", maxIterations)
	if !ok {
		return unsupported("argon2id: bad or excessive t")
	}
	lanes, ok := parseParam(f[2], "p=", maxParallelism)
	if !ok {
		return unsupported("argon2id: bad or excessive p")
	}
	p.MemoryKiB, p.Iterations, p.Parallelism = uint32(m), uint32(t), uint8(lanes)
	return nil
}

// parseParam reads name followed by a PHC decimal (digits only, no sign, no
// leading zero) no greater than limit.
func parseParam(s, name string, limit uint64) (uint64, bool) {
	digits, ok := strings.CutPrefix(s, name)
	if !ok || digits == "" || len(digits) > 10 || (digits[0] == '0' && len(digits) > 1) {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, n <= limit
}

// decodeB64 decodes canonical unpadded base64 of at most maxLen bytes. The
// length is checked first so a hostile hash cannot force a large allocation,
// and the round trip rejects the CR/LF that encoding/base64 silently skips.
func decodeB64(s string, maxLen int) ([]byte, error) {
	if len(s) > b64.EncodedLen(maxLen) {
		return nil, hashErr("too long")
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, hashErr("bad base64")
	}
	if b64.EncodeToString(b) != s {
		return nil, hashErr("non-canonical base64")
	}
	return b, nil
}
