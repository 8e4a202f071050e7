package mail_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/mail"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
	"github.com/tollgate/tollgate/token"
)

const link = "https://tollgate.example/accept?token=tginv_abc"

// newSealer is a sealer under a fresh master key, as serve makes one.
func newSealer(t *testing.T) *token.Sealer {
	t.Helper()
	key := make([]byte, token.MasterKeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	s, err := token.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// queue writes one invitation message into s's outbox, in the transaction
// of a tenant's creation, its body sealed with sealer (nil: in the clear).
func queue(t *testing.T, s interface {
	CreateTenant(context.Context, identity.Tenant, identity.Membership) error
}, to string, sealer mail.Sealer) {
	t.Helper()
	tpl, err := mail.LoadTemplates("", sealer)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tpl.Render(mail.KindInvitation, to, map[string]any{
		"TenantName": "Acme & Co", "InviterName": "alice@example.com", "Roles": "viewer", "Link": link, "ExpiresAt": "2026-12-13 21:00 UTC",
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	err = s.CreateTenant(mail.Queue(t.Context(), m),
		identity.Tenant{ID: "t1", Slug: "acme", Name: "Acme", Status: identity.TenantActive, CreatedAt: now, UpdatedAt: now},
		identity.Membership{TenantID: "t1", ActorID: "user:alice", Roles: []string{identity.RoleOwner}, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWorkerDeliversOverSMTP(t *testing.T) {
	for _, tc := range []struct {
		name     string
		implicit bool
		url      func(addr string) string
	}{
		{"starttls", false, func(a string) string { return "smtp://mailer:s3cret@" + a }},
		{"implicit tls", true, func(a string) string { return "smtps://mailer:s3cret@" + a }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := listen(t, tc.implicit)
			sender, err := mail.NewSMTP(tc.url(rcv.addr), rcv.tls())
			if err != nil {
				t.Fatal(err)
			}
			s := sqlitetest.Open(t)
			sealer := newSealer(t)
			queue(t, s, "bob@example.com", sealer)
			// The pending message holds no link in the clear.
			pending, err := s.ListMail(t.Context(), cursor.Page{})
			if err != nil || len(pending) != 1 || pending[0].Text != "" || pending[0].HTML != "" ||
				len(pending[0].Sealed) == 0 || strings.Contains(string(pending[0].Sealed), "tginv_") {
				t.Fatalf("pending %+v, %v", pending, err)
			}
			w := &mail.Worker{Store: s, Sender: sender, Sealer: sealer, From: "Tollgate <noreply@tollgate.example>", Log: slog.New(slog.DiscardHandler),
				Now: func() time.Time { return time.Now().Add(time.Second) }}
			n, err := w.DeliverDue(t.Context())
			if err != nil || n != 1 {
				t.Fatalf("DeliverDue = %d, %v", n, err)
			}
			got := rcv.messages()
			if len(got) != 1 || got[0].from != "noreply@tollgate.example" ||
				len(got[0].to) != 1 || got[0].to[0] != "bob@example.com" {
				t.Fatalf("received %+v", got)
			}
			h, body := parts(t, got[0].data)
			if h.Get("To") != "bob@example.com" || !strings.Contains(h.Get("Subject"), "You are invited to Acme") {
				t.Fatalf("headers %v", h)
			}
			if !strings.Contains(body["text/plain"], link) || !strings.Contains(body["text/html"], `href="`+link+`"`) ||
				!strings.Contains(body["text/html"], "Acme &amp; Co") {
				t.Fatalf("parts %q", body)
			}
			if rcv.authed[0] != "mailer" {
				t.Fatalf("authenticated as %v", rcv.authed)
			}
			out, err := s.ListMail(t.Context(), cursor.Page{})
			if err != nil || len(out) != 1 || out[0].Status != mail.StatusSent || out[0].Text != "" || out[0].HTML != "" || out[0].Sealed != nil {
				t.Fatalf("outbox after delivery %+v, %v", out, err)
			}
		})
	}
}

// TestWorkerRetries: a server that answers 451 twice gets the message on
// the third attempt, after the back-off; one that never accepts it ends
// with the message failed after MaxAttempts.
func TestWorkerRetries(t *testing.T) {
	for _, tc := range []struct {
		name       string
		failures   int
		wantStatus mail.Status
		wantSent   int
	}{
		{"recovers", 2, mail.StatusSent, 1},
		{"gives up", 100, mail.StatusFailed, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := listen(t, false)
			rcv.failures = tc.failures
			sender, err := mail.NewSMTP("smtp://mailer:s3cret@"+rcv.addr, rcv.tls())
			if err != nil {
				t.Fatal(err)
			}
			s := sqlitetest.Open(t)
			queue(t, s, "bob@example.com", nil)
			now := time.Now().Add(time.Second)
			w := &mail.Worker{Store: s, Sender: sender, From: "noreply@tollgate.example", MaxAttempts: 4,
				BaseDelay: time.Minute, MaxDelay: 10 * time.Minute, Now: func() time.Time { return now }}
			for attempt := 1; attempt <= 4; attempt++ {
				_, _ = w.DeliverDue(t.Context())
				// Not due again before the back-off.
				if n, err := w.DeliverDue(t.Context()); n != 0 || err != nil {
					t.Fatalf("attempt %d repeated at once: %d, %v", attempt, n, err)
				}
				now = now.Add(w.Backoff(attempt))
			}
			out, err := s.ListMail(t.Context(), cursor.Page{})
			if err != nil || out[0].Status != tc.wantStatus || len(rcv.messages()) != tc.wantSent {
				t.Fatalf("outbox %+v, received %d, %v", out, len(rcv.messages()), err)
			}
			if tc.wantStatus == mail.StatusFailed && (out[0].Attempts != 4 || !strings.Contains(out[0].LastError, "451")) {
				t.Fatalf("failed message %+v", out[0])
			}
		})
	}
}

func TestBackoffDoublesToTheCap(t *testing.T) {
	w := &mail.Worker{BaseDelay: 30 * time.Second, MaxDelay: 5 * time.Minute}
	for attempt, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 4: 4 * time.Minute, 5: 5 * time.Minute, 50: 5 * time.Minute} {
		if got := w.Backoff(attempt); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", attempt, got, want)
		}
	}
}

func TestNewSMTPRejects(t *testing.T) {
	for _, raw := range []string{"", "http://host", "smtp://", "smtps://host?tls=none", "smtp://host?tls=maybe", "::"} {
		if _, err := mail.NewSMTP(raw, nil); err == nil {
			t.Errorf("NewSMTP(%q) accepted", raw)
		}
	}
}

func TestTemplatesOverrideAndRefuse(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("invitation.txt", "{{define \"subject\"}}Join {{.TenantName}}\nBcc: x@evil{{end}}Go to {{.Link}}")
	tpl, err := mail.LoadTemplates(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tpl.Render(mail.KindInvitation, "bob@example.com", map[string]any{
		"TenantName": "Acme", "InviterName": "a", "Roles": "viewer", "Link": link, "ExpiresAt": "x"})
	if err != nil || m.Subject != "Join Acme" || m.Text != "Go to "+link || !strings.Contains(m.HTML, "Accept the invitation") {
		t.Fatalf("rendered %+v, %v", m, err)
	}
	write("password_reset.html", "{{.Broken")
	if _, err := mail.LoadTemplates(dir, nil); err == nil {
		t.Fatal("a template that does not parse was accepted")
	}
}
