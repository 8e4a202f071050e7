package mail_test

import (
	"strings"
	"testing"

	"github.com/tollgate/tollgate/mail"
)

// TestSealedBodies: with a sealer, Render seals the body under the
// message's id; Open restores it, and fails for a body moved onto another
// message, under another key, or without a key.
func TestSealedBodies(t *testing.T) {
	sealer := newSealer(t)
	tpl, err := mail.LoadTemplates("", sealer)
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]any{"Email": "bob@example.com", "Link": link, "ExpiresAt": "2026-12-13 21:00 UTC"}
	m, err := tpl.Render(mail.KindPasswordReset, "bob@example.com", data)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID == "" || m.Text != "" || m.HTML != "" || len(m.Sealed) == 0 || strings.Contains(string(m.Sealed), "tginv_") {
		t.Fatalf("rendered %+v", m)
	}
	opened, err := mail.Open(sealer, m)
	if err != nil || !strings.Contains(opened.Text, link) || !strings.Contains(opened.HTML, link) || opened.Sealed != nil {
		t.Fatalf("opened %+v, %v", opened, err)
	}
	// The clear rendering is what the sealed one opens to.
	plain, err := mail.LoadTemplates("", nil)
	if err != nil {
		t.Fatal(err)
	}
	clear, err := plain.Render(mail.KindPasswordReset, "bob@example.com", data)
	if err != nil || clear.Sealed != nil || clear.Text != opened.Text || clear.HTML != opened.HTML {
		t.Fatalf("clear %+v, %v", clear, err)
	}
	if same, err := mail.Open(nil, clear); err != nil || same.Text != clear.Text {
		t.Fatalf("opening a clear message: %+v, %v", same, err)
	}

	moved := m
	moved.ID = "another-message"
	for _, tc := range []struct {
		name   string
		sealer mail.Sealer
		m      mail.Message
	}{
		{"moved onto another message", sealer, moved},
		{"under another master key", newSealer(t), m},
		{"without a master key", nil, m},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := mail.Open(tc.sealer, tc.m); err == nil {
				t.Fatalf("opened %+v", got)
			}
		})
	}
}
