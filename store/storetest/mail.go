package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/mail"
	"github.com/tollgate/tollgate/store"
)

func mailTests() []test {
	return []test{
		{"QueuedWithTheAct", testMailQueuedWithTheAct},
		{"ClaimLeasesAndFences", testMailClaimLeasesAndFences},
		{"ConcurrentClaimsNeverOverlap", testMailConcurrentClaimsNeverOverlap},
		{"SentErasesBody", testMailSentErasesBody},
		{"SealedBodyKeptUntilErased", testMailSealedBodyKeptUntilErased},
	}
}

func message(to string) mail.Message {
	return mail.Message{To: to, Kind: mail.KindInvitation, Subject: "Hello", Text: "link https://x/?t=secret", HTML: "<p>x</p>"}
}

// testMailQueuedWithTheAct: a queued message is written by the act's
// write, and a failed act writes none and hands it back.
func testMailQueuedWithTheAct(t *testing.T, s store.Store) {
	ctx := mail.Queue(t.Context(), message("a@example.com"))
	must(t, s.CreateTenant(ctx, tenant("ta", "slug-ta"), membership("ta", "user:owner", identity.RoleOwner)))
	if mail.Pending(ctx) {
		t.Fatal("the write left its mail pending")
	}
	ctx = mail.Queue(t.Context(), message("b@example.com"))
	err := s.CreateTenant(ctx, tenant("tb", "slug-ta"), membership("tb", "user:owner", identity.RoleOwner))
	if fault.KindOf(err) != fault.Conflict {
		t.Fatalf("taken slug: %v", err)
	}
	if !mail.Pending(ctx) {
		t.Fatal("a failed write did not hand its mail back")
	}
	got, err := s.ListMail(t.Context(), cursor.Page{})
	must(t, err)
	if len(got) != 1 || got[0].To != "a@example.com" || got[0].Status != mail.StatusPending || got[0].Attempts != 0 || got[0].Text == "" {
		t.Fatalf("outbox %+v", got)
	}
}

// testMailClaimLeasesAndFences: a claimed message is not due again until
// its lease ends; an outcome for a superseded attempt changes nothing.
func testMailClaimLeasesAndFences(t *testing.T, s store.Store) {
	must(t, s.CreateTenant(mail.Queue(t.Context(), message("a@example.com")), tenant("ta", "slug-ta"), membership("ta", "user:owner", identity.RoleOwner)))
	now := time.Now().UTC().Truncate(time.Microsecond).Add(time.Second)
	first, err := s.ClaimMail(t.Context(), now, time.Minute, 10)
	must(t, err)
	if len(first) != 1 || first[0].Attempts != 1 {
		t.Fatalf("first claim %+v", first)
	}
	again, err := s.ClaimMail(t.Context(), now.Add(30*time.Second), time.Minute, 10)
	must(t, err)
	if len(again) != 0 {
		t.Fatalf("a leased message was claimed again: %+v", again)
	}
	// The first worker died; its lease ran out and another took over.
	second, err := s.ClaimMail(t.Context(), now.Add(2*time.Minute), time.Minute, 10)
	must(t, err)
	if len(second) != 1 || second[0].Attempts != 2 {
		t.Fatalf("claim after the lease %+v", second)
	}
	ok, err := s.FinishMail(t.Context(), first[0].ID, 1, mail.StatusSent, now, "", false)
	must(t, err)
	if ok {
		t.Fatal("a superseded attempt's outcome was recorded")
	}
	ok, err = s.FinishMail(t.Context(), first[0].ID, 2, mail.StatusPending, now.Add(time.Hour), "451 try later", true)
	must(t, err)
	if !ok {
		t.Fatal("the current attempt's outcome was refused")
	}
	got, err := s.ListMail(t.Context(), cursor.Page{})
	must(t, err)
	if got[0].Status != mail.StatusPending || got[0].LastError != "451 try later" || !got[0].NextAttemptAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("after a failed attempt %+v", got[0])
	}
}

// testMailConcurrentClaimsNeverOverlap: workers claiming at once get
// disjoint messages, all of them between them.
func testMailConcurrentClaimsNeverOverlap(t *testing.T, s store.Store) {
	var msgs []mail.Message
	for range 30 {
		msgs = append(msgs, message("a@example.com"))
	}
	must(t, s.CreateTenant(mail.Queue(t.Context(), msgs...), tenant("ta", "slug-ta"), membership("ta", "user:owner", identity.RoleOwner)))
	now := time.Now().UTC().Add(time.Second)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				got, err := s.ClaimMail(t.Context(), now, time.Hour, 4)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 30 {
		t.Fatalf("claimed %d distinct messages, want 30", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("message %s claimed %d times", id, n)
		}
	}
}

// testMailSentErasesBody: a delivered message keeps its metadata and loses
// its body (and its links) unless the sender keeps it.
func testMailSentErasesBody(t *testing.T, s store.Store) {
	must(t, s.CreateTenant(mail.Queue(t.Context(), message("a@example.com"), message("b@example.com")),
		tenant("ta", "slug-ta"), membership("ta", "user:owner", identity.RoleOwner)))
	now := time.Now().UTC().Truncate(time.Microsecond).Add(time.Second)
	claimed, err := s.ClaimMail(t.Context(), now, time.Minute, 10)
	must(t, err)
	if len(claimed) != 2 {
		t.Fatalf("claimed %+v", claimed)
	}
	ok(s.FinishMail(t.Context(), claimed[0].ID, 1, mail.StatusSent, now, "", false))(t)
	ok(s.FinishMail(t.Context(), claimed[1].ID, 1, mail.StatusSent, now, "", true))(t)
	got, err := s.ListMail(t.Context(), cursor.Page{})
	must(t, err)
	byID := map[string]mail.Message{got[0].ID: got[0], got[1].ID: got[1]}
	erased, kept := byID[claimed[0].ID], byID[claimed[1].ID]
	if erased.Status != mail.StatusSent || erased.Text != "" || erased.HTML != "" || erased.SentAt == nil || erased.Subject != "Hello" {
		t.Fatalf("erased %+v", erased)
	}
	if kept.Text == "" {
		t.Fatalf("kept %+v", kept)
	}
	page, err := s.ListMail(t.Context(), cursor.Page{Limit: 1})
	must(t, err)
	next, err := s.ListMail(t.Context(), cursor.Page{After: page[0].ID, Limit: 1})
	must(t, err)
	if len(next) != 1 || next[0].ID >= page[0].ID {
		t.Fatalf("pages %+v then %+v", page, next)
	}
}

// testMailSealedBodyKeptUntilErased: a sealed body comes back byte for
// byte from a claim and a listing, an unsealed one as nil, and erasing a
// body erases the sealed one too.
func testMailSealedBodyKeptUntilErased(t *testing.T, s store.Store) {
	sealed := func(to string, body []byte) mail.Message {
		m := message(to)
		m.Text, m.HTML, m.Sealed = "", "", body
		return m
	}
	a, b := []byte{1, 0, 0xff, 'x'}, []byte("another sealed body")
	must(t, s.CreateTenant(mail.Queue(t.Context(), sealed("a@example.com", a), sealed("b@example.com", b), message("c@example.com")),
		tenant("ta", "slug-ta"), membership("ta", "user:owner", identity.RoleOwner)))
	now := time.Now().UTC().Truncate(time.Microsecond).Add(time.Second)
	claimed, err := s.ClaimMail(t.Context(), now, time.Minute, 10)
	must(t, err)
	byTo := map[string]mail.Message{}
	for _, m := range claimed {
		byTo[m.To] = m
	}
	if len(claimed) != 3 || string(byTo["a@example.com"].Sealed) != string(a) || byTo["a@example.com"].Text != "" ||
		string(byTo["b@example.com"].Sealed) != string(b) || byTo["c@example.com"].Sealed != nil || byTo["c@example.com"].Text == "" {
		t.Fatalf("claimed %+v", claimed)
	}
	ok(s.FinishMail(t.Context(), byTo["a@example.com"].ID, 1, mail.StatusSent, now, "", false))(t)
	ok(s.FinishMail(t.Context(), byTo["b@example.com"].ID, 1, mail.StatusSent, now, "", true))(t)
	got, err := s.ListMail(t.Context(), cursor.Page{})
	must(t, err)
	for _, m := range got {
		switch {
		case m.To == "a@example.com" && m.Sealed != nil:
			t.Fatalf("an erased body kept its sealed part: %+v", m)
		case m.To == "b@example.com" && string(m.Sealed) != string(b):
			t.Fatalf("a kept body lost its sealed part: %+v", m)
		}
	}
}
