package token

import "github.com/tollgate/tollgate/cache"

// tokenCache maps SHA-256(raw token) to verified claims.
type tokenCache = cache.Bounded[[32]byte, cacheEntry]

// cacheEntry holds what a hit must re-check, as Unix nanoseconds so the
// check is a few integer comparisons.
type cacheEntry struct {
	claims *Claims
	// key is the key that verified the token; a hit is valid only while the
	// current snapshot still publishes this very key.
	key *VerificationKey
	// validFrom and deadline bound now: nbf/iat minus leeway, exp plus leeway.
	validFrom, deadline int64
}

// Token hashes are uniform: their first byte picks the shard.
func newTokenCache(size int) *tokenCache {
	return cache.New[[32]byte, cacheEntry](size, func(k [32]byte) uint64 { return uint64(k[0]) })
}
