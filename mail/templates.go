package mail

import (
	"bytes"
	"embed"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"

	"github.com/tollgate/tollgate/fault"
)

//go:embed templates/*.txt templates/*.html
var embedded embed.FS

// Kinds of message, each a pair of templates <kind>.txt and <kind>.html;
// the text template defines "subject".
const (
	KindInvitation    = "invitation"
	KindPasswordReset = "password_reset"
	KindVerifyEmail   = "verify_email"
	// KindWebhookDisabled tells a tenant's owners that Tollgate disabled a
	// webhook endpoint that kept failing.
	KindWebhookDisabled = "webhook_disabled"
)

// Kinds lists every kind a Templates must render.
var Kinds = []string{KindInvitation, KindPasswordReset, KindVerifyEmail, KindWebhookDisabled}

// Templates renders messages: the embedded templates, each replaceable by
// a file of the same name in an operator's directory.
type Templates struct {
	text map[string]*texttemplate.Template
	html map[string]*htmltemplate.Template
	// sealer, when set, seals every body Render makes.
	sealer Sealer
}

// LoadTemplates parses the embedded templates, taking <kind>.txt and
// <kind>.html from dir instead where dir ("" for none) has them. A file
// that does not parse fails here, at start-up, not when a mail is sent.
// With a sealer, every message Render makes has its body sealed (Sealed);
// nil leaves bodies in the clear, for tests of the templates themselves.
func LoadTemplates(dir string, sealer Sealer) (*Templates, error) {
	t := &Templates{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}, sealer: sealer}
	for _, kind := range Kinds {
		src, err := read(dir, kind+".txt")
		if err != nil {
			return nil, err
		}
		tt, err := texttemplate.New(kind + ".txt").Option("missingkey=error").Parse(src)
		if err == nil && tt.Lookup("subject") == nil {
			err = fs.ErrNotExist
		}
		if err != nil {
			return nil, fault.Wrap(fault.Invalid, CodeInvalidTemplate, err)
		}
		src, err = read(dir, kind+".html")
		if err != nil {
			return nil, err
		}
		ht, err := htmltemplate.New(kind + ".html").Option("missingkey=error").Parse(src)
		if err != nil {
			return nil, fault.Wrap(fault.Invalid, CodeInvalidTemplate, err)
		}
		t.text[kind], t.html[kind] = tt, ht
	}
	return t, nil
}

func read(dir, name string) (string, error) {
	if dir != "" {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			return string(b), nil
		}
		if !os.IsNotExist(err) {
			return "", fault.Wrap(fault.Invalid, CodeInvalidTemplate, err)
		}
	}
	b, err := embedded.ReadFile("templates/" + name)
	if err != nil {
		return "", fault.Wrap(fault.Internal, CodeInvalidTemplate, err)
	}
	return string(b), nil
}

// Render makes a message of kind for to from data. The HTML template
// escapes data; the subject is cut at the first line break, so that data
// cannot add a header.
func (t *Templates) Render(kind, to string, data any) (Message, error) {
	tt, ht := t.text[kind], t.html[kind]
	if tt == nil || ht == nil {
		return Message{}, fault.New(fault.Internal, CodeInvalidTemplate, "no template for "+kind)
	}
	var subject, text, html bytes.Buffer
	if err := tt.ExecuteTemplate(&subject, "subject", data); err != nil {
		return Message{}, fault.Wrap(fault.Internal, CodeInvalidTemplate, err)
	}
	if err := tt.Execute(&text, data); err != nil {
		return Message{}, fault.Wrap(fault.Internal, CodeInvalidTemplate, err)
	}
	if err := ht.Execute(&html, data); err != nil {
		return Message{}, fault.Wrap(fault.Internal, CodeInvalidTemplate, err)
	}
	s, _, _ := strings.Cut(subject.String(), "\n")
	s, _, _ = strings.Cut(s, "\r")
	m := Message{To: to, Kind: kind, Subject: strings.TrimSpace(s), Text: text.String(), HTML: html.String()}
	if t.sealer == nil {
		return m, nil
	}
	return seal(t.sealer, m)
}
