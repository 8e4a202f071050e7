package credential

import (
	"hash/maphash"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/cache"
)

// keyEntry is what one store read of an API key established: the key and
// what its holder may do.
type keyEntry struct {
	key       apikey.Key
	actorType string
	perms     []string
	// holderErr is why the holder cannot act (disabled, removed from the
	// tenant); cached too, so a rejected key does not reach the store on
	// every attempt.
	holderErr error
}

// keyCache maps key ids to entries.
type keyCache = cache.Bounded[string, *keyEntry]

func newKeyCache(size int) *keyCache {
	seed := maphash.MakeSeed()
	return cache.New[string, *keyEntry](size, func(id string) uint64 { return maphash.String(seed, id) })
}

// reachEntry is a service's reach as its registration says: the tenants
// and resource types its tokens act on.
type reachEntry struct{ tenants, types []string }

// reachCache maps service names to their reach.
type reachCache = cache.Bounded[string, reachEntry]

func newReachCache(size int) *reachCache {
	seed := maphash.MakeSeed()
	return cache.New[string, reachEntry](size, func(name string) uint64 { return maphash.String(seed, name) })
}
