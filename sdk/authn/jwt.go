package authn

import (
	"context"
	"errors"
	"strings"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/token"
)

func (a *Authenticator) authenticateJWT(ctx context.Context, raw string) (identity.ActorContext, error) {
	c, err := a.verifier.VerifyContext(ctx, raw)
	if err != nil {
		if !a.keys.Loaded() {
			return identity.ActorContext{}, errUnavailable(err)
		}
		return identity.ActorContext{}, errInvalidToken(err)
	}
	if a.revs.rejectsClaims(c) {
		return identity.ActorContext{}, errRevoked()
	}
	return actorFromClaims(c)
}

// none is the shared empty list, so that absent roles or permissions
// encode as [] without allocating.
var none = []string{}

// actorFromClaims builds the ActorContext of verified claims. Its slices
// are the claims', shared with the verifier's cache.
func actorFromClaims(c *token.Claims) (identity.ActorContext, error) {
	perms := c.Scope
	if perms == nil {
		perms = none
	}
	roles := c.Roles
	if roles == nil {
		roles = none
	}
	ac := identity.ActorContext{
		ActorID: c.Subject, ActorType: c.ActorType, TenantID: c.TenantID, Roles: roles,
		Permissions: perms, Scopes: perms, CredentialID: c.CredentialID, SessionID: c.SessionID,
		ExpiresAt: c.ExpiresAt,
	}
	switch {
	case c.Act != nil:
		// RFC 8693: the outermost act is the current actor; sub is whom it
		// acts for.
		ac.ActorID, ac.OnBehalfOf = c.Act.Subject, c.Subject
		ac.ActorType = actorTypeOf(c.Act.Subject)
		ac.Credential = identity.CredentialDelegation
		if ac.ActorType == "" {
			return identity.ActorContext{}, errInvalidToken(errors.New("act.sub is not a typed actor id"))
		}
	case c.ActorType == identity.ActorService:
		ac.Credential = identity.CredentialClientCredentials
	default:
		ac.Credential = identity.CredentialSession
	}
	if ac.ActorType == "" {
		ac.ActorType = actorTypeOf(c.Subject)
	}
	return ac, nil
}

// actorTypeOf types an actor id by its prefix, "" when it has none of the
// known ones.
func actorTypeOf(id string) string {
	prefix, rest, ok := strings.Cut(id, ":")
	if !ok || rest == "" {
		return ""
	}
	switch prefix {
	case "user":
		return identity.ActorHuman
	case "agent":
		return identity.ActorAgent
	case "service":
		return identity.ActorService
	}
	return ""
}
