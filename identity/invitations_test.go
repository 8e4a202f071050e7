package identity_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/mail"
)

// newMailWorld is newWorld whose Service sends invitations.
func newMailWorld(t *testing.T) *world {
	t.Helper()
	tpl, err := mail.LoadTemplates("", nil)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t)
	w.svc = identity.NewService(identity.Deps{Store: w.st, Notify: w.events.Notify, Now: w.clock.Now, Mail: tpl},
		identity.Options{InvitationTTL: 48 * time.Hour, LinkBase: "https://app.example"})
	return w
}

// invitationToken is the token of the newest email to addr.
func (w *world) invitationToken(addr string) string {
	w.t.Helper()
	msgs, err := w.st.ListMail(w.ctx, cursor.Page{})
	if err != nil {
		w.t.Fatal(err)
	}
	// The newest message to addr: a resend's link replaces the one sent
	// before it. Message ids carry milliseconds and random bits, so two
	// sent within a millisecond list in either order (the test failed
	// about one run in five); the store stamps each message's CreatedAt
	// to the microsecond as it writes it.
	var newest *mail.Message
	for i, m := range msgs {
		if m.To == addr && (newest == nil || m.CreatedAt.After(newest.CreatedAt)) {
			newest = &msgs[i]
		}
	}
	if newest == nil {
		w.t.Fatalf("no email to %s", addr)
	}
	_, tok, _ := strings.Cut(newest.Text, "https://app.example/invitations/accept?token=")
	return tok[:len(identity.InvitationTokenPrefix)+43]
}

func TestInvitationExpires(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after time.Duration
		want  fault.Code
	}{
		{"just before", 48*time.Hour - time.Second, ""},
		{"at expiry", 48 * time.Hour, identity.CodeInvitationExpired},
		{"long after", 30 * 24 * time.Hour, identity.CodeInvitationExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newMailWorld(t)
			inv, err := w.svc.Invite(w.ctx, w.as(w.admin), w.tenantA.ID, identity.NewInvitation{Email: "n@a.example", Roles: []string{"member"}})
			if err != nil {
				t.Fatal(err)
			}
			if !inv.ExpiresAt.Equal(w.clock.Now().UTC().Truncate(time.Microsecond).Add(48 * time.Hour)) {
				t.Fatalf("expires %v", inv.ExpiresAt)
			}
			tok := w.invitationToken("n@a.example")
			w.clock.Advance(tc.after)
			_, _, err = w.svc.AcceptInvitation(w.ctx, identity.Acceptance{Token: tok, PasswordHash: "$argon2id$x"})
			if tc.want == "" && err != nil || tc.want != "" && codeOf(err) != tc.want {
				t.Fatalf("accept after %v: %v, want %q", tc.after, err, tc.want)
			}
		})
	}
}

// TestInvitationResendExtends: a resend moves the expiry to a full TTL
// from now.
func TestInvitationResendExtends(t *testing.T) {
	w := newMailWorld(t)
	inv, err := w.svc.Invite(w.ctx, w.as(w.admin), w.tenantA.ID, identity.NewInvitation{Email: "n@a.example", Roles: []string{"member"}})
	if err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(47 * time.Hour)
	if _, err := w.svc.ResendInvitation(w.ctx, w.as(w.admin), w.tenantA.ID, inv.ID); err != nil {
		t.Fatal(err)
	}
	tok := w.invitationToken("n@a.example")
	w.clock.Advance(47 * time.Hour)
	if _, _, err := w.svc.AcceptInvitation(w.ctx, identity.Acceptance{Token: tok, PasswordHash: "$argon2id$x"}); err != nil {
		t.Fatalf("accept a resent invitation: %v", err)
	}
}

func TestInviteWithoutMailFails(t *testing.T) {
	w := newWorld(t)
	_, err := w.svc.Invite(w.ctx, w.as(w.admin), w.tenantA.ID, identity.NewInvitation{Email: "n@a.example", Roles: []string{"member"}})
	if codeOf(err) != identity.CodeMailUnavailable {
		t.Fatalf("invite without mail: %v", err)
	}
	if list, err := w.svc.ListInvitations(w.ctx, w.as(w.admin), w.tenantA.ID, cursor.Page{}); err != nil || len(list) != 0 {
		t.Fatalf("invitations %v, %v", list, err)
	}
}

func TestParseLinkToken(t *testing.T) {
	good, hash := identity.NewLinkToken(identity.InvitationTokenPrefix)
	got, err := identity.ParseLinkToken(good, identity.InvitationTokenPrefix, "token", identity.CodeInvalidInvitationToken)
	if err != nil || string(got) != string(hash) {
		t.Fatalf("parse a new token: %x, %v", got, err)
	}
	body := good[len(identity.InvitationTokenPrefix):]
	for _, raw := range []string{
		"", identity.InvitationTokenPrefix, body, identity.ResetTokenPrefix + body, good[:len(good)-1], good + "A",
		good[:len(good)-1] + "=", good[:len(good)-1] + "+", strings.ToUpper(good), " " + good,
		// The last character carries 2 unused bits: a non-canonical
		// encoding of the same bytes is refused.
		good[:len(good)-1] + string(flipLowBits(good[len(good)-1])),
	} {
		if _, err := identity.ParseLinkToken(raw, identity.InvitationTokenPrefix, "token", identity.CodeInvalidInvitationToken); codeOf(err) != identity.CodeInvalidInvitationToken || !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("ParseLinkToken(%q) = %v", raw, err)
		}
	}
}

// flipLowBits changes a base64url character's value by one, which keeps
// its top four bits.
func flipLowBits(c byte) byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return alphabet[i^1]
}

// FuzzParseLinkToken: the parser of untrusted tokens never panics, accepts
// only the exact shape, and hashes deterministically.
func FuzzParseLinkToken(f *testing.F) {
	good, _ := identity.NewLinkToken(identity.InvitationTokenPrefix)
	reset, _ := identity.NewLinkToken(identity.ResetTokenPrefix)
	for _, s := range []string{good, reset, "", "tginv_", good + good, strings.Repeat("\xff", 49)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		h1, err := identity.ParseLinkToken(raw, identity.InvitationTokenPrefix, "token", identity.CodeInvalidInvitationToken)
		if err != nil {
			if h1 != nil || codeOf(err) != identity.CodeInvalidInvitationToken {
				t.Fatalf("failure %x, %v", h1, err)
			}
			return
		}
		if len(raw) != len(identity.InvitationTokenPrefix)+43 || !strings.HasPrefix(raw, identity.InvitationTokenPrefix) || len(h1) != 32 {
			t.Fatalf("accepted %q", raw)
		}
		h2, _ := identity.ParseLinkToken(raw, identity.InvitationTokenPrefix, "token", identity.CodeInvalidInvitationToken)
		if string(h1) != string(h2) {
			t.Fatal("hash is not deterministic")
		}
	})
}

func codeOf(err error) fault.Code {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	return ""
}
