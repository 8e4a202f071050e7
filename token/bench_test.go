package token

import (
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"sync/atomic"
	"testing"
)

// Benchmarks run in parallel so that -cpu 1,2 shows contention on the
// cache's shard locks and the keyring snapshot.

func BenchmarkVerifyUncached(b *testing.B) {
	for _, alg := range []string{AlgEdDSA, AlgES256} {
		b.Run(alg, func(b *testing.B) {
			fx := newFixture(b, alg)
			raw := fx.sign(b, fx.kr, fx.claims())
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := fx.vu.Verify(raw); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func BenchmarkVerifyCached(b *testing.B) {
	fx := newFixture(b, AlgEdDSA)
	// Many distinct tokens, as in production, spread hits over the shards.
	toks := make([]string, 1024)
	for i := range toks {
		toks[i] = fx.sign(b, fx.kr, fx.claims())
		if _, err := fx.v.Verify(toks[i]); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Uint32
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(7919))
		for pb.Next() {
			i++
			if _, err := fx.v.Verify(toks[i%len(toks)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSign(b *testing.B) {
	for _, alg := range []string{AlgEdDSA, AlgES256} {
		b.Run(alg, func(b *testing.B) {
			fx := newFixture(b, alg)
			c := fx.claims()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := fx.kr.Sign(c); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkEd25519Floor is the bare signature check of the same token: the
// floor under BenchmarkVerifyUncached/EdDSA on this machine.
func BenchmarkEd25519Floor(b *testing.B) {
	fx := newFixture(b, AlgEdDSA)
	raw := fx.sign(b, fx.kr, fx.claims())
	kid := fx.currentKid(fx.kr)
	pub := fx.kr.snap.Load().keys[kid].pub.(ed25519.PublicKey)
	i := strings.LastIndexByte(raw, '.')
	msg := []byte(raw[:i])
	sig, _ := base64.RawURLEncoding.DecodeString(raw[i+1:])
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("bad signature")
			}
		}
	})
}
