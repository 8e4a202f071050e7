package audit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
	"github.com/tollgate/tollgate/token"
)

// signedExport appends 10 events to t1 a minute apart, signs digests
// through seq 4 and 10, and exports from..to; it returns the lines and
// the JWK Set that publishes the digest key.
func signedExport(t *testing.T, from, to time.Time) ([][]byte, []byte) {
	t.Helper()
	ctx := context.Background()
	st := sqlitetest.Open(t)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	mk := make([]byte, token.MasterKeySize)
	_, _ = rand.Read(mk)
	sealer, err := token.NewSealer(mk)
	if err != nil {
		t.Fatal(err)
	}
	kr := token.NewKeyring(st.AuditKeyStore(), sealer, token.KeyringOptions{Algorithm: token.AlgEdDSA, TokenTTL: time.Hour})
	if err := kr.Load(ctx); err != nil {
		t.Fatal(err)
	}
	dg := audit.NewDigester(st, kr, audit.DigesterOptions{})
	for i := range 10 {
		e := audit.Event{TenantID: "t1", Time: t0.Add(time.Duration(i) * time.Minute), Action: audit.ActionMemberAdd, Outcome: audit.Success}
		if _, err := st.AppendAudit(ctx, []audit.Event{e}); err != nil {
			t.Fatal(err)
		}
		if i == 3 || i == 9 {
			if _, _, err := dg.DigestStream(ctx, "t1"); err != nil {
				t.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	w := audit.NewNDJSONWriter(&buf)
	if err := audit.ExportStream(ctx, st, "t1", from, to, w); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n")), kr.JWKS()
}

func isDigest(l []byte) bool { return bytes.HasPrefix(l, []byte(`{"type":"tollgate.audit.digest"`)) }

// TestExportCarriesDigests: an export holds the digests through its run,
// each after the event it covers, and verify --file anchors it with the
// published keys alone; a cut tail, an altered digest or a foreign key is
// found, and without keys the digests are left aside.
func TestExportCarriesDigests(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	lines, jwks := signedExport(t, time.Time{}, time.Time{})
	if len(lines) != 12 || !isDigest(lines[4]) || !isDigest(lines[11]) {
		t.Fatalf("want 10 events with digests after seq 4 and 10:\n%s", bytes.Join(lines, []byte("\n")))
	}
	keys, err := audit.ParseJWKS(jwks)
	if err != nil {
		t.Fatal(err)
	}
	_, otherJWKS := signedExport(t, time.Time{}, time.Time{})
	other, err := audit.ParseJWKS(otherJWKS)
	if err != nil {
		t.Fatal(err)
	}
	part, partJWKS := signedExport(t, t0.Add(2*time.Minute), t0.Add(7*time.Minute))
	partKeys, err := audit.ParseJWKS(partJWKS)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name     string
		lines    [][]byte
		keys     audit.KeySet
		kind     audit.BreakKind
		digests  int
		anchored int64
	}{
		{"with the keys", lines, keys, "", 2, 10},
		{"without keys, digests aside", lines, nil, "", 0, 0},
		{"a part holds the digests through it", part, partKeys, "", 1, 4},
		{"a cut tail below a digest", append(lines[:9:9], lines[11]), keys, audit.BreakDeleted, 0, 0},
		{"an altered digest", replaceLine(lines, 4, []byte(`"through_seq":4,"head_hash":"`), []byte(`"through_seq":4,"head_hash":"00`)), keys, audit.BreakDigest, 0, 0},
		{"another installation's keys", lines, other, audit.BreakDigest, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := audit.VerifyExport(ctx, writeLines(t, c.lines), c.keys)
			if err != nil {
				t.Fatal(err)
			}
			if c.kind != "" {
				if rep.Break == nil || rep.Break.Kind != c.kind {
					t.Fatalf("report %s, want %s", rep, c.kind)
				}
				return
			}
			if rep.Break != nil || rep.Digests != c.digests || rep.Anchored != c.anchored {
				t.Fatalf("report %s, want %d digests anchored through %d", rep, c.digests, c.anchored)
			}
		})
	}
}

func replaceLine(lines [][]byte, i int, old, repl []byte) [][]byte {
	out := make([][]byte, len(lines))
	copy(out, lines)
	out[i] = bytes.Replace(out[i], old, repl, 1)
	return out
}

func TestParseJWKS(t *testing.T) {
	for _, c := range []struct {
		name, in string
		ok       bool
	}{
		{"ed25519", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1"}]}`, true},
		{"not json", `{`, false},
		{"no Ed25519 key", `{"keys":[{"kty":"EC","crv":"P-256","x":"a","kid":"k1"}]}`, false},
		{"a short key", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"k1"}]}`, false},
		{"no kid", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := audit.ParseJWKS([]byte(c.in))
			if (err == nil) != c.ok {
				t.Fatalf("err %v, want ok %v", err, c.ok)
			}
		})
	}
}
