package config

import (
	"fmt"
	"net/mail"
	"net/url"
)

// checkSMTPURL accepts an empty value or an smtp:// or smtps:// URL with a
// host; mail.NewSMTP applies the finer rules when serve starts.
func checkSMTPURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return fmt.Errorf("invalid SMTP URL %q (want smtp://[user:password@]host[:587] or smtps://…[:465])", RedactURL(s))
	}
	return nil
}

func checkAddress(s string) error {
	if _, err := mail.ParseAddress(s); err != nil {
		return fmt.Errorf("invalid email address %q (want name@example.com or Name <name@example.com>)", s)
	}
	return nil
}

// checkLinkBase accepts an empty value or an absolute http(s) URL without
// query or fragment: the token is appended to it.
func checkLinkBase(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("invalid link base URL %q (want https://app.example.com[/path], no query)", s)
	}
	return nil
}
