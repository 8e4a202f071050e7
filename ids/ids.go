// Package ids generates Tollgate's opaque identifiers. They sort by creation
// time (48-bit millisecond prefix) so that cursor pagination by id is also
// pagination by age, and carry 80 random bits so they cannot be guessed.
package ids

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// crockford is Crockford's base32 alphabet in lower case: no i, l, o, u, so ids
// survive being read aloud or typed.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// Len is the length of every id New returns.
const Len = 26

// New returns a new 26-character id.
func New() string { return NewAt(time.Now()) }

// NewAt returns an id whose time prefix is t.
func NewAt(t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails on supported platforms
	return encode(b)
}

func encode(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [Len]byte
	// 128 bits as 26 base32 digits: the first digit holds the top 3 bits.
	for i := Len - 1; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// Valid reports whether s could have been produced by New.
func Valid(s string) bool {
	if len(s) != Len || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' && c != 'i' && c != 'l' && c != 'o' && c != 'u') {
			return false
		}
	}
	return true
}
