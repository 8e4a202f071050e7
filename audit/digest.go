package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/token"
)

// Digest is a signed statement that a stream's chain reached ThroughSeq
// with HeadHash at Time. Whoever can write to the database can recompute
// every hash of a chain, but cannot sign: a digest pins the prefix it
// covers, as CloudTrail's digest files do.
type Digest struct {
	TenantID   string
	ThroughSeq int64
	HeadHash   []byte
	Time       time.Time
	// KeyID names the Ed25519 key of the audit keyring that signed.
	KeyID     string
	Signature []byte
	// Kind is DigestHead ("" reads as it) for a periodic digest, or
	// DigestPrune for the anchor of a pruned stream.
	Kind DigestKind
}

// DigestKind tells a periodic digest of a head from the anchor retention
// leaves when it deletes a stream's oldest events.
type DigestKind string

const (
	DigestHead DigestKind = "head"
	// DigestPrune states that every event through ThroughSeq was deleted
	// by retention, the last of them with HeadHash: the remaining chain
	// starts at ThroughSeq+1 and links to HeadHash. Its signature has a
	// prefix of its own, so that a periodic digest can never pass for one
	// (which would let whoever can write to the database cut a stream's
	// start at any digest and call it pruning).
	DigestPrune DigestKind = "prune"
)

// digestDomain leads every signed digest message. It keeps a signature
// over a digest from ever being valid for anything else the key might
// sign, and holds a space and a newline, which no JWT signing input does.
const digestDomain = "tollgate audit digest v1\n"

// pruneDomain leads the message of a DigestPrune.
const pruneDomain = "tollgate audit prune v1\n"

// DigestMessage is what a digest's signature covers: digestDomain
// (pruneDomain for a DigestPrune), then a JSON object with its members in this order, strings escaped as in
// Canonical, the hash in lower-case hex and the time in UTC microseconds.
//
//	{"tenant":"…","through_seq":42,"head_hash":"…","time":1700000000000000,"key_id":"…"}
func DigestMessage(d *Digest) []byte {
	b := make([]byte, 0, 200)
	if d.Kind == DigestPrune {
		b = append(b, pruneDomain...)
	} else {
		b = append(b, digestDomain...)
	}
	b = append(b, `{"tenant":`...)
	b = appendString(b, d.TenantID)
	b = append(b, `,"through_seq":`...)
	b = strconv.AppendInt(b, d.ThroughSeq, 10)
	b = append(b, `,"head_hash":"`...)
	b = hex.AppendEncode(b, d.HeadHash)
	b = append(b, `","time":`...)
	b = strconv.AppendInt(b, d.Time.UnixMicro(), 10)
	b = append(b, `,"key_id":`...)
	b = appendString(b, d.KeyID)
	return append(b, '}')
}

// Signer signs digests. token.Keyring implements it; the audit log uses a
// keyring of its own (Store.AuditKeyStore), so the digest key is rotated
// and published like the token keys but is never a token key.
type Signer interface {
	// SignMessage signs build(kid) with the key that signs now, kid being
	// that key's id, which the message must hold.
	SignMessage(build func(kid string) []byte) (kid string, sig []byte, err error)
}

// KeySet holds the public keys that verify digests.
type KeySet interface {
	// DigestKey returns the Ed25519 public key named id.
	DigestKey(id string) (ed25519.PublicKey, bool)
}

// Keys is a KeySet from a map.
type Keys map[string]ed25519.PublicKey

// DigestKey implements KeySet.
func (k Keys) DigestKey(id string) (ed25519.PublicKey, bool) {
	p, ok := k[id]
	return p, ok
}

// LoadKeys reads every digest key ks holds — pruned keys are never deleted,
// since old digests stay to be verified. With a sealer, each public key is
// authenticated: its sealed private half must open with the master key and
// match. Without one, someone who can write to the database could add a
// key of their own and sign forged digests; verify says so.
func LoadKeys(ctx context.Context, ks token.KeyStore, sealer *token.Sealer) (Keys, error) {
	stored, err := ks.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	keys := make(Keys, len(stored))
	for _, k := range stored {
		pub, err := parseDigestKey(k, sealer)
		if err != nil {
			return nil, err
		}
		keys[k.ID] = pub
	}
	return keys, nil
}

func parseDigestKey(k token.StoredKey, sealer *token.Sealer) (ed25519.PublicKey, error) {
	bad := func(cause error) error {
		return fault.Wrap(fault.Internal, token.CodeSigningKeyInvalid, fmt.Errorf("audit digest key %s: %w", k.ID, cause))
	}
	p, err := x509.ParsePKIXPublicKey(k.PublicKey)
	if err != nil {
		return nil, bad(err)
	}
	pub, ok := p.(ed25519.PublicKey)
	if !ok || k.Algorithm != token.AlgEdDSA {
		return nil, bad(fmt.Errorf("not an Ed25519 key (%s)", k.Algorithm))
	}
	if sealer == nil {
		return pub, nil
	}
	der, err := sealer.Open(k.ID, k.SealedPrivateKey)
	if err != nil {
		return nil, err
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, bad(err)
	}
	if sk, ok := priv.(ed25519.PrivateKey); !ok || !pub.Equal(sk.Public()) {
		return nil, bad(errors.New("the private key does not match the public key"))
	}
	return pub, nil
}

// DigestStore is what the Digester needs of a Store.
type DigestStore interface {
	AuditHead(ctx context.Context, tenantID string) (Head, error)
	ListAuditHeads(ctx context.Context, after *string, limit int) ([]Head, error)
	InsertAuditDigest(ctx context.Context, d Digest) error
}

// DefaultDigestInterval is how often Run signs the streams that moved.
const DefaultDigestInterval = time.Hour

// Digester signs the heads of streams. Replicas may all run one: two
// digests of the same head collide on the store's key and the second is
// dropped.
type Digester struct {
	store    DigestStore
	signer   Signer
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger
}

// DigesterOptions configure a Digester; zero values take the defaults.
type DigesterOptions struct {
	Interval time.Duration
	Now      func() time.Time
	Log      *slog.Logger
}

// NewDigester returns a Digester over st signing with signer.
func NewDigester(st DigestStore, signer Signer, opts DigesterOptions) *Digester {
	if opts.Interval <= 0 {
		opts.Interval = DefaultDigestInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Digester{store: st, signer: signer, interval: opts.Interval, now: opts.Now, log: opts.Log}
}

// Run signs every stream that moved since its last digest, now and then
// every interval, until ctx ends. Errors are logged and retried at the
// next tick: a missed digest weakens no earlier one.
func (d *Digester) Run(ctx context.Context) error {
	t := time.NewTicker(d.interval)
	defer t.Stop()
	for {
		if n, err := d.DigestAll(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("audit digests", "err", err, "signed", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// DigestAll signs the head of every stream whose head is beyond its newest
// digest and returns how many it stored.
func (d *Digester) DigestAll(ctx context.Context) (int, error) {
	n := 0
	var after *string
	for {
		heads, err := d.store.ListAuditHeads(ctx, after, MaxPage)
		if err != nil {
			return n, err
		}
		for _, h := range heads {
			if h.Seq <= h.DigestSeq {
				continue
			}
			_, stored, err := d.sign(ctx, h)
			if err != nil {
				return n, err
			}
			if stored {
				n++
			}
		}
		if len(heads) < MaxPage {
			return n, nil
		}
		last := heads[len(heads)-1].TenantID
		after = &last
	}
}

// DigestStream signs the stream's current head, unless it is empty. It
// reports false when another replica signed the same head first.
func (d *Digester) DigestStream(ctx context.Context, tenantID string) (Digest, bool, error) {
	h, err := d.store.AuditHead(ctx, tenantID)
	if err != nil || h.Seq == 0 {
		return Digest{}, false, err
	}
	return d.sign(ctx, h)
}

func (d *Digester) sign(ctx context.Context, h Head) (Digest, bool, error) {
	dg, err := d.build(h, DigestHead)
	if err != nil {
		return Digest{}, false, err
	}
	err = d.store.InsertAuditDigest(ctx, dg)
	if errors.Is(err, &fault.Error{Code: CodeDigestExists}) {
		return dg, false, nil
	}
	return dg, err == nil, err
}

func (d *Digester) build(h Head, kind DigestKind) (Digest, error) {
	dg := Digest{
		TenantID: h.TenantID, ThroughSeq: h.Seq, HeadHash: h.Hash,
		Time: d.now().UTC().Truncate(time.Microsecond), Kind: kind,
	}
	kid, sig, err := d.signer.SignMessage(func(kid string) []byte {
		dg.KeyID = kid
		return DigestMessage(&dg)
	})
	if err != nil {
		return Digest{}, fault.Wrap(fault.Internal, CodeDigestSigningFailed, err)
	}
	if kid != dg.KeyID || len(sig) != ed25519.SignatureSize {
		return Digest{}, fault.New(fault.Internal, CodeDigestSigningFailed, "the signer returned no Ed25519 signature for the digest")
	}
	dg.Signature = sig
	return dg, nil
}
