package authn

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tollgate/tollgate/bus"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/token"
)

// eventsFixture is an Authenticator following credential events on a Local
// bus.
type eventsFixture struct {
	tg  *tollgate
	a   *Authenticator
	bus *bus.Local
}

func newEventsFixture(t *testing.T) *eventsFixture {
	tg := newTollgate(t)
	b := bus.NewLocal()
	t.Cleanup(func() { _ = b.Close() })
	cfg := tg.config()
	cfg.Events = b
	return &eventsFixture{tg: tg, a: tg.authenticator(t, cfg), bus: b}
}

// publish sends events and waits until the Authenticator has applied them:
// a marker event published after them has purged the introspection cache.
func (fx *eventsFixture) publish(t *testing.T, events ...event.Event) {
	t.Helper()
	marker := fmt.Sprint("tg_marker_", time.Now().UnixNano())
	fx.tg.answer(marker, map[string]any{"active": true, "token_type": "api_key", "sub": "service:marker"})
	if _, err := fx.a.AuthenticateToken(ctx, marker); err != nil {
		t.Fatal(err)
	}
	h := sha256Of(marker)
	for i := range events {
		events[i].At = fx.tg.clock.Now()
	}
	if err := event.Publish(ctx, fx.bus, events...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the events to be applied", func() bool {
		_, cached := fx.a.cache.get(&h, fx.tg.clock.Now().UnixNano())
		return !cached
	})
}

func sha256Of(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func TestEventsRevokeJWT(t *testing.T) {
	delegated := func(c *token.Claims) {
		c.Subject, c.Act, c.CredentialID = "user:1", &token.Actor{Subject: "agent:2", Owner: "user:3"}, "agentkey-1"
	}
	tests := []struct {
		name   string
		edit   func(c *token.Claims)
		revoke event.Event
		undo   *event.Event // nil: the revocation is final
	}{
		{"session revoked", nil, event.Event{Kind: event.KindCredentialRevoked, ID: "sess-1"}, nil},
		{"credential revoked", delegated, event.Event{Kind: event.KindCredentialRevoked, ID: "agentkey-1"}, nil},
		{"actor disabled", nil, event.Event{Kind: event.KindActorDisabled, ID: "user:93"},
			&event.Event{Kind: event.KindActorEnabled, ID: "user:93"}},
		{"acting agent disabled", delegated, event.Event{Kind: event.KindActorDisabled, ID: "agent:2"},
			&event.Event{Kind: event.KindActorEnabled, ID: "agent:2"}},
		{"agent's owner disabled", delegated, event.Event{Kind: event.KindActorDisabled, ID: "user:3"},
			&event.Event{Kind: event.KindActorEnabled, ID: "user:3"}},
		{"represented human disabled", delegated, event.Event{Kind: event.KindActorDisabled, ID: "user:1"},
			&event.Event{Kind: event.KindActorEnabled, ID: "user:1"}},
		{"tenant suspended", nil, event.Event{Kind: event.KindTenantSuspended, ID: "tenant-1"},
			&event.Event{Kind: event.KindTenantActivated, ID: "tenant-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newEventsFixture(t)
			c := fx.tg.claims()
			if tt.edit != nil {
				tt.edit(&c)
			}
			raw := fx.tg.sign(t, c)
			other := fx.tg.claims()
			other.Subject, other.SessionID, other.TenantID = "user:50", "sess-50", "tenant-50"
			otherRaw := fx.tg.sign(t, other)
			for _, r := range []string{raw, otherRaw} { // now cached
				if _, err := fx.a.AuthenticateToken(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			fx.publish(t, tt.revoke)
			_, err := fx.a.AuthenticateToken(ctx, raw)
			wantError(t, err, http.StatusUnauthorized, CodeTokenRevoked)
			if _, err := fx.a.AuthenticateToken(ctx, otherRaw); err != nil {
				t.Fatalf("an unrelated token: %v", err)
			}
			if tt.undo == nil {
				return
			}
			fx.publish(t, *tt.undo)
			if _, err := fx.a.AuthenticateToken(ctx, raw); err != nil {
				t.Fatalf("after %s: %v", tt.undo.Kind, err)
			}
		})
	}
}

// Every event, even one that does not decode, empties the introspection
// cache, so that the next request asks Tollgate again.
func TestEventsPurgeIntrospectionCache(t *testing.T) {
	tests := []struct {
		name string
		send func(t *testing.T, fx *eventsFixture)
	}{
		{"actor changed", func(t *testing.T, fx *eventsFixture) {
			fx.publish(t, event.Event{Kind: event.KindActorChanged, ID: keyActor})
		}},
		{"key revoked", func(t *testing.T, fx *eventsFixture) {
			fx.publish(t, event.Event{Kind: event.KindCredentialRevoked, ID: "key-1"})
		}},
		{"undecodable", func(t *testing.T, fx *eventsFixture) {
			if err := fx.bus.Publish(ctx, event.Subject, []byte(`{"kind":"from_the_future","id":"x"}`)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the purge", func() bool { return fx.a.cache.len() == 0 })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newEventsFixture(t)
			fx.tg.answer(testKey, activeAnswer(time.Time{}))
			for range 2 {
				if _, err := fx.a.AuthenticateToken(ctx, testKey); err != nil {
					t.Fatal(err)
				}
			}
			if got := fx.tg.introHits.Load(); got != 1 {
				t.Fatalf("%d introspections before the event", got)
			}
			// Tollgate now says the key is inactive.
			fx.tg.mu.Lock()
			delete(fx.tg.answers, testKey)
			fx.tg.mu.Unlock()
			tt.send(t, fx)
			before := fx.tg.introHits.Load()
			_, err := fx.a.AuthenticateToken(ctx, testKey)
			wantError(t, err, http.StatusUnauthorized, CodeInvalidAPIKey)
			if fx.tg.introHits.Load() == before {
				t.Fatal("answered from the cache after the event")
			}
		})
	}
}

// An API key whose credential, actor or tenant is revoked is refused even
// by an answer obtained before the event.
func TestEventsRevokeAPIKey(t *testing.T) {
	fx := newEventsFixture(t)
	fx.tg.answer(testKey, activeAnswer(time.Time{}))
	if _, err := fx.a.AuthenticateToken(ctx, testKey); err != nil {
		t.Fatal(err)
	}
	fx.publish(t, event.Event{Kind: event.KindCredentialRevoked, ID: "key-1"})
	// Tollgate's answer, if stale, is overruled.
	_, err := fx.a.AuthenticateToken(ctx, testKey)
	wantError(t, err, http.StatusUnauthorized, CodeTokenRevoked)
}

func TestRevocationsMemory(t *testing.T) {
	r := newRevocations()
	now := time.Unix(1000, 0)
	c := &token.Claims{Subject: "user:1", SessionID: "s1", TenantID: "t1"}
	r.apply(event.Event{Kind: event.KindCredentialRevoked, ID: "s1"}, now)
	if !r.rejectsClaims(c) {
		t.Fatal("not revoked")
	}
	// Remembered for revocationMemory, then forgotten at the next change.
	r.apply(event.Event{Kind: event.KindCredentialRevoked, ID: "other"}, now.Add(revocationMemory-time.Nanosecond))
	if !r.rejectsClaims(c) {
		t.Fatal("forgotten too early")
	}
	r.apply(event.Event{Kind: event.KindCredentialRevoked, ID: "other2"}, now.Add(revocationMemory))
	if r.rejectsClaims(c) || r.len() != 2 {
		t.Fatalf("not forgotten: %d held", r.len())
	}
	// Disable, enable, disable again: the second disable is remembered from
	// its own time, not forgotten with the first's queue entry.
	at := now.Add(3 * revocationMemory)
	r.apply(event.Event{Kind: event.KindActorDisabled, ID: "user:1"}, at)
	r.apply(event.Event{Kind: event.KindActorEnabled, ID: "user:1"}, at)
	if r.rejectsClaims(c) {
		t.Fatal("enabled actor rejected")
	}
	r.apply(event.Event{Kind: event.KindActorDisabled, ID: "user:1"}, at.Add(time.Hour))
	r.apply(event.Event{Kind: event.KindTenantSuspended, ID: "t9"}, at.Add(revocationMemory+time.Minute))
	if !r.rejectsClaims(c) {
		t.Fatal("re-disabled actor forgotten with its earlier entry")
	}
	// Kinds do not mix: a tenant named like a session is not a session.
	r.apply(event.Event{Kind: event.KindTenantSuspended, ID: "s2"}, at.Add(time.Hour))
	if r.rejectsClaims(&token.Claims{Subject: "user:2", SessionID: "s2"}) {
		t.Fatal("kinds mixed")
	}
}

func TestRevocationsBounded(t *testing.T) {
	const limit = 100
	r := newRevocations()
	r.max = limit
	now := time.Unix(1000, 0)
	for i := range limit + 10 {
		r.add(revKey{revCredential, fmt.Sprint(i)}, now)
	}
	if r.len() != limit {
		t.Fatalf("%d held", r.len())
	}
	// The oldest went first.
	if r.has(revCredential, "9") || !r.has(revCredential, "10") || !r.has(revCredential, fmt.Sprint(limit+9)) {
		t.Fatal("evicted the wrong ones")
	}
	if len(r.q)-r.head != limit {
		t.Fatalf("queue of %d", len(r.q)-r.head)
	}
}
