// Package password hashes and verifies user passwords and checks new ones
// against Tollgate's password policy (NIST SP 800-63B).
//
// New hashes are always argon2id in PHC string form. Legacy bcrypt hashes
// (imported from other systems) still verify, and are reported as needing a
// rehash so callers can upgrade them on the next successful login.
package password

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"runtime"
	"strings"
	"sync/atomic"

	"github.com/tollgate/tollgate/fault"
)

// Params are argon2id cost parameters.
type Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
	SaltLen     uint32
	KeyLen      uint32
}

// DefaultParams returns OWASP's recommended argon2id configuration
// (19 MiB, t=2, p=1), which balances login latency against GPU cracking cost.
func DefaultParams() Params {
	return Params{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}
}

// validate applies the same limits that parsing applies to stored hashes, so
// that every hash a Hasher writes is one it will later agree to verify.
func (p Params) validate() error {
	switch {
	case p.Parallelism < 1 || uint32(p.Parallelism) > maxParallelism:
		return paramsErr("parallelism must be between 1 and %d", maxParallelism)
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return paramsErr("iterations must be between 1 and %d", maxIterations)
	case p.MemoryKiB < 8*uint32(p.Parallelism):
		return paramsErr("memory must be at least 8 KiB per lane")
	case p.MemoryKiB > maxMemoryKiB:
		return paramsErr("memory must be at most %d KiB", maxMemoryKiB)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return paramsErr("salt length must be between %d and %d bytes", minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return paramsErr("key length must be between %d and %d bytes", minKeyLen, maxKeyLen)
	}
	return nil
}

func paramsErr(format string, args ...any) error {
	return fault.Invalidf("", CodeInvalidHashParams, format, args...)
}

// Hasher hashes and verifies passwords. It is safe for concurrent use; the
// zero value is not usable, build one with NewHasher.
type Hasher struct {
	params Params
	// sem bounds the number of simultaneous hash computations: each one holds
	// MemoryKiB of RAM and a CPU for tens of milliseconds, so an unbounded
	// burst of logins would starve every other request on the replica.
	sem      chan struct{}
	inFlight atomic.Int64
	waiting  atomic.Int64
	// dummy is a real hash of a random secret under the current params, so
	// VerifyDummy costs exactly what a wrong password for a real account does.
	dummy string
	// worker, when set, does the computations in a low-priority process.
	worker *Worker
}

// Option adjusts a Hasher.
type Option func(*Hasher)

// WithWorker makes the Hasher compute in w's process instead of its own.
func WithWorker(w *Worker) Option { return func(h *Hasher) { h.worker = w } }

// NewHasher returns a Hasher writing argon2id hashes with p and running at
// most concurrency hash computations at a time (GOMAXPROCS when < 1).
func NewHasher(p Params, concurrency int, opts ...Option) (*Hasher, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if concurrency < 1 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	h := &Hasher{params: p, sem: make(chan struct{}, concurrency)}
	for _, o := range opts {
		o(h)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails on supported platforms
	h.dummy = newArgon2(hex.EncodeToString(secret), p).String()
	return h, nil
}

// Hash returns the argon2id PHC string of plain under the Hasher's params.
func (h *Hasher) Hash(ctx context.Context, plain string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	if h.worker != nil {
		return h.worker.hash(plain, h.params)
	}
	return newArgon2(plain, h.params).String(), nil
}

// Verify reports whether plain matches encoded, an argon2id PHC string or a
// legacy bcrypt ($2a$, $2b$, $2y$) hash. needsRehash is true only when ok is,
// and then when encoded is bcrypt or argon2id with params other than the
// Hasher's: the caller should store a fresh Hash while it holds the plain text.
//
// It fails with Invalid "unsupported_hash" when encoded is malformed, of an
// unsupported kind, or has costs above the package limits, and with
// Unavailable "hasher_busy" when ctx ends before a computation slot frees up.
//
// As with every bcrypt implementation, only the first 72 bytes of plain count
// against a bcrypt hash.
func (h *Hasher) Verify(ctx context.Context, plain, encoded string) (ok, needsRehash bool, err error) {
	s, err := parseEncoded(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	if h.worker != nil {
		ok, err = h.worker.verify(plain, encoded)
	} else {
		ok, err = s.matches(plain)
	}
	h.release()
	if err != nil || !ok {
		return false, false, err
	}
	return true, s.outdated(h.params), nil
}

// VerifyDummy does the work of a failed Verify against a hash with the
// current params and discards the result. Call it when the account does not
// exist, so that the response time does not reveal which emails are
// registered.
//
// If ctx ends while waiting for a slot it returns early, as Verify would with
// hasher_busy; callers that check ctx.Err() afterwards and answer as they do
// for hasher_busy keep the two paths indistinguishable under load too.
func (h *Hasher) VerifyDummy(ctx context.Context, plain string) {
	_, _, _ = h.Verify(ctx, plain, h.dummy)
}

// ValidateEncoded checks that encoded is a hash Verify accepts: argon2id PHC
// or bcrypt within the cost limits. It is for importing users whose password
// hashes come from another system.
func ValidateEncoded(encoded string) error {
	_, err := parseEncoded(encoded)
	return err
}

// InFlight returns the number of hash computations running now.
func (h *Hasher) InFlight() int { return int(h.inFlight.Load()) }

// Waiting returns the number of callers queued for a computation slot.
func (h *Hasher) Waiting() int { return int(h.waiting.Load()) }

// acquire takes a computation slot, giving up with hasher_busy when ctx ends
// first: a client that has gone away should not cost a hash computation.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return Busy(err)
	}
	select {
	case h.sem <- struct{}{}:
		h.inFlight.Add(1)
		return nil
	default:
	}
	h.waiting.Add(1)
	defer h.waiting.Add(-1)
	select {
	case h.sem <- struct{}{}:
		h.inFlight.Add(1)
		return nil
	case <-ctx.Done():
		return Busy(ctx.Err())
	}
}

func (h *Hasher) release() {
	h.inFlight.Add(-1)
	<-h.sem
}

// Busy is the error of a password check that could not get a computation
// slot in time. Callers that answer for an unknown account without hashing
// return it too, so that the two answers cannot be told apart.
func Busy(cause error) error {
	return &fault.Error{
		Kind:   fault.Unavailable,
		Code:   CodeHasherBusy,
		Detail: "The server is busy checking passwords; try again shortly.",
		Err:    cause,
	}
}

// stored is a parsed password hash of any supported algorithm.
type stored interface {
	matches(plain string) (bool, error)
	// outdated reports whether a hash should be replaced by one made with
	// current params.
	outdated(current Params) bool
}

// parseEncoded parses encoded without doing any expensive work, so malformed
// or hostile hashes are rejected before they take a computation slot.
func parseEncoded(encoded string) (stored, error) {
	switch {
	case strings.HasPrefix(encoded, argon2Prefix):
		a, err := parseArgon2(encoded)
		if err != nil {
			return nil, err
		}
		return a, nil
	case strings.HasPrefix(encoded, "$2"):
		b, err := parseBcrypt(encoded)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	return nil, unsupported("unknown algorithm")
}

// unsupported reports a hash that is not in a supported format. The reason is
// for logs; the hash itself is never included because it is secret material.
func unsupported(reason string) error {
	return &fault.Error{
		Kind:   fault.Invalid,
		Code:   CodeUnsupportedHash,
		Detail: "The password hash is not in a supported format (argon2id PHC or bcrypt).",
		Err:    hashErr(reason),
	}
}

type hashErr string

func (e hashErr) Error() string { return "password hash: " + string(e) }
