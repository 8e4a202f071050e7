package app

import (
	"fmt"
	"log/slog"

	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/session"
)

// passkeyOptions builds the WebAuthn relying party the configuration
// names. Passkeys are off, and said so, when it names none (the link base
// URL's host is an IP address and webauthn_rp_id is unset).
func passkeyOptions(cfg config.Config, st session.PasskeyStore, log *slog.Logger) (session.PasskeyOptions, error) {
	id, origins := cfg.EffectiveWebAuthn()
	if id == "" {
		log.Info("passkeys are off: set webauthn_rp_id (or an issuer or link_base_url with a domain name) to turn them on")
		return session.PasskeyOptions{}, nil
	}
	rp, err := session.NewRelyingParty(id, cfg.WebAuthnRPName, origins)
	if err != nil {
		return session.PasskeyOptions{}, fmt.Errorf("webauthn_rp_id / webauthn_origins: %w", err)
	}
	return session.PasskeyOptions{Store: st, RP: rp}, nil
}
