package password

import (
	"context"
	"testing"
)

// FuzzVerifyEncoded feeds arbitrary stored hashes and passwords to Verify. It
// must never panic, must agree with ValidateEncoded on what is well formed,
// and must accept at most one of two different passwords.
func FuzzVerifyEncoded(f *testing.F) {
	seeds := []struct{ enc, plain string }{
		{"$argon2id$v=19$m=64,t=1,p=1$YWjQK+VpPMwFZNi9evC2aA$iVVr5Jl7u9a++ODfUGGhT5IxyWxIqEk6JxEdfd4TJmQ", "correct horse"},
		{"$argon2id$v=19$m=32,t=2,p=2$TJE49wK7suA$nR5m3DZW0Jb0mGsrVRhXIA", ""},
		{"$2a$04$vWD9Pj5w7EFegAEY.FHLvev.HbqnED7FPjkdenB8dgChN1Csxd5P6", "correct horse"},
		{"$2b$04$vWD9Pj5w7EFegAEY.FHLvev.HbqnED7FPjkdenB8dgChN1Csxd5P6", "correct horse"},
		{"$2y$04$vWD9Pj5w7EFegAEY.FHLvev.HbqnED7FPjkdenB8dgChN1Csxd5P6", "correct horse"},
		{"$2y$07$BCryptRequires22Chrcte/VlQH0piJtjXl.0t1XkA8pw9dMXTpOq", "rasmuslerdorf"},
		{"", ""},
		{"$argon2id$", "x"},
		{"$argon2id$v=19$m=64,t=1,p=1$YWjQK+VpPMwFZNi9evC2aA", "x"},
		{"$argon2id$v=19$m=4194305,t=1,p=1$YWjQK+VpPMwFZNi9evC2aA$iVVr5Jl7u9a++ODfUGGhT5IxyWxIqEk6JxEdfd4TJmQ", "x"},
		{"$argon2id$v=19$m=64,t=1,p=1$YWjQK+VpPMwFZNi9evC2aA$!!!!", "x"},
		{"$argon2i$v=19$m=64,t=1,p=1$YWjQK+VpPMwFZNi9evC2aA$iVVr5Jl7u9a++ODfUGGhT5IxyWxIqEk6JxEdfd4TJmQ", "x"},
		{"$2x$04$vWD9Pj5w7EFegAEY.FHLvev.HbqnED7FPjkdenB8dgChN1Csxd5P6", "correct horse"},
		{"$2b$+4$vWD9Pj5w7EFegAEY.FHLvev.HbqnED7FPjkdenB8dgChN1Csxd5P6", "correct horse"},
		{"$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E", "x"},
	}
	for _, s := range seeds {
		f.Add(s.enc, s.plain)
	}
	h, err := NewHasher(testParams, 1)
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()

	f.Fuzz(func(t *testing.T, enc, plain string) {
		verr := ValidateEncoded(enc)
		if verr != nil && codeOf(verr) != "unsupported_hash" {
			t.Fatalf("ValidateEncoded error %v is not unsupported_hash", verr)
		}
		if verr == nil && tooCostlyToFuzz(enc) {
			return
		}
		ok, rehash, err := h.Verify(ctx, plain, enc)
		if (err == nil) != (verr == nil) {
			t.Fatalf("Verify error %v disagrees with ValidateEncoded error %v", err, verr)
		}
		if err != nil {
			if ok || rehash || codeOf(err) != "unsupported_hash" {
				t.Fatalf("Verify = %v, %v, %v; want false, false, unsupported_hash", ok, rehash, err)
			}
			return
		}
		if !ok {
			if rehash {
				t.Fatal("needsRehash without a match")
			}
			return
		}
		// Changing the first byte changes the input of both algorithms (even
		// bcrypt's, which ignores bytes past 72), so it must not also match.
		other := "x"
		if plain != "" {
			other = string(plain[0]^1) + plain[1:]
		}
		if ok2, _, err := h.Verify(ctx, other, enc); ok2 || err != nil {
			t.Fatalf("hash matches both %q and %q (err %v)", plain, other, err)
		}
	})
}

// tooCostlyToFuzz skips well-formed hashes whose params, though within the
// production limits, would make each fuzz iteration take seconds.
func tooCostlyToFuzz(enc string) bool {
	s, err := parseEncoded(enc)
	if err != nil {
		return false
	}
	switch s := s.(type) {
	case *argon2Hash:
		return s.params.MemoryKiB > 1024 || s.params.Iterations > 4 || s.params.Parallelism > 4
	case *bcryptHash:
		return string(s.encoded[4:6]) > "06"
	}
	return true
}
