// Package privacy answers for the personal data Tollgate holds about a
// person: what a person may take away with them (Export).
package privacy

import (
	"context"
	"strings"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/session"
)

// Accounts reads users and their tenants (the store).
type Accounts interface {
	GetUser(ctx context.Context, id string) (identity.User, error)
	ListTenantsOf(ctx context.Context, actorID string, p cursor.Page) ([]identity.TenantMembership, error)
}

// Agents lists the agents a person owns in a tenant (identity.Service).
type Agents interface {
	OwnedAgents(ctx context.Context, tenantID, ownerID string) ([]identity.Agent, error)
}

// Keys lists API keys (the store).
type Keys interface {
	ListAPIKeys(ctx context.Context, f apikey.Filter, p cursor.Page) ([]apikey.Key, error)
}

// AuditLog queries the audit log (the store).
type AuditLog interface {
	QueryAudit(ctx context.Context, q audit.Query) ([]audit.Event, int64, error)
}

// Deps are what a Service is built from.
type Deps struct {
	Accounts Accounts
	Agents   Agents
	Sessions session.Directory
	Keys     Keys
	Audit    AuditLog
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Service gathers a person's data.
type Service struct {
	d Deps
}

// NewService wires a Service.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{d: d}
}

// Bounds of an export. One answer stays bounded whatever a person did:
// each list stops at its bound and says so.
const (
	// MaxTenants bounds the memberships, and so the per-tenant lists.
	MaxTenants = 1000
	// MaxSessions bounds the live sessions.
	MaxSessions = 1000
	// MaxKeysPerTenant bounds the API keys listed in each tenant.
	MaxKeysPerTenant = 1000
	// MaxAuditEvents bounds the audit events, newest first, across
	// streams; MaxAuditPerStream those of one stream.
	MaxAuditEvents    = 2000
	MaxAuditPerStream = audit.MaxQueryLimit
)

// Export is everything held about one person, secrets excepted: the
// user without its password hash, API keys without their hashes.
type Export struct {
	ExportedAt  time.Time
	User        identity.User
	Memberships []identity.TenantMembership
	Agents      []identity.Agent
	Sessions    []session.Session
	APIKeys     []apikey.Key
	// AuditEvents are the events the person is the actor of, newest
	// first within each stream: the platform stream, then each tenant's.
	AuditEvents []audit.Event
	// Truncated names the lists that stopped at their bound.
	Truncated []string
}

// Export gathers the caller's data. Only the person's own access token
// may ask: an API key or an agent acting for them may not carry their
// data away.
func (s *Service) Export(ctx context.Context, ac identity.ActorContext) (Export, error) {
	if err := ac.RequireSession(); err != nil {
		return Export{}, err
	}
	id, _ := strings.CutPrefix(ac.ActorID, identity.UserActorPrefix)
	u, err := s.d.Accounts.GetUser(ctx, id)
	if err != nil {
		return Export{}, err
	}
	u.PasswordHash = ""
	out := Export{ExportedAt: s.d.Now().UTC(), User: u}
	out.Memberships, err = pages(ctx, MaxTenants, &out, "memberships", func(p cursor.Page) ([]identity.TenantMembership, error) {
		return s.d.Accounts.ListTenantsOf(ctx, ac.ActorID, p)
	}, func(tm identity.TenantMembership) string { return tm.Tenant.ID })
	if err != nil {
		return Export{}, err
	}
	out.Sessions, err = pages(ctx, MaxSessions, &out, "sessions", func(p cursor.Page) ([]session.Session, error) {
		return s.d.Sessions.ListSessions(ctx, session.Filter{ActorID: ac.ActorID, LiveAt: out.ExportedAt}, p)
	}, func(ss session.Session) string { return ss.ID })
	if err != nil {
		return Export{}, err
	}
	for _, tm := range out.Memberships {
		if err := s.tenantData(ctx, &out, tm.Tenant.ID, ac.ActorID); err != nil {
			return Export{}, err
		}
	}
	if err := s.auditEvents(ctx, &out, ac.ActorID); err != nil {
		return Export{}, err
	}
	return out, nil
}

// tenantData adds the person's agents and API keys in one tenant.
func (s *Service) tenantData(ctx context.Context, out *Export, tenantID, actorID string) error {
	agents, err := s.d.Agents.OwnedAgents(ctx, tenantID, actorID)
	if err != nil {
		return err
	}
	out.Agents = append(out.Agents, agents...)
	keys, err := pages(ctx, MaxKeysPerTenant, out, "api_keys", func(p cursor.Page) ([]apikey.Key, error) {
		return s.d.Keys.ListAPIKeys(ctx, apikey.Filter{TenantID: tenantID, ActorIDs: []string{actorID}, IncludeRevoked: true}, p)
	}, func(k apikey.Key) string { return k.ID })
	if err != nil {
		return err
	}
	for i := range keys {
		keys[i].Hash, keys[i].PreviousHash = nil, nil
	}
	out.APIKeys = append(out.APIKeys, keys...)
	return nil
}

// auditEvents adds the newest events the person is the actor of, in
// the platform stream and each of their tenants' streams.
func (s *Service) auditEvents(ctx context.Context, out *Export, actorID string) error {
	streams := []string{""}
	for _, tm := range out.Memberships {
		streams = append(streams, tm.Tenant.ID)
	}
	for _, stream := range streams {
		room := min(MaxAuditPerStream, MaxAuditEvents-len(out.AuditEvents))
		if room == 0 {
			out.truncated("audit_events")
			return nil
		}
		evs, resume, err := s.d.Audit.QueryAudit(ctx, audit.Query{TenantID: stream, ActorID: actorID, Limit: room})
		if err != nil {
			return err
		}
		if len(evs) == room || resume > 0 {
			// Full, or the person's decisions older than the query's
			// window were not read: the export says it is not whole.
			out.truncated("audit_events")
		}
		out.AuditEvents = append(out.AuditEvents, evs...)
	}
	return nil
}

func (e *Export) truncated(list string) {
	for _, t := range e.Truncated {
		if t == list {
			return
		}
	}
	e.Truncated = append(e.Truncated, list)
}

// pages reads a keyset-paged list up to limit items, noting in out when
// it stops short.
func pages[T any](ctx context.Context, limit int, out *Export, name string, read func(cursor.Page) ([]T, error), key func(T) string) ([]T, error) {
	var all []T
	p := cursor.Page{Limit: cursor.MaxLimit}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		page, err := read(p)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(all) >= limit {
			if len(all) > limit || len(page) == p.Limit {
				out.truncated(name)
			}
			return all[:limit], nil
		}
		if len(page) < p.Limit {
			return all, nil
		}
		p.After = key(page[len(page)-1])
	}
}
