package password

import (
	"context"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// The benchmarks measure one login's cost at production settings, which is
// what sizes the hasher's concurrency and a replica's login throughput.

func BenchmarkHashDefault(b *testing.B) {
	h := newTestHasher(b, DefaultParams(), 1)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyDefault(b *testing.B) {
	h := newTestHasher(b, DefaultParams(), 1)
	ctx := context.Background()
	enc := mustHash(b, h, "correct horse battery staple")
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, "correct horse battery staple", enc); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkVerifyBcrypt12(b *testing.B) {
	h := newTestHasher(b, DefaultParams(), 1)
	ctx := context.Background()
	gen, err := bcrypt.GenerateFromPassword([]byte("correct horse battery staple"), 12)
	if err != nil {
		b.Fatal(err)
	}
	enc := string(gen)
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, "correct horse battery staple", enc); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
