package audit

// Every string of every event is checked (twice on the recorder's path),
// sized and encoded on its way to the store; on the decision path that is
// most of a decision's audit cost besides the database. The strings are
// nearly always plain ASCII, so these read them eight bytes at a time and
// leave the first word that may need a closer look to a byte loop.

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// word is s[i:i+8] as a little-endian integer.
func word(s string, i int) uint64 {
	w := s[i : i+8]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// For a word x with no high bit set, (x - n*ones) &^ x has a high bit
// exactly where a byte is below n, and with y = x ^ b*ones, (y - ones) &^ y
// where a byte is b.
func below(x, n uint64) bool { return (x-n*ones)&^x&highs != 0 }
func holds(x, b uint64) bool { y := x ^ b*ones; return (y-ones)&^y&highs != 0 }

// asciiPrefix returns how many leading bytes of s, a multiple of eight,
// are ASCII that stringProblem accepts: no byte below 0x21 for an
// identifier (space and control characters) or else NUL, and no DEL in an
// identifier.
func asciiPrefix(s string, ident bool) int {
	lo := uint64(0x01)
	if ident {
		lo = 0x21
	}
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := word(s, i)
		if x&highs != 0 || below(x, lo) || ident && holds(x, 0x7f) {
			break
		}
	}
	return i
}

// plainPrefix returns how many leading bytes of s, a multiple of eight,
// appendString copies as they are: ASCII from 0x20 up, except '"' and '\\'.
func plainPrefix(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := word(s, i)
		if x&highs != 0 || below(x, 0x20) || holds(x, '"') || holds(x, '\\') {
			break
		}
	}
	return i
}
