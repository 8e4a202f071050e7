package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/mail"
	"github.com/tollgate/tollgate/token"
)

func TestAdminOutbox(t *testing.T) {
	dir := t.TempDir()
	env := testEnv(dir)
	out, _, err := run(t, env, "", "admin", "outbox")
	if err != nil || !strings.Contains(out, "the outbox is empty") {
		t.Fatalf("empty outbox: %q, %v", out, err)
	}
	for _, limit := range []string{"0", "201"} {
		if _, _, err := run(t, env, "", "admin", "outbox", "--limit", limit); err == nil {
			t.Errorf("--limit %s accepted", limit)
		}
	}

	// An act queues a message in its transaction, as an invitation does.
	cfg := config.Defaults()
	cfg.DataDir = dir
	st, err := openStore(context.Background(), cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	// Sealed with the data directory's master key, as serve seals it.
	mk, err := masterKey(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := token.NewSealer(mk)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := mail.LoadTemplates("", sealer)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := sealed.Render(mail.KindInvitation, "bob@example.com", map[string]any{
		"TenantName": "Acme", "InviterName": "alice@example.com", "Roles": "viewer",
		"Link": "http://localhost:9200/invitations/accept?token=tginv_x", "ExpiresAt": "2026-12-13 21:00 UTC",
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.CreateTenant(mail.Queue(context.Background(), msg),
		identity.Tenant{ID: "01jz0000000000000000000001", Slug: "acme", Name: "Acme", Status: identity.TenantActive, CreatedAt: now, UpdatedAt: now},
		identity.Membership{TenantID: "01jz0000000000000000000001", ActorID: "user:a", Roles: []string{identity.RoleOwner}, CreatedAt: now, UpdatedAt: now})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _, err = run(t, env, "", "admin", "outbox", "--limit", "1")
	if err != nil || !strings.Contains(out, "pending") || !strings.Contains(out, "to bob@example.com") ||
		!strings.Contains(out, "Subject: You are invited to Acme") || !strings.Contains(out, "token=tginv_x") {
		t.Fatalf("outbox:\n%s\n%v", out, err)
	}
	// Under another master key the body stays sealed; the rest shows.
	other := map[string]string{}
	for k, v := range env {
		other[k] = v
	}
	other["TOLLGATE_MASTER_KEY"] = token.GenerateMasterKey()
	out, _, err = run(t, other, "", "admin", "outbox", "--limit", "1")
	if err != nil || !strings.Contains(out, "to bob@example.com") || strings.Contains(out, "tginv_x") ||
		!strings.Contains(out, "the body is sealed and does not open") {
		t.Fatalf("outbox under another key:\n%s\n%v", out, err)
	}
}
