package audit

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestRecordStampsAndHandsOverOnce(t *testing.T) {
	ctx := WithOrigin(context.Background(), Origin{ActorID: "user:1", CredentialKind: "session", CredentialID: "s1",
		ClientIP: "192.0.2.1", UserAgent: "curl/8", RequestID: "r1", TraceID: "t1"})
	if Pending(ctx) || TakePending(ctx) != nil {
		t.Fatal("a context with no record has pending events")
	}
	ctx = Record(ctx, Event{Action: "member.add", TargetID: "user:2"})
	ctx = Record(ctx, Event{Action: "member.update", ActorID: "user:9", Outcome: Denied})
	if !Pending(ctx) {
		t.Fatal("recorded events are not pending")
	}
	got := TakePending(ctx)
	want := []Event{
		{Action: "member.add", TargetID: "user:2", Outcome: Success, ActorID: "user:1", CredentialKind: "session", CredentialID: "s1",
			ClientIP: "192.0.2.1", UserAgent: "curl/8", RequestID: "r1", TraceID: "t1"},
		// What the caller sets is kept.
		{Action: "member.update", Outcome: Denied, ActorID: "user:9", CredentialKind: "session", CredentialID: "s1",
			ClientIP: "192.0.2.1", UserAgent: "curl/8", RequestID: "r1", TraceID: "t1"},
	}
	if len(got) != 2 || !same(got[0], want[0]) || !same(got[1], want[1]) {
		t.Fatalf("took %+v", got)
	}
	if Pending(ctx) || TakePending(ctx) != nil {
		t.Fatal("events handed over twice")
	}
	// A failed transaction gives them back, ahead of any recorded since.
	ctx2 := Record(ctx, Event{Action: "role.put"})
	RestorePending(ctx2, got)
	again := TakePending(ctx2)
	if len(again) != 3 || again[0].Action != "member.add" || again[2].Action != "role.put" {
		t.Fatalf("after restore %+v", again)
	}
}

func TestStampClampsTheUserAgent(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"plain", "Mozilla/5.0", "Mozilla/5.0"},
		{"invalid bytes", "a\xffb", "a\uFFFDb"},
		{"too long", strings.Repeat("a", maxUserAgent+10), strings.Repeat("a", maxUserAgent)},
		{"cut at a rune", strings.Repeat("a", maxUserAgent-1) + "é", strings.Repeat("a", maxUserAgent-1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := Stamp(WithOrigin(context.Background(), Origin{UserAgent: c.in}), Event{})
			if e.UserAgent != c.want {
				t.Fatalf("user agent %q, want %q", e.UserAgent, c.want)
			}
		})
	}
}

func same(a, b Event) bool {
	return a.Action == b.Action && a.TargetID == b.TargetID && a.Outcome == b.Outcome && a.ActorID == b.ActorID &&
		a.CredentialKind == b.CredentialKind && a.CredentialID == b.CredentialID && a.ClientIP == b.ClientIP &&
		a.UserAgent == b.UserAgent && a.RequestID == b.RequestID && a.TraceID == b.TraceID && slices.Equal(a.Hash, b.Hash)
}
