package oauth

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/identity"
)

// Auditor queues audit events off the request path (audit.Recorder).
type Auditor interface {
	Add(ctx context.Context, events ...audit.Event)
}

// grantNote is what a grant learned of who asked, for its audit event.
type grantNote struct {
	// tenantID is the delegating human's tenant (token exchange).
	tenantID string
	// actorID and credential are who authenticated: the service and its
	// client secret, or the agent and its API key.
	actorID, credKind, credID string
	// onBehalfOf is the delegating human.
	onBehalfOf string
	scope      []string
}

// Token runs a parsed request and records it in the audit log:
// token.client_credentials in the platform stream (services are the
// platform's), token.exchange in the delegating human's tenant, or the
// platform stream when the subject token names none. Requests the client
// got wrong are recorded as failures with the OAuth error code as reason;
// failures of Tollgate itself are not acts and are not recorded.
func (e *Endpoint) Token(ctx context.Context, r Request) (Response, error) {
	var n grantNote
	resp, err := e.token(ctx, r, &n)
	if e.audit == nil {
		return resp, err
	}
	var action string
	switch r.GrantType {
	case GrantClientCredentials:
		action = audit.ActionClientCredentials
	case GrantTokenExchange:
		action = audit.ActionTokenExchange
	default:
		return resp, err
	}
	ev := audit.Event{
		TenantID: n.tenantID, Action: action, Outcome: audit.Success,
		ActorID: n.actorID, OnBehalfOf: n.onBehalfOf, CredentialKind: n.credKind, CredentialID: n.credID,
	}
	var oe *Error
	switch {
	case err == nil:
		ev.Detail = map[string]string{"scope": audit.FitText(strings.Join(n.scope, " "), audit.MaxDetailValue),
			"expires_in": strconv.FormatInt(resp.ExpiresIn, 10)}
	case errors.As(err, &oe):
		ev.Outcome, ev.Reason = audit.Failure, oe.Code
		if oe.Code == "unauthorized_client" {
			ev.Outcome = audit.Denied
		}
	default:
		return resp, err
	}
	switch action {
	case audit.ActionClientCredentials:
		ev.TargetType = "service"
		if n.actorID != "" {
			ev.TargetID = n.actorID
		} else if r.ClientID != "" {
			// Not a secret (a service's name), but the client's input:
			// text in the detail, whatever it holds.
			if ev.Detail == nil {
				ev.Detail = map[string]string{}
			}
			ev.Detail["client_id"] = audit.FitText(r.ClientID, 128)
		}
	case audit.ActionTokenExchange:
		// The delegation is of the human's rights to the agent.
		ev.TargetType, ev.TargetID = "user", n.onBehalfOf
	}
	e.audit.Add(ctx, ev)
	return resp, err
}

// noteService notes the service that authenticated with a client secret.
func (n *grantNote) noteService(actorID, secretID string) {
	n.actorID, n.credKind, n.credID = actorID, identity.CredentialClientCredentials, secretID
}
