package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/tollgate/tollgate/fault"
)

// Sender delivers one message.
type Sender interface {
	Send(ctx context.Context, from string, m Message) error
	// KeepsBody reports whether a sent message's body stays in the outbox:
	// only where the outbox is how a developer reads it (LogSender).
	KeepsBody() bool
}

// SMTP delivers over SMTP: smtp://[user:pass@]host[:587] upgrades with
// STARTTLS (refusing a server that does not offer it, unless the URL says
// ?tls=none — for a local test server only), smtps://…[:465] speaks TLS
// from the start.
type SMTP struct {
	addr     string
	implicit bool
	plain    bool
	user     string
	pass     string
	tls      *tls.Config
	timeout  time.Duration
}

// NewSMTP parses raw; tlsConfig nil means the system roots and the URL's
// host name.
func NewSMTP(raw string, tlsConfig *tls.Config) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return nil, fault.Invalidf("smtp_url", CodeInvalidSMTPURL, "smtp_url must look like smtp://user:pass@host:587 or smtps://host:465")
	}
	s := &SMTP{timeout: 30 * time.Second}
	port := u.Port()
	switch u.Scheme {
	case "smtp":
		if port == "" {
			port = "587"
		}
	case "smtps":
		s.implicit = true
		if port == "" {
			port = "465"
		}
	default:
		return nil, fault.Invalidf("smtp_url", CodeInvalidSMTPURL, "smtp_url scheme must be smtp or smtps, not %q", u.Scheme)
	}
	switch u.Query().Get("tls") {
	case "":
	case "none":
		if s.implicit {
			return nil, fault.Invalidf("smtp_url", CodeInvalidSMTPURL, "smtps:// always uses TLS; tls=none applies to smtp:// only")
		}
		s.plain = true
	default:
		return nil, fault.Invalidf("smtp_url", CodeInvalidSMTPURL, "smtp_url's tls parameter may only be none")
	}
	s.addr = net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	if tlsConfig == nil {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	s.tls = tlsConfig.Clone()
	if s.tls.ServerName == "" {
		s.tls.ServerName = u.Hostname()
	}
	return s, nil
}

// KeepsBody is false: a delivered message's links stay in the recipient's
// mailbox only.
func (s *SMTP) KeepsBody() bool { return false }

// Send delivers m in one connection, bounded by ctx and the sender's
// timeout.
func (s *SMTP) Send(ctx context.Context, from string, m Message) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	var c *smtp.Client
	switch {
	case s.implicit:
		c = smtp.NewClient(tls.Client(conn, s.tls))
	case s.plain:
		c = smtp.NewClient(conn)
	default:
		c, err = smtp.NewClientStartTLS(conn, s.tls)
		if err != nil {
			conn.Close()
			return err
		}
	}
	defer c.Close()
	if s.user != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.user, s.pass)); err != nil {
			return err
		}
	}
	sender, err := mail.ParseAddress(from)
	if err != nil {
		return fault.Invalidf("smtp_from", CodeInvalidSMTPFrom, "smtp_from must be an address, optionally with a name: %v", err)
	}
	body, err := Compose(sender.String(), m, time.Now())
	if err != nil {
		return err
	}
	if err := c.SendMail(sender.Address, []string{m.To}, bytes.NewReader(body)); err != nil {
		return err
	}
	return c.Quit()
}

// Compose writes m as an RFC 5322 message: multipart/alternative with the
// text part first and the HTML part second, both quoted-printable.
func Compose(from string, m Message, now time.Time) ([]byte, error) {
	for _, h := range []string{from, m.To, m.Subject} {
		if strings.ContainsAny(h, "\r\n") {
			return nil, fault.New(fault.Invalid, CodeInvalidTemplate, "a header value holds a line break")
		}
	}
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	boundary := "tollgate-" + hex.EncodeToString(rnd[:])
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@tollgate>\r\nMIME-Version: 1.0\r\n",
		from, m.To, mime.QEncoding.Encode("utf-8", m.Subject), now.UTC().Format(time.RFC1123Z), m.ID)
	fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=%q\r\n\r\n", boundary)
	for _, part := range []struct{ ctype, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary, part.ctype)
		w := quotedprintable.NewWriter(&b)
		if _, err := w.Write([]byte(strings.ReplaceAll(part.body, "\n", "\r\n"))); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes(), nil
}
