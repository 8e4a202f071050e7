// Package overview summarises a tenant for its admins in one bounded
// call: members by role, live sessions, keys and agents, the period's
// usage against quota, and recent security events.
package overview

import (
	"context"
	"slices"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/usage"
)

// Counts are a tenant's numbers at one time.
type Counts struct {
	Members int
	// MembersByRole counts the members holding each role; a member with
	// two roles counts under both.
	MembersByRole map[string]int
	// ActiveSessions are the sessions in the tenant neither revoked nor
	// expired; APIKeys the keys neither revoked nor expired.
	ActiveSessions int
	APIKeys        int
	Agents         int
}

// Store reads the counts and the audit log.
type Store interface {
	// TenantCounts counts tenantID's members, live sessions and keys at
	// now, and agents.
	TenantCounts(ctx context.Context, tenantID string, now time.Time) (Counts, error)
	QueryAudit(ctx context.Context, q audit.Query) ([]audit.Event, int64, error)
}

// Usage summarises the billing period (usage.Service).
type Usage interface {
	Summary(ctx context.Context, ac identity.ActorContext, tenantID, subject string) (usage.Summary, error)
}

// Deps are what a Service is built from.
type Deps struct {
	Store  Store
	Rights identity.TenantRights
	// Usage, nil when usage is off, leaves the usage out.
	Usage Usage
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Service answers tenant overviews.
type Service struct{ d Deps }

// NewService wires a Service.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{d: d}
}

// Overview is one tenant's summary.
type Overview struct {
	TenantID string
	AsOf     time.Time
	Counts
	// Usage is the period's totals against quotas; nil when usage is off
	// or the policies do not let the caller view the tenant's usage.
	Usage *usage.Summary
	// SecurityEvents are the newest events of SecurityActions, newest
	// first, at most MaxSecurityEvents.
	SecurityEvents []audit.Event
}

// MaxSecurityEvents bounds an overview's security events.
const MaxSecurityEvents = 20

// SecurityActions are the acts an overview reports as security events:
// who may sign in and with what rights, and credentials.
var SecurityActions = []string{
	audit.ActionSessionRefreshReuse, audit.ActionSessionRevoke, audit.ActionPasswordChange, audit.ActionPasswordReset,
	audit.ActionMemberAdd, audit.ActionMemberUpdate, audit.ActionMemberRemove, audit.ActionInvitationAccept,
	audit.ActionRolePut, audit.ActionRoleDelete, audit.ActionAPIKeyCreate, audit.ActionAPIKeyRotate, audit.ActionAPIKeyRevoke,
	audit.ActionTenantSuspend, audit.ActionTenantActivate, audit.ActionPolicyPut,
}

// needs are the permissions an overview takes: it shows nothing its
// caller could not read part by part.
var needs = []identity.Permission{
	identity.PermTenantRead, identity.PermMembersRead, identity.PermSessionsRead,
	identity.PermAPIKeysRead, identity.PermAgentsRead, identity.PermAuditRead,
}

// Get answers tenantID's overview.
func (s *Service) Get(ctx context.Context, ac identity.ActorContext, tenantID string) (Overview, error) {
	if err := s.authorize(ctx, ac, tenantID); err != nil {
		return Overview{}, err
	}
	now := s.d.Now().UTC()
	counts, err := s.d.Store.TenantCounts(ctx, tenantID, now)
	if err != nil {
		return Overview{}, err
	}
	out := Overview{TenantID: tenantID, AsOf: now, Counts: counts}
	if s.d.Usage != nil {
		sum, err := s.d.Usage.Summary(ctx, ac, tenantID, "")
		switch {
		case err == nil:
			out.Usage = &sum
		case fault.KindOf(err) != fault.Forbidden:
			return Overview{}, err
		}
	}
	out.SecurityEvents, err = s.securityEvents(ctx, tenantID)
	if err != nil {
		return Overview{}, err
	}
	return out, nil
}

// securityEvents reads the newest MaxSecurityEvents of each security
// action, each an index range (tenant, action, seq), and keeps the
// newest MaxSecurityEvents of them all.
func (s *Service) securityEvents(ctx context.Context, tenantID string) ([]audit.Event, error) {
	var all []audit.Event
	for _, a := range SecurityActions {
		// By action alone: never stopped by a decision window.
		evs, _, err := s.d.Store.QueryAudit(ctx, audit.Query{TenantID: tenantID, Action: a, Limit: MaxSecurityEvents})
		if err != nil {
			return nil, err
		}
		all = append(all, evs...)
	}
	slices.SortFunc(all, func(a, b audit.Event) int { return int(b.Seq - a.Seq) })
	return all[:min(len(all), MaxSecurityEvents)], nil
}

// authorize refuses unless the caller holds every permission of needs
// in tenantID.
func (s *Service) authorize(ctx context.Context, ac identity.ActorContext, tenantID string) error {
	perms, err := identity.CredentialPermissions(ctx, s.d.Rights, ac, tenantID)
	if err != nil {
		return err
	}
	return identity.RequirePermissions(perms, needs...)
}
