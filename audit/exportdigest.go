package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/fault"
)

// ExportWriter receives an export: its events in seq order, and each
// digest that covers one of them right after the event it covers.
type ExportWriter interface {
	Write(e *Event) error
	WriteDigest(d *Digest) error
}

// DigestLineType tells a digest line of an export from an event line,
// which is an OCSF object and has no "type" member.
const DigestLineType = "tollgate.audit.digest"

// digestLine is a digest as an export line holds it: every field its
// signature covers (DigestMessage), so that it verifies offline.
type digestLine struct {
	Type string `json:"type"`
	// Kind is "prune" for a prune anchor, omitted for a periodic digest.
	Kind       string `json:"kind,omitempty"`
	Tenant     string `json:"tenant"`
	ThroughSeq int64  `json:"through_seq"`
	HeadHash   string `json:"head_hash"`
	Time       int64  `json:"time"`
	KeyID      string `json:"key_id"`
	Signature  string `json:"signature"`
}

func toDigestLine(d *Digest) digestLine {
	kind := ""
	if d.Kind == DigestPrune {
		kind = string(DigestPrune)
	}
	return digestLine{Type: DigestLineType, Kind: kind, Tenant: d.TenantID, ThroughSeq: d.ThroughSeq, HeadHash: hex.EncodeToString(d.HeadHash),
		Time: d.Time.UnixMicro(), KeyID: d.KeyID, Signature: base64.StdEncoding.EncodeToString(d.Signature)}
}

func (l *digestLine) digest() (Digest, error) {
	hash, err := hex.DecodeString(l.HeadHash)
	if err != nil {
		return Digest{}, fmt.Errorf("head_hash: %w", err)
	}
	sig, err := base64.StdEncoding.DecodeString(l.Signature)
	if err != nil {
		return Digest{}, fmt.Errorf("signature: %w", err)
	}
	if l.ThroughSeq < 1 {
		return Digest{}, fmt.Errorf("through_seq %d", l.ThroughSeq)
	}
	kind := DigestHead
	switch l.Kind {
	case "":
	case string(DigestPrune):
		kind = DigestPrune
	default:
		return Digest{}, fmt.Errorf("kind %q", l.Kind)
	}
	return Digest{TenantID: l.Tenant, ThroughSeq: l.ThroughSeq, HeadHash: hash, Time: microTime(l.Time), KeyID: l.KeyID,
		Signature: sig, Kind: kind}, nil
}

// coveringDigests returns the stream's digests through first-1..last:
// the one through first-1 anchors the run's first prev_hash (after a
// prune, it is the prune anchor).
func coveringDigests(ctx context.Context, r Reader, stream string, first, last int64) ([]Digest, error) {
	all, err := readDigests(ctx, r, stream, max(first-2, 0))
	if err != nil {
		return nil, err
	}
	n := 0
	for n < len(all) && all[n].ThroughSeq <= last {
		n++
	}
	return all[:n], nil
}

// ExportStream is Export without the rule, for the command line, which
// reads the database directly. The digests through the exported run are
// written after the events they cover; the one through the seq before the
// run, if any, comes first.
func ExportStream(ctx context.Context, st ServiceStore, stream string, from, to time.Time, w ExportWriter) error {
	first, last, err := st.AuditSeqRange(ctx, stream, from.Truncate(time.Microsecond), to.Truncate(time.Microsecond))
	if err != nil || first == 0 {
		return err
	}
	digests, err := coveringDigests(ctx, st, stream, first, last)
	if err != nil {
		return err
	}
	after := first - 1
	for after < last {
		evs, err := st.ReadAudit(ctx, stream, after, int(min(exportPage, last-after)))
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			return nil
		}
		for i := range evs {
			for len(digests) > 0 && digests[0].ThroughSeq < evs[i].Seq {
				if err := w.WriteDigest(&digests[0]); err != nil {
					return err
				}
				digests = digests[1:]
			}
			if err := w.Write(&evs[i]); err != nil {
				return err
			}
			for len(digests) > 0 && digests[0].ThroughSeq == evs[i].Seq {
				if err := w.WriteDigest(&digests[0]); err != nil {
					return err
				}
				digests = digests[1:]
			}
		}
		after = evs[len(evs)-1].Seq
	}
	return nil
}

// WriteDigest writes one digest line.
func (n *NDJSONWriter) WriteDigest(d *Digest) error { return n.enc.Encode(toDigestLine(d)) }

// ParseJWKS reads the digest keys of a JWK Set as GET
// /.well-known/audit-keys.json publishes it (kty OKP, crv Ed25519); other
// keys are skipped.
func ParseJWKS(b []byte) (Keys, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Crv string `json:"crv"`
			X   string `json:"x"`
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fault.Wrap(fault.Invalid, CodeKeysInvalid, fmt.Errorf("the key set is not a JWK Set: %w", err))
	}
	keys := Keys{}
	for _, k := range set.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" {
			continue
		}
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize || k.Kid == "" {
			return nil, fault.New(fault.Invalid, CodeKeysInvalid, fmt.Sprintf("key %q is not an Ed25519 public key", k.Kid))
		}
		keys[k.Kid] = ed25519.PublicKey(x)
	}
	if len(keys) == 0 {
		return nil, fault.New(fault.Invalid, CodeKeysInvalid, "the key set holds no Ed25519 key")
	}
	return keys, nil
}

// digestLinePrefix starts every digest line (type is its first member);
// an event line, an OCSF object, starts otherwise.
var digestLinePrefix = []byte(`{"type":"` + DigestLineType + `"`)

// parseDigestLine decodes a digest line; ok is false for any other line,
// which is told apart by its first bytes, so that event lines are not
// decoded twice.
func parseDigestLine(b []byte) (d Digest, ok bool, err error) {
	if !bytes.HasPrefix(b, digestLinePrefix) {
		return Digest{}, false, nil
	}
	var l digestLine
	if err := json.Unmarshal(b, &l); err != nil {
		return Digest{}, true, err
	}
	d, err = l.digest()
	return d, true, err
}
