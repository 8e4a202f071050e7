package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/audit"
)

func TestAuditVerify(t *testing.T) {
	dir, env := migratedEnv(t)
	path := filepath.Join(dir, "tollgate.db")
	st := openDB(t, dir)
	for _, tenant := range []string{"t1", "t2", ""} {
		evs := make([]audit.Event, 20)
		for i := range evs {
			evs[i] = audit.Event{ActorID: "user:1", Action: audit.ActionSessionLogin, Outcome: audit.Success,
				TenantID: tenant, RequestID: fmt.Sprint(i)}
		}
		if _, err := st.AppendAudit(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	out, _, err := run(t, env, "", "audit", "digest")
	if err != nil || !strings.Contains(out, "signed 3 digests") {
		t.Fatalf("digest: %q %v", out, err)
	}
	for _, args := range [][]string{{"--tenant", "t1"}, {"--platform"}, {"--all"}, {"--tenant", "t2", "--from", "7"}} {
		out, errOut, err := run(t, env, "", append([]string{"audit", "verify"}, args...)...)
		if err != nil || !strings.Contains(out, ": ok, ") || strings.Contains(errOut, "warning") {
			t.Fatalf("verify %v: %q %q %v", args, out, errOut, err)
		}
	}
	if out, _, _ := run(t, env, "", "audit", "verify", "--all"); strings.Count(out, ": ok, ") != 3 || !strings.Contains(out, "1 digests") {
		t.Fatalf("verify --all: %q", out)
	}

	// Edit one row behind the store's back.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE audit_events SET outcome = 'failure' WHERE tenant_id = 't2' AND seq = 12`); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--tenant", "t2"}, {"--all"}} {
		out, _, err := run(t, env, "", append([]string{"audit", "verify"}, args...)...)
		if !errors.Is(err, errChainBroken) || !strings.Contains(out, "tenant t2: broken at seq 12: edited") ||
			!strings.Contains(err.Error(), "seq 12") {
			t.Fatalf("verify %v after an edit: %q %v", args, out, err)
		}
	}
	// Other streams still verify; from a later seq the edit is not seen.
	if _, _, err := run(t, env, "", "audit", "verify", "--tenant", "t1"); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{}, {"--tenant", "t1", "--all"}, {"--platform", "--from", "0"}} {
		if _, _, err := run(t, env, "", append([]string{"audit", "verify"}, args...)...); err == nil || errors.Is(err, errChainBroken) {
			t.Errorf("verify %v: %v, want a usage error", args, err)
		}
	}
}

func TestAuditExportAndVerifyFile(t *testing.T) {
	dir, env := migratedEnv(t)
	st := openDB(t, dir)
	evs := make([]audit.Event, 20)
	for i := range evs {
		evs[i] = audit.Event{ActorID: "user:1", Action: audit.ActionSessionLogin, Outcome: audit.Success, TenantID: "t1", RequestID: fmt.Sprint(i)}
	}
	if _, err := st.AppendAudit(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, env, "", "audit", "digest"); err != nil {
		t.Fatal(err)
	}
	// The published key set, as GET /.well-known/audit-keys.json serves it.
	keys, err := audit.LoadKeys(context.Background(), st.AuditKeyStore(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var jwks []string
	for kid, pub := range keys {
		jwks = append(jwks, fmt.Sprintf(`{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","kid":%q,"x":%q}`, kid, base64.RawURLEncoding.EncodeToString(pub)))
	}
	keysFile := filepath.Join(dir, "audit-keys.json")
	if err := os.WriteFile(keysFile, []byte(`{"keys":[`+strings.Join(jwks, ",")+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	st.Close()

	file := filepath.Join(dir, "t1.ndjson")
	if _, _, err := run(t, env, "", "audit", "export", "--tenant", "t1", "--out", file); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := run(t, env, "", "audit", "verify", "--file", file)
	if err != nil || !strings.Contains(out, "tenant t1: ok, 20 events (seq 1..20), 0 digests") || !strings.Contains(errOut, "no --keys") {
		t.Fatalf("verify --file: %q %q %v", out, errOut, err)
	}
	out, _, err = run(t, env, "", "audit", "verify", "--file", file, "--keys", keysFile)
	if err != nil || !strings.Contains(out, "tenant t1: ok, 20 events (seq 1..20), 1 digests, anchored through seq 20") {
		t.Fatalf("verify --file --keys: %q %v", out, err)
	}
	if _, _, err := run(t, env, "", "audit", "verify", "--tenant", "t1", "--keys", keysFile); err == nil {
		t.Fatal("--keys without --file: no error")
	}
	// To stdout (the events and the digest), and a range far in the future holds nothing.
	if out, _, err := run(t, env, "", "audit", "export", "--tenant", "t1"); err != nil || strings.Count(out, "\n") != 21 {
		t.Fatalf("export to stdout: %d lines, %v", strings.Count(out, "\n"), err)
	}
	if out, _, err := run(t, env, "", "audit", "export", "--tenant", "t1", "--from", "2999-01-01T00:00:00Z"); err != nil || out != "" {
		t.Fatalf("export of an empty range: %q %v", out, err)
	}
	// An edited line is found.
	b, _ := os.ReadFile(file)
	lines := strings.Split(string(b), "\n")
	lines[7] = strings.Replace(lines[7], `"request_id":"7"`, `"request_id":"8"`, 1)
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, err := run(t, env, "", "audit", "verify", "--file", file); !errors.Is(err, errChainBroken) || !strings.Contains(out, "broken at seq 8: edited") {
		t.Fatalf("verify of an edited export: %q %v", out, err)
	}
	for _, args := range [][]string{{}, {"--tenant", "t1", "--platform"}, {"--tenant", "t1", "--from", "yesterday"},
		{"--tenant", "t1", "--from", "2025-01-02T00:00:00Z", "--to", "2025-01-01T00:00:00Z"}} {
		if _, _, err := run(t, env, "", append([]string{"audit", "export"}, args...)...); err == nil {
			t.Errorf("export %v: no error", args)
		}
	}
}
