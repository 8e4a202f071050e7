package token

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/fault"
)

// Defaults of KeyringOptions.
const (
	DefaultTokenTTL = time.Hour
	DefaultLeeway   = time.Minute
)

// KeyringOptions configure a Keyring. Zero values take the defaults.
type KeyringOptions struct {
	// Algorithm of newly generated keys: AlgEdDSA (default) or AlgES256.
	// Existing keys keep theirs, so a change applies from the next rotation.
	Algorithm string
	// TokenTTL is the longest lifetime of a token Sign accepts. An old key is
	// published until its successor has signed for TokenTTL+Leeway, so it
	// must not be shorter than the access token lifetime. Default 1h.
	TokenTTL time.Duration
	// Leeway is the clock skew tolerated between replicas. Default 1m.
	Leeway time.Duration
	// ActivationDelay is how long a new key is published before it signs.
	// With several replicas, set it to at least the Refresh period, so that
	// every replica can verify a new key's tokens before any replica issues
	// them. Default 0: a rotated key signs at once.
	ActivationDelay time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Keyring holds the signing keys of one process: the key that signs and the
// keys whose tokens may still be alive. Reads (Sign, JWKS, verification)
// use an immutable snapshot and take no lock.
type Keyring struct {
	store  KeyStore
	sealer *Sealer
	opts   KeyringOptions
	// mu serialises reloads, so that a slow listing cannot replace the
	// snapshot built from a newer one.
	mu   sync.Mutex
	snap atomic.Pointer[snapshot]
}

type snapshot struct {
	// signers holds the key that signs now, preceded by any newer keys not
	// yet active, newest first.
	signers []*signingKey
	keys    map[string]*VerificationKey
	jwks    []byte
}

// NewKeyring returns an empty Keyring; call Load before use.
func NewKeyring(store KeyStore, sealer *Sealer, opts KeyringOptions) *Keyring {
	if opts.Algorithm == "" {
		opts.Algorithm = AlgEdDSA
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.Leeway <= 0 {
		opts.Leeway = DefaultLeeway
	}
	if opts.ActivationDelay < 0 {
		opts.ActivationDelay = 0
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Keyring{store: store, sealer: sealer, opts: opts}
}

// Load reads the keys, generating the first one on an empty store.
func (kr *Keyring) Load(ctx context.Context) error {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	return kr.reload(ctx, true)
}

// Refresh re-reads the keys, so that a rotation or prune made by another
// process takes effect here. It never generates a key.
func (kr *Keyring) Refresh(ctx context.Context) error {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	return kr.reload(ctx, false)
}

// Rotate generates a new key, stores it and reloads. Other replicas pick it
// up at their next Refresh.
func (kr *Keyring) Rotate(ctx context.Context) (StoredKey, error) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	keys, err := kr.list(ctx)
	if err != nil {
		return StoredKey{}, err
	}
	created := kr.opts.Now()
	// The new key must sort first even if the newest key is not older (a
	// coarse or skewed clock); otherwise the rotation would not take effect.
	if len(keys) > 0 && !created.After(keys[0].CreatedAt) {
		created = keys[0].CreatedAt.Add(time.Microsecond)
	}
	k, err := generateKey(kr.opts.Algorithm, kr.sealer, created)
	if err != nil {
		return StoredKey{}, err
	}
	if err := kr.store.InsertSigningKey(ctx, k); err != nil {
		return StoredKey{}, err
	}
	return k, kr.reload(ctx, false)
}

// Prune deletes the keys no longer published: every token they signed has
// expired. It returns the deleted key ids.
func (kr *Keyring) Prune(ctx context.Context) ([]string, error) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	keys, err := kr.list(ctx)
	if err != nil {
		return nil, err
	}
	var deleted []string
	for _, k := range keys[kr.publishedCount(keys, kr.opts.Now()):] {
		err := kr.store.DeleteSigningKey(ctx, k.ID)
		switch {
		case err == nil:
			deleted = append(deleted, k.ID)
		case errors.Is(err, fault.ErrNotFound):
			// Another replica pruned it first.
		default:
			return deleted, err
		}
	}
	return deleted, kr.reload(ctx, false)
}

// JWKS returns the published keys as an RFC 7517 JWK Set. The slice is
// shared: do not modify it.
func (kr *Keyring) JWKS() []byte {
	if s := kr.snap.Load(); s != nil {
		return s.jwks
	}
	return []byte(`{"keys":[]}`)
}

// list returns the stored keys newest first, ties broken by id so that every
// replica picks the same signing key.
func (kr *Keyring) list(ctx context.Context) ([]StoredKey, error) {
	keys, err := kr.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(a, b StoredKey) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return keys, nil
}

// publishedCount returns how many of keys (newest first) must be published
// at now: the newest, and each older one whose successor started signing less
// than TokenTTL+Leeway ago, since that key signed tokens until then.
func (kr *Keyring) publishedCount(keys []StoredKey, now time.Time) int {
	window := kr.opts.ActivationDelay + kr.opts.TokenTTL + kr.opts.Leeway
	n := min(len(keys), 1)
	for n < len(keys) && now.Before(keys[n-1].CreatedAt.Add(window)) {
		n++
	}
	return n
}

func (kr *Keyring) reload(ctx context.Context, create bool) error {
	keys, err := kr.list(ctx)
	if err != nil {
		return err
	}
	if len(keys) == 0 && create {
		k, err := generateKey(kr.opts.Algorithm, kr.sealer, kr.opts.Now())
		if err != nil {
			return err
		}
		// A Conflict means another replica stored a key first; use what is there.
		if err := kr.store.InsertSigningKey(ctx, k); err != nil && !errors.Is(err, fault.ErrConflict) {
			return err
		}
		if keys, err = kr.list(ctx); err != nil {
			return err
		}
	}
	if len(keys) == 0 {
		return fault.New(fault.Unavailable, CodeNoSigningKeys, "there are no signing keys")
	}
	s, err := kr.build(keys, kr.opts.Now())
	if err != nil {
		return err
	}
	kr.snap.Store(s)
	return nil
}

// build parses the published keys and unseals the ones that may sign.
func (kr *Keyring) build(keys []StoredKey, now time.Time) (*snapshot, error) {
	prev := kr.snap.Load()
	published := keys[:kr.publishedCount(keys, now)]
	s := &snapshot{keys: make(map[string]*VerificationKey, len(published))}
	vks := make([]*VerificationKey, 0, len(published))
	for _, k := range published {
		var old *VerificationKey
		if prev != nil {
			old = prev.keys[k.ID]
		}
		vk, err := parsePublicKey(k, old)
		if err != nil {
			return nil, err
		}
		s.keys[k.ID] = vk
		vks = append(vks, vk)
	}
	for i, k := range published {
		activeFrom := k.CreatedAt.Add(kr.opts.ActivationDelay)
		// Only the signing key and newer ones are unsealed; the oldest key
		// signs if none is active yet, which happens only to a first key.
		if len(s.signers) > 0 && s.signers[len(s.signers)-1].activeFrom.Compare(now) <= 0 {
			break
		}
		sk, err := openPrivateKey(k, vks[i], kr.sealer, activeFrom)
		if err != nil {
			return nil, err
		}
		s.signers = append(s.signers, sk)
	}
	jwks, err := buildJWKS(vks)
	if err != nil {
		return nil, err
	}
	s.jwks = jwks
	return s, nil
}

// signer returns the key that signs at now.
func (s *snapshot) signer(now time.Time) *signingKey {
	for _, sk := range s.signers {
		if sk.activeFrom.Compare(now) <= 0 {
			return sk
		}
	}
	return s.signers[len(s.signers)-1]
}
