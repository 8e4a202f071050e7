package oauth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/token"
)

// Resolver authenticates presented credentials (credential.Resolver).
type Resolver interface {
	Resolve(ctx context.Context, raw string) (identity.ActorContext, error)
}

// Clients checks client credentials (serviceaccount.Registry).
type Clients interface {
	Authenticate(ctx context.Context, clientID, clientSecret string) (serviceaccount.Service, string, error)
}

// Agents looks agents up (identity.Service).
type Agents interface {
	Agent(ctx context.Context, tenantID, agentID string) (identity.Agent, error)
}

// Signer signs access tokens (token.Keyring).
type Signer interface {
	Sign(c token.Claims) (string, error)
}

// Options configure issued tokens.
type Options struct {
	Issuer   string
	Audience string
	// TokenTTL is the lifetime of service tokens and the longest lifetime
	// of delegated ones.
	TokenTTL time.Duration
}

// Endpoint serves token requests.
type Endpoint struct {
	resolver Resolver
	clients  Clients
	agents   Agents
	signer   Signer
	opts     Options
	now      func() time.Time
	audit    Auditor
}

// Deps are what an Endpoint is built from.
type Deps struct {
	Resolver Resolver
	Clients  Clients
	Agents   Agents
	Signer   Signer
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Audit queues an event per grant (audit.go); nil records none.
	Audit Auditor
}

// NewEndpoint wires an Endpoint.
func NewEndpoint(d Deps, opts Options) *Endpoint {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Endpoint{resolver: d.Resolver, clients: d.Clients, agents: d.Agents, signer: d.Signer, opts: opts, now: d.Now, audit: d.Audit}
}

// Response is a successful token response (RFC 6749 §5.1, RFC 8693 §2.2.1).
type Response struct {
	AccessToken     string `json:"access_token"`
	IssuedTokenType string `json:"issued_token_type,omitempty"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	Scope           string `json:"scope,omitempty"`
}

// token runs a parsed request, noting in n who asked. Errors are *Error
// for everything the client got wrong, and other errors for failures of
// Tollgate itself.
func (e *Endpoint) token(ctx context.Context, r Request, n *grantNote) (Response, error) {
	switch r.GrantType {
	case GrantClientCredentials:
		return e.clientCredentials(ctx, r, n)
	case GrantTokenExchange:
		return e.exchange(ctx, r, n)
	}
	return Response{}, &Error{Code: "unsupported_grant_type", Status: 400}
}

// isClientFault reports whether err is the caller's fault, as opposed to
// a store or signing failure that must not be disguised as a bad request.
func isClientFault(err error) bool {
	k := fault.KindOf(err)
	return k != fault.Internal && k != fault.Unavailable
}

// narrow returns requested ∩ allowed, or all of allowed when nothing was
// requested; asking for anything not allowed is invalid_scope.
func narrow(r Request, allowed []string) ([]string, error) {
	if !r.ScopeGiven {
		return slices.Clone(allowed), nil
	}
	out := []string{}
	for _, s := range r.Scope {
		if !slices.Contains(allowed, s) {
			return nil, errInvalidScope("the scope %s is not available to this grant", safe(s))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (e *Endpoint) clientCredentials(ctx context.Context, r Request, n *grantNote) (Response, error) {
	svc, secretID, err := e.clients.Authenticate(ctx, r.ClientID, r.ClientSecret)
	if err != nil {
		if isClientFault(err) {
			return Response{}, errInvalidClient("client authentication failed", r.BasicAuth)
		}
		return Response{}, err
	}
	n.noteService(svc.ActorID(), secretID)
	scope, err := narrow(r, svc.Scopes)
	if err != nil {
		return Response{}, err
	}
	n.scope = scope
	now := e.now()
	// sid is the client secret, so rotating it out ends these tokens too.
	return e.sign(token.Claims{
		Subject: svc.ActorID(), ActorType: identity.ActorService, SessionID: secretID, Scope: scope,
	}, now, now.Add(e.opts.TokenTTL), "")
}

func (e *Endpoint) sign(c token.Claims, now, exp time.Time, issuedType string) (Response, error) {
	c.Issuer, c.Audience = e.opts.Issuer, []string{e.opts.Audience}
	c.IssuedAt, c.NotBefore, c.ExpiresAt, c.ID = now, now, exp, ids.NewAt(now)
	if c.Roles == nil {
		c.Roles = []string{}
	}
	raw, err := e.signer.Sign(c)
	if err != nil {
		return Response{}, fault.Wrap(fault.Internal, token.CodeSigningFailed, err)
	}
	return Response{
		AccessToken: raw, IssuedTokenType: issuedType, TokenType: "Bearer",
		ExpiresIn: int64(exp.Sub(now) / time.Second), Scope: strings.Join(c.Scope, " "),
	}, nil
}

// exchange delegates a human's rights to an agent. The token's sub is the
// human and its act claim the agent (RFC 8693 §4.1); its scope is what
// both may do, and it ends no later than the human's token.
func (e *Endpoint) exchange(ctx context.Context, r Request, n *grantNote) (Response, error) {
	// The exchange needs no client authentication, but credentials that
	// are presented must be valid (RFC 6749 §2.3): a wrong secret is never
	// ignored.
	if r.ClientSecret != "" || r.BasicAuth {
		if _, _, err := e.clients.Authenticate(ctx, r.ClientID, r.ClientSecret); err != nil {
			if isClientFault(err) {
				return Response{}, errInvalidClient("client authentication failed", r.BasicAuth)
			}
			return Response{}, err
		}
	}
	subject, err := e.resolver.Resolve(ctx, r.SubjectToken)
	if err != nil {
		if isClientFault(err) {
			return Response{}, errInvalidGrant("the subject_token is invalid, expired or revoked")
		}
		return Response{}, err
	}
	if subject.Credential != identity.CredentialSession || subject.ActorType != identity.ActorHuman {
		return Response{}, errInvalidGrant("the subject_token must be a human's session access token")
	}
	if subject.TenantID == "" {
		return Response{}, errInvalidGrant("the subject_token has no active tenant")
	}
	n.tenantID, n.onBehalfOf = subject.TenantID, subject.ActorID
	actor, err := e.resolver.Resolve(ctx, r.ActorToken)
	if err != nil {
		if isClientFault(err) {
			return Response{}, errInvalidGrant("the actor_token is invalid, expired or revoked")
		}
		return Response{}, err
	}
	if actor.ActorType != identity.ActorAgent || actor.Credential != identity.CredentialAPIKey {
		return Response{}, errInvalidGrant("the actor_token must be an agent's API key")
	}
	if actor.TenantID == subject.TenantID {
		// Only an agent of the subject's tenant is named in its stream.
		n.actorID, n.credKind, n.credID = actor.ActorID, identity.CredentialAPIKey, actor.CredentialID
	}
	// An agent of another tenant is indistinguishable from no agent.
	if actor.TenantID != subject.TenantID {
		return Response{}, errInvalidGrant("the agent does not belong to the subject's tenant")
	}
	ag, err := e.agents.Agent(ctx, subject.TenantID, strings.TrimPrefix(actor.ActorID, identity.AgentActorPrefix))
	if err != nil {
		if errors.Is(err, fault.ErrNotFound) {
			return Response{}, errInvalidGrant("the agent does not belong to the subject's tenant")
		}
		return Response{}, err
	}
	if ag.OwnerID != subject.ActorID && !slices.Contains(subject.Permissions, string(identity.PermAgentsWrite)) {
		return Response{}, &Error{Code: "unauthorized_client", Status: 400,
			Description: "the subject may not delegate to this agent: only its owner or a holder of agents:write may"}
	}
	both := make([]string, 0, len(actor.Permissions))
	for _, p := range actor.Permissions {
		if slices.Contains(subject.Permissions, p) {
			both = append(both, p)
		}
	}
	scope, err := narrow(r, both)
	if err != nil {
		return Response{}, err
	}
	n.scope = scope
	now := e.now()
	exp := now.Add(e.opts.TokenTTL)
	if !subject.ExpiresAt.IsZero() && subject.ExpiresAt.Before(exp) {
		exp = subject.ExpiresAt
	}
	if actor.ExpiresAt.After(now) && actor.ExpiresAt.Before(exp) {
		exp = actor.ExpiresAt
	}
	if exp.Sub(now) < time.Second {
		return Response{}, errInvalidGrant("the subject_token expires too soon to delegate")
	}
	return e.sign(token.Claims{
		Subject: subject.ActorID, ActorType: identity.ActorAgent, TenantID: subject.TenantID,
		Roles: subject.Roles, SessionID: subject.SessionID, CredentialID: actor.CredentialID,
		Act: &token.Actor{Subject: actor.ActorID, Owner: ag.OwnerID}, Scope: scope,
	}, now, exp, TokenTypeAccessToken)
}
