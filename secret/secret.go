// Package secret generates and parses Tollgate's opaque secrets — API keys
// and service client secrets — whose shape lets a typo or a truncated copy be
// rejected without a store lookup and lets secret scanners find leaked ones.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"hash/crc32"
	"math/big"
	"strings"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ids"
)

// A secret string reads prefix "_" env "_" id "_" secret checksum, e.g.
//
//	tg_live_01jdx3v2k8m4n6p8r0t2v4x6z8_<43 base62 characters><6 base62 characters>
//
// The fixed prefix lets secret scanners recognise leaked keys; the
// environment marker tells a live key from a test one at a glance; the id
// finds the stored hash without a scan; the CRC-32 checksum rejects typos,
// truncation and changed case without touching the store.
const (
	// KeyPrefix starts every API key.
	KeyPrefix = "tg"
	// ClientSecretPrefix starts every service client secret.
	ClientSecretPrefix = "tgcs"

	secretLen   = 43 // ⌈256 / log2(62)⌉ base62 digits hold 256 random bits
	checksumLen = 6  // ⌈32 / log2(62)⌉ base62 digits hold a CRC-32
)

// Environments a secret may be issued for.
const (
	EnvLive = "live"
	EnvTest = "test"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// MaxSecretLength bounds what Parse looks at.
const MaxSecretLength = 128

// Parsed is a syntactically valid secret.
type Parsed struct {
	Prefix string
	Env    string
	ID     string
	// Hash is SHA-256 of the whole string: what the store keeps. An array,
	// so that parsing a key on the hot path does not allocate for it.
	Hash [sha256.Size]byte
}

// Generate returns a new secret string for id and its hash.
func Generate(prefix, env, id string) (raw string, hash []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	var sb strings.Builder
	sb.Grow(len(prefix) + len(env) + len(id) + 3 + secretLen + checksumLen)
	sb.WriteString(prefix)
	sb.WriteByte('_')
	sb.WriteString(env)
	sb.WriteByte('_')
	sb.WriteString(id)
	sb.WriteByte('_')
	sb.WriteString(encode62(new(big.Int).SetBytes(b[:]), secretLen))
	body := sb.String()
	sum := checksum(body)
	raw = body + string(sum[:])
	h := sha256.Sum256([]byte(raw))
	return raw, h[:]
}

func encode62(n *big.Int, width int) string {
	out := make([]byte, width)
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := width - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = base62[mod.Int64()]
	}
	return string(out)
}

// checksum is the CRC-32 of body in checksumLen base62 digits.
func checksum(body string) [checksumLen]byte {
	return encodeChecksum(crc32.ChecksumIEEE([]byte(body)))
}

func encodeChecksum(n uint32) [checksumLen]byte {
	var out [checksumLen]byte
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = base62[n%62]
		n /= 62
	}
	return out
}

// errMalformed is the one error of every syntactic failure: the caller
// learns that the string is not a key, not which part is wrong. Its code is
// built from what: invalid_api_key or invalid_client_secret (docs/errors.md).
func errMalformed(what string) error {
	return fault.Unauthenticatedf(fault.Code("invalid_"+what), "the %s is malformed or invalid", strings.ReplaceAll(what, "_", " "))
}

// Parse checks the syntax and checksum of raw, a secret that must start with
// prefix; what names it in errors ("api_key" or "client_secret"). It does
// no I/O.
func Parse(raw, prefix, what string) (Parsed, error) {
	if len(raw) > MaxSecretLength {
		return Parsed{}, errMalformed(what)
	}
	// Not CutPrefix(raw, prefix+"_"): the concatenation would allocate.
	if len(raw) <= len(prefix) || raw[:len(prefix)] != prefix || raw[len(prefix)] != '_' {
		return Parsed{}, errMalformed(what)
	}
	rest := raw[len(prefix)+1:]
	env, rest, ok := strings.Cut(rest, "_")
	if !ok || (env != EnvLive && env != EnvTest) {
		return Parsed{}, errMalformed(what)
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || !ids.Valid(id) || len(secret) != secretLen+checksumLen {
		return Parsed{}, errMalformed(what)
	}
	for i := 0; i < len(secret); i++ {
		if strings.IndexByte(base62, secret[i]) < 0 {
			return Parsed{}, errMalformed(what)
		}
	}
	// One stack copy serves the checksum and the hash: converting raw to
	// []byte for each would allocate twice per key checked.
	var buf [MaxSecretLength]byte
	n := copy(buf[:], raw)
	if sum := encodeChecksum(crc32.ChecksumIEEE(buf[:n-checksumLen])); raw[n-checksumLen:] != string(sum[:]) {
		return Parsed{}, errMalformed(what)
	}
	h := sha256.Sum256(buf[:n])
	return Parsed{Prefix: prefix, Env: env, ID: id, Hash: h}, nil
}
