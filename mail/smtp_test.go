package mail_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// receiver is a real SMTP server in the test process: what Tollgate's
// client sends crosses a TCP connection to go-smtp's server.
type receiver struct {
	addr string
	pool *x509.CertPool

	mu       sync.Mutex
	got      []received
	failures int // Data fails this many more times with a 451
	authed   []string
}

type received struct {
	from string
	to   []string
	data []byte
}

// listen starts a receiver on 127.0.0.1:0. implicitTLS serves TLS from the
// first byte; otherwise STARTTLS is offered. Plain-text auth is allowed
// only over TLS, as a real server would.
func listen(t *testing.T, implicitTLS bool) *receiver {
	t.Helper()
	cert, pool := selfSigned(t)
	r := &receiver{pool: pool}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &rsession{r: r}, nil }))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	var l net.Listener
	var err error
	if implicitTLS {
		l, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	r.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

func (r *receiver) tls() *tls.Config {
	return &tls.Config{RootCAs: r.pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
}

func (r *receiver) messages() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

type rsession struct {
	r    *receiver
	from string
	to   []string
}

func (s *rsession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *rsession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != "mailer" || password != "s3cret" {
			return errors.New("bad credentials")
		}
		s.r.mu.Lock()
		s.r.authed = append(s.r.authed, username)
		s.r.mu.Unlock()
		return nil
	}), nil
}

func (s *rsession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *rsession) Rcpt(to string, _ *smtp.RcptOptions) error   { s.to = append(s.to, to); return nil }
func (s *rsession) Reset()                                      { s.from, s.to = "", nil }
func (s *rsession) Logout() error                               { return nil }

func (s *rsession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.r.failures > 0 {
		s.r.failures--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.r.got = append(s.r.got, received{from: s.from, to: s.to, data: b})
	return nil
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// parts reads a delivered message: its headers and the decoded text and
// HTML parts.
func parts(t *testing.T, data []byte) (mail.Header, map[string]string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	mr := multipartReader(t, m)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p) // mime/multipart decodes quoted-printable
		ct, _, _ := strings.Cut(p.Header.Get("Content-Type"), ";")
		out[ct] = string(b)
	}
	return m.Header, out
}

func multipartReader(t *testing.T, m *mail.Message) *multipart.Reader {
	t.Helper()
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		t.Fatalf("content type %q: %v", m.Header.Get("Content-Type"), err)
	}
	return multipart.NewReader(m.Body, params["boundary"])
}
