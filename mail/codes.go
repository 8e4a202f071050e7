package mail

import "github.com/tollgate/tollgate/fault"

// Error codes of the mail package (docs/errors.md).
const (
	// CodeInvalidSMTPURL: smtp_url is not smtp:// or smtps:// with a host.
	CodeInvalidSMTPURL fault.Code = "invalid_smtp_url"
	// CodeInvalidSMTPFrom: smtp_from is not an address.
	CodeInvalidSMTPFrom fault.Code = "invalid_smtp_from"
	// CodeInvalidTemplate: a template in the override directory does not
	// parse, or a kind has no template.
	CodeInvalidTemplate fault.Code = "invalid_mail_template"
	// CodeSealFailed: a message body could not be sealed or opened with
	// the master key.
	CodeSealFailed fault.Code = "mail_seal_failed"
)
