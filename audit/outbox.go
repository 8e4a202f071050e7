package audit

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/tollgate/tollgate/outbox"
)

// Origin is who acted and from where, as the HTTP layer knows it: it is
// put in the request's context once the credential is resolved, so that
// the domain code recording an act names only what was done.
type Origin struct {
	ActorID        string
	OnBehalfOf     string
	CredentialKind string
	CredentialID   string
	ClientIP       string
	UserAgent      string
	RequestID      string
	TraceID        string
}

type originKey struct{}

// WithOrigin returns ctx carrying o.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return WithOriginFunc(ctx, func() Origin { return o })
}

// WithOriginFunc returns ctx carrying f, asked for the Origin only when an
// act is recorded: the HTTP layer installs it before the credential is
// resolved, and most requests record nothing.
func WithOriginFunc(ctx context.Context, f func() Origin) context.Context {
	return context.WithValue(ctx, originKey{}, f)
}

// OriginOf returns the Origin in ctx, or the zero Origin (an act of the
// operator's command line, or of Tollgate itself).
func OriginOf(ctx context.Context) Origin {
	if f, ok := ctx.Value(originKey{}).(func() Origin); ok {
		return f()
	}
	return Origin{}
}

// Stamp fills the fields of e that ctx's Origin knows and e leaves empty.
func Stamp(ctx context.Context, e Event) Event {
	o := OriginOf(ctx)
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&e.ActorID, o.ActorID)
	fill(&e.OnBehalfOf, o.OnBehalfOf)
	fill(&e.CredentialKind, o.CredentialKind)
	fill(&e.CredentialID, o.CredentialID)
	fill(&e.ClientIP, o.ClientIP)
	fill(&e.UserAgent, clampText(o.UserAgent, maxUserAgent))
	fill(&e.RequestID, o.RequestID)
	fill(&e.TraceID, o.TraceID)
	if e.Outcome == "" {
		e.Outcome = Success
	}
	return e
}

// Record returns ctx carrying events, stamped with ctx's Origin, for the
// transactional outbox: the store writes them in the transaction of the
// next write made with the returned context — the act's own — so that the
// act and its record are stored together or not at all. Acts that must
// never be lost (credential, membership, role, policy and tenant changes)
// are recorded so. An act that writes nothing records nothing: record
// only before the write that is the act.
func Record(ctx context.Context, events ...Event) context.Context {
	stamped := make([]Event, len(events))
	for i, e := range events {
		stamped[i] = Stamp(ctx, e)
	}
	return outbox.Add(ctx, stamped...)
}

// Pending reports whether ctx carries events a write has not taken yet.
func Pending(ctx context.Context) bool { return outbox.Pending[Event](ctx) }

// TakePending hands ctx's unwritten events to a store's write, once: the
// store appends them in its transaction, and gives them back with
// RestorePending if that transaction does not commit.
func TakePending(ctx context.Context) []Event { return outbox.Take[Event](ctx) }

// RestorePending gives back events a failed transaction took, so that the
// act's retry (a new id after a collision, say) still records them.
func RestorePending(ctx context.Context, events []Event) { outbox.Restore(ctx, events) }

// maxUserAgent is the user_agent limit of Validate.
const maxUserAgent = 512

// clampText makes a header fit an event: valid UTF-8 (headers may carry
// any byte), at most max bytes, cut at a rune. A client's odd header must
// never fail the act it came with.
func clampText(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// List writes names (roles, permissions, scopes) as one detail value:
// comma-separated, and cut to the limit of a detail value so that a long
// list never fails the act it describes.
func List(names []string) string {
	return clampText(strings.Join(names, ","), maxDetailValue)
}
