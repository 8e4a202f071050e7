package password

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/fault"
	"golang.org/x/crypto/bcrypt"
)

// testParams keep argon2id cheap so the suite stays fast under -race.
var testParams = Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func newTestHasher(t testing.TB, p Params, concurrency int) *Hasher {
	t.Helper()
	h, err := NewHasher(p, concurrency)
	if err != nil {
		t.Fatalf("NewHasher(%+v): %v", p, err)
	}
	return h
}

func codeOf(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return string(fe.Code)
	}
	return ""
}

func mustHash(t testing.TB, h *Hasher, plain string) string {
	t.Helper()
	enc, err := h.Hash(context.Background(), plain)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return enc
}

func TestHashVerifyRoundTrip(t *testing.T) {
	h := newTestHasher(t, testParams, 0)
	for _, plain := range []string{
		"correct horse battery staple",
		"",
		"пароль-секрет",
		"🔑🔑🔑🔑🔑🔑🔑🔑",
		strings.Repeat("long passphrase ", 64),
	} {
		enc := mustHash(t, h, plain)
		if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
			t.Fatalf("Hash(%q) = %q, want argon2id PHC with the hasher's params", plain, enc)
		}
		ok, rehash, err := h.Verify(context.Background(), plain, enc)
		if err != nil || !ok || rehash {
			t.Errorf("Verify(%q, own hash) = %v, %v, %v; want true, false, nil", plain, ok, rehash, err)
		}
		ok, rehash, err = h.Verify(context.Background(), plain+"x", enc)
		if err != nil || ok || rehash {
			t.Errorf("Verify(wrong password) = %v, %v, %v; want false, false, nil", ok, rehash, err)
		}
	}
}

func TestHashIsSalted(t *testing.T) {
	h := newTestHasher(t, testParams, 0)
	if a, b := mustHash(t, h, "same password"), mustHash(t, h, "same password"); a == b {
		t.Fatalf("two hashes of the same password are equal: %q", a)
	}
}

// TestDefaultParams runs the real OWASP configuration once end to end.
func TestDefaultParams(t *testing.T) {
	p := DefaultParams()
	want := Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}
	if p != want {
		t.Fatalf("DefaultParams() = %+v, want %+v", p, want)
	}
	h := newTestHasher(t, p, 0)
	enc := mustHash(t, h, "correct horse battery staple")
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("Hash = %q", enc)
	}
	// 16 salt bytes and 32 key bytes in unpadded base64.
	f := strings.Split(enc, "$")
	if len(f[4]) != 22 || len(f[5]) != 43 {
		t.Fatalf("salt/key encodings have lengths %d/%d, want 22/43", len(f[4]), len(f[5]))
	}
	ok, rehash, err := h.Verify(context.Background(), "correct horse battery staple", enc)
	if err != nil || !ok || rehash {
		t.Fatalf("Verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
}

func TestVerifyArgon2OtherParamsNeedsRehash(t *testing.T) {
	h := newTestHasher(t, testParams, 0)
	others := []Params{
		{MemoryKiB: 128, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		{MemoryKiB: 64, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		{MemoryKiB: 64, Iterations: 1, Parallelism: 2, SaltLen: 16, KeyLen: 32},
		{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 8, KeyLen: 32},
		{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 64},
	}
	for _, p := range others {
		enc := mustHash(t, newTestHasher(t, p, 1), "s3cret passphrase")
		ok, rehash, err := h.Verify(context.Background(), "s3cret passphrase", enc)
		if err != nil || !ok || !rehash {
			t.Errorf("params %+v: Verify = %v, %v, %v; want true, true, nil", p, ok, rehash, err)
		}
		ok, rehash, err = h.Verify(context.Background(), "wrong", enc)
		if err != nil || ok || rehash {
			t.Errorf("params %+v: Verify(wrong) = %v, %v, %v; want false, false, nil", p, ok, rehash, err)
		}
	}
}

func TestVerifyBcrypt(t *testing.T) {
	h := newTestHasher(t, testParams, 0)
	const plain = "legacy password"
	gen, err := bcrypt.GenerateFromPassword([]byte(plain), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	body := string(gen)[4:] // after "$2a$"
	cases := map[string]string{
		"2a": "$2a$" + body,
		"2b": "$2b$" + body,
		// PHP writes $2y$; it is the same algorithm, and Go's bcrypt keeps
		// the stored prefix when comparing, so no normalisation is needed.
		"2y": "$2y$" + body,
	}
	for name, enc := range cases {
		t.Run(name, func(t *testing.T) {
			if err := ValidateEncoded(enc); err != nil {
				t.Fatalf("ValidateEncoded: %v", err)
			}
			ok, rehash, err := h.Verify(context.Background(), plain, enc)
			if err != nil || !ok || !rehash {
				t.Fatalf("Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			ok, rehash, err = h.Verify(context.Background(), "Legacy password", enc)
			if err != nil || ok || rehash {
				t.Fatalf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

// TestVerifyBcryptPHPVectors checks interoperability with hashes written by
// PHP's password_hash (examples from the PHP manual).
func TestVerifyBcryptPHPVectors(t *testing.T) {
	h := newTestHasher(t, testParams, 0)
	for _, enc := range []string{
		"$2y$07$BCryptRequires22Chrcte/VlQH0piJtjXl.0t1XkA8pw9dMXTpOq",
		"$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a",
	} {
		ok, rehash, err := h.Verify(context.Background(), "rasmuslerdorf", enc)
		if err != nil || !ok || !rehash {
			t.Errorf("Verify(%s) = %v, %v, %v; want true, true, nil", enc, ok, rehash, err)
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := newTestHasher(t, testParams, 0)
	good := mustHash(t, h, "pw")
	f := strings.Split(good, "$") // "", "argon2id", "v=19", "m=64,t=1,p=1", salt, key
	salt, key := f[4], f[5]
	phc := func(alg, version, params, salt, key string) string {
		return "$" + alg + "$" + version + "$" + params + "$" + salt + "$" + key
	}
	argon := func(params string) string { return phc("argon2id", "v=19", params, salt, key) }
	bcryptGen, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	bcryptBody := string(bcryptGen)[7:] // after "$2a$04$"

	cases := []struct{ name, enc string }{
		{"empty", ""},
		{"plain text", "hunter2"},
		{"dollars only", "$$$$$$"},
		{"prefix only", "$argon2id$"},
		{"truncated after params", "$argon2id$v=19$m=64,t=1,p=1"},
		{"missing key", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"empty key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$"},
		{"truncated key", good[:len(good)-30]},
		{"impossible base64 length", phc("argon2id", "v=19", "m=64,t=1,p=1", salt, key[:21])},
		{"extra field", good + "$AAAA"},
		{"missing version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"version 16", phc("argon2id", "v=16", "m=64,t=1,p=1", salt, key)},
		{"argon2i", phc("argon2i", "v=19", "m=64,t=1,p=1", salt, key)},
		{"argon2d", phc("argon2d", "v=19", "m=64,t=1,p=1", salt, key)},
		{"unknown algorithm", phc("scrypt", "v=19", "m=64,t=1,p=1", salt, key)},
		{"uppercase algorithm", phc("ARGON2ID", "v=19", "m=64,t=1,p=1", salt, key)},
		{"bad base64 salt", phc("argon2id", "v=19", "m=64,t=1,p=1", "*"+salt[1:], key)},
		{"padded base64 key", phc("argon2id", "v=19", "m=64,t=1,p=1", salt, key+"=")},
		{"newline in key", phc("argon2id", "v=19", "m=64,t=1,p=1", salt, key[:8]+"\n"+key[8:])},
		{"url-safe base64", phc("argon2id", "v=19", "m=64,t=1,p=1", salt, strings.Repeat("-_", 22))},
		{"short salt", phc("argon2id", "v=19", "m=64,t=1,p=1", "AAAAAAAAAA", key)},
		{"short key", phc("argon2id", "v=19", "m=64,t=1,p=1", salt, "AAAAAAAAAAAAAAAAAAAA")},
		{"huge key", phc("argon2id", "v=19", "m=64,t=1,p=1", salt, strings.Repeat("A", 1400))},
		{"huge m", argon("m=4194305,t=1,p=1")},
		{"overflowing m", argon("m=99999999999,t=1,p=1")},
		{"m=2^32", argon("m=4294967296,t=1,p=1")},
		{"huge t", argon("m=64,t=101,p=1")},
		{"huge p", argon("m=4096,t=1,p=65")},
		{"p=256 wraps uint8", argon("m=4096,t=1,p=256")},
		{"zero t", argon("m=64,t=0,p=1")},
		{"zero p", argon("m=64,t=1,p=0")},
		{"m below 8 per lane", argon("m=15,t=1,p=2")},
		{"params out of order", argon("t=1,m=64,p=1")},
		{"missing param", argon("m=64,t=1")},
		{"extra param", argon("m=64,t=1,p=1,keyid=abc")},
		{"empty param value", argon("m=,t=1,p=1")},
		{"signed param", argon("m=+64,t=1,p=1")},
		{"negative param", argon("m=-64,t=1,p=1")},
		{"leading zero", argon("m=064,t=1,p=1")},
		{"spaces", argon("m=64, t=1, p=1")},
		{"bcrypt 2x variant", "$2x$04$" + bcryptBody},
		{"bcrypt no minor", "$2$04$" + bcryptBody},
		{"bcrypt 3a", "$3a$04$" + bcryptBody},
		{"bcrypt signed cost", "$2b$+4$" + bcryptBody},
		{"bcrypt cost too low", "$2b$03$" + bcryptBody},
		{"bcrypt cost above limit", "$2b$17$" + bcryptBody},
		{"bcrypt cost 31", "$2b$31$" + bcryptBody},
		{"bcrypt truncated", "$2b$04$" + bcryptBody[:len(bcryptBody)-1]},
		{"bcrypt trailing garbage", "$2b$04$" + bcryptBody + "x"},
		{"bcrypt bad base64", "$2b$04$" + "*" + bcryptBody[1:]},
		{"bcrypt prefix only", "$2b$"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), "pw", tc.enc)
			if err == nil || ok || rehash {
				t.Fatalf("Verify = %v, %v, %v; want false, false, error", ok, rehash, err)
			}
			if codeOf(err) != "unsupported_hash" || fault.KindOf(err) != fault.Invalid {
				t.Fatalf("Verify error = %v; want Invalid unsupported_hash", err)
			}
			if err := ValidateEncoded(tc.enc); codeOf(err) != "unsupported_hash" {
				t.Fatalf("ValidateEncoded error = %v; want unsupported_hash", err)
			}
			if tc.enc != "" && strings.Contains(err.Error(), tc.enc) {
				t.Fatalf("error %q echoes the stored hash", err)
			}
		})
	}
}

func TestValidateEncodedAccepts(t *testing.T) {
	small := mustHash(t, newTestHasher(t, testParams, 1), "pw")
	// Limits are inclusive: a hash at every maximum still parses (it is never
	// computed here).
	f := strings.Split(small, "$")
	atLimits := "$argon2id$v=19$m=4194304,t=100,p=64$" + f[4] + "$" + f[5]
	bc, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	bcryptMax := "$2b$16$" + string(bc)[7:]
	for _, enc := range []string{small, atLimits, string(bc), bcryptMax} {
		if err := ValidateEncoded(enc); err != nil {
			t.Errorf("ValidateEncoded(%s) = %v", enc, err)
		}
	}
}

func TestNewHasherValidatesParams(t *testing.T) {
	cases := []struct {
		name string
		p    Params
	}{
		{"zero", Params{}},
		{"zero iterations", Params{MemoryKiB: 64, Iterations: 0, Parallelism: 1, SaltLen: 16, KeyLen: 32}},
		{"too many iterations", Params{MemoryKiB: 64, Iterations: 101, Parallelism: 1, SaltLen: 16, KeyLen: 32}},
		{"zero parallelism", Params{MemoryKiB: 64, Iterations: 1, Parallelism: 0, SaltLen: 16, KeyLen: 32}},
		{"too much parallelism", Params{MemoryKiB: 4096, Iterations: 1, Parallelism: 65, SaltLen: 16, KeyLen: 32}},
		{"memory below 8 per lane", Params{MemoryKiB: 31, Iterations: 1, Parallelism: 4, SaltLen: 16, KeyLen: 32}},
		{"memory above 4 GiB", Params{MemoryKiB: 4<<20 + 1, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}},
		{"short salt", Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 7, KeyLen: 32}},
		{"short key", Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 15}},
		{"long key", Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 1025}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := NewHasher(tc.p, 1)
			if err == nil || h != nil {
				t.Fatalf("NewHasher = %v, %v; want error", h, err)
			}
			if codeOf(err) != "invalid_hash_params" {
				t.Fatalf("error = %v; want invalid_hash_params", err)
			}
		})
	}
}

func TestNewHasherDefaultConcurrency(t *testing.T) {
	h := newTestHasher(t, testParams, 0)
	if got, want := cap(h.sem), runtime.GOMAXPROCS(0); got != want {
		t.Fatalf("concurrency = %d, want GOMAXPROCS %d", got, want)
	}
}

func TestVerifyDummy(t *testing.T) {
	h := newTestHasher(t, testParams, 1)
	h.VerifyDummy(context.Background(), "anything")
	h.VerifyDummy(context.Background(), "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.VerifyDummy(ctx, "cancelled")
	// The dummy must be a hash under the current params, or it would cost
	// less (or more) than verifying a real account's hash.
	ok, rehash, err := h.Verify(context.Background(), "anything", h.dummy)
	if err != nil || ok || rehash {
		t.Fatalf("Verify(dummy) = %v, %v, %v; want false, false, nil", ok, rehash, err)
	}
	if !strings.HasPrefix(h.dummy, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("dummy hash %q does not use the current params", h.dummy)
	}
	if h.InFlight() != 0 || h.Waiting() != 0 {
		t.Fatalf("slots leaked: in flight %d, waiting %d", h.InFlight(), h.Waiting())
	}
}
