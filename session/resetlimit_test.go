package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/audit/audittest"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/mail"
	"github.com/tollgate/tollgate/session"
)

// TestResetsPerAccountAreBounded: however many addresses ask, one account
// gets at most MaxResetsPerHour reset emails an hour; the asker is never
// told, and each request past the bound is audited as denied.
func TestResetsPerAccountAreBounded(t *testing.T) {
	tpl, err := mail.LoadTemplates("", nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &audittest.Queue{}
	e := newEnv(t, func(e *env, d *session.Deps) {
		d.Passwords, d.Audit = e.st, rec
		d.Reset = session.ResetOptions{TTL: time.Hour, LinkBase: "https://app.example", Mail: tpl}
	})
	target, other := e.user(t, "target@a.example"), e.user(t, "other@a.example")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.svc.RunResets(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	// mailsTo waits until the queue has served a request for other's
	// address (it serves in order), then counts target's messages.
	mailsTo := func(wantOther int) int {
		t.Helper()
		if err := e.svc.ForgotPassword(context.Background(), other.Email); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			msgs, err := e.st.ListMail(context.Background(), cursor.Page{Limit: cursor.MaxLimit})
			if err != nil {
				t.Fatal(err)
			}
			n, o := 0, 0
			for _, m := range msgs {
				switch m.To {
				case target.Email:
					n++
				case other.Email:
					o++
				}
			}
			if o == wantOther {
				return n
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d messages to %s, want %d", o, other.Email, wantOther)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	for range session.MaxResetsPerHour + 2 {
		if err := e.svc.ForgotPassword(context.Background(), target.Email); err != nil {
			t.Fatal(err)
		}
	}
	if n := mailsTo(1); n != session.MaxResetsPerHour {
		t.Fatalf("%d reset emails within the hour, want %d", n, session.MaxResetsPerHour)
	}
	denied := 0
	for _, ev := range rec.Take() {
		if ev.Action == audit.ActionPasswordResetAsk && ev.Outcome == audit.Denied && ev.TargetID == target.ActorID() {
			denied++
		}
	}
	if denied != 2 {
		t.Fatalf("%d denied reset requests audited, want 2", denied)
	}

	// An hour on, the account may ask again.
	e.clock.Advance(time.Hour + time.Second)
	if err := e.svc.ForgotPassword(context.Background(), target.Email); err != nil {
		t.Fatal(err)
	}
	if n := mailsTo(2); n != session.MaxResetsPerHour+1 {
		t.Fatalf("%d reset emails after an hour, want %d", n, session.MaxResetsPerHour+1)
	}
}
