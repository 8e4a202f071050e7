package app

import (
	"log/slog"
	"time"

	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/mail"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/token"
)

// mailInterval spaces the outbox worker's passes.
const mailInterval = 2 * time.Second

// openMail loads the email templates (the operator's overrides parse now,
// not when the first message is sent) and builds the outbox worker: over
// SMTP when smtp_url is set, else to the log, for development. Bodies wait
// in the outbox sealed with the master key.
func openMail(cfg config.Config, st store.Store, masterKey []byte, log *slog.Logger) (*mail.Templates, *mail.Worker, error) {
	sealer, err := token.NewSealer(masterKey)
	if err != nil {
		return nil, nil, err
	}
	tpl, err := mail.LoadTemplates(cfg.MailTemplatesDir, sealer)
	if err != nil {
		return nil, nil, err
	}
	var sender mail.Sender = mail.LogSender{Log: log}
	if cfg.SMTPURL != "" {
		if sender, err = mail.NewSMTP(cfg.SMTPURL, nil); err != nil {
			return nil, nil, err
		}
	} else {
		log.Warn("no smtp_url: email is written to the log and kept for tollgate admin outbox, links included — development only")
	}
	return tpl, &mail.Worker{Store: st, Sender: sender, Sealer: sealer, From: cfg.SMTPFrom, Log: log, MaxAttempts: cfg.MailMaxAttempts}, nil
}
