package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/mail"
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
	msg := mail.Message{To: "bob@example.com", Kind: mail.KindInvitation, Subject: "You are invited", Text: "Accept: http://localhost:9200/invitations/accept?token=tginv_x\n"}
	err = st.CreateTenant(mail.Queue(context.Background(), msg),
		identity.Tenant{ID: "01jz0000000000000000000001", Slug: "acme", Name: "Acme", Status: identity.TenantActive, CreatedAt: now, UpdatedAt: now},
		identity.Membership{TenantID: "01jz0000000000000000000001", ActorID: "user:a", Roles: []string{identity.RoleOwner}, CreatedAt: now, UpdatedAt: now})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _, err = run(t, env, "", "admin", "outbox", "--limit", "1")
	if err != nil || !strings.Contains(out, "pending") || !strings.Contains(out, "to bob@example.com") ||
		!strings.Contains(out, "Subject: You are invited") || !strings.Contains(out, "token=tginv_x") {
		t.Fatalf("outbox:\n%s\n%v", out, err)
	}
}
