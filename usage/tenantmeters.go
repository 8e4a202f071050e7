package usage

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
)

// TenantMeters are the meters a tenant defines on top of the shipped and
// configured ones, replaced as a whole.
type TenantMeters struct {
	TenantID string  `json:"tenant_id"`
	Meters   []Meter `json:"meters"`
	// Version counts the replacements: 0 for a tenant that never had any.
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// MaxTenantMeters bounds a tenant's own meters: every event of a type is
// measured by each of that type's meters, in the transaction recording it.
const MaxTenantMeters = 32

// AnyVersion is SetTenantMeters' "whatever the stored version".
const AnyVersion = -1

// MeterStore keeps tenants' own meters.
type MeterStore interface {
	// TenantMeters returns tenantID's meters: none and version 0 when it
	// has none, whether or not the tenant exists.
	TenantMeters(ctx context.Context, tenantID string) (TenantMeters, error)
	// SetTenantMeters replaces m.TenantID's meters when its version is
	// version (any when AnyVersion) and returns the new version: Conflict
	// CodeMetersChanged when it is not, NotFound when the tenant does not
	// exist.
	SetTenantMeters(ctx context.Context, m TenantMeters, version int64) (int64, error)
}

// ValidateTenantMeters checks a tenant's meters against the meters in
// force for every tenant (base): each valid, named apart from each other
// and from base, at most MaxTenantMeters.
func ValidateTenantMeters(base *Meters, ms []Meter) error {
	if len(ms) > MaxTenantMeters {
		return fault.Invalidf("meters", CodeInvalidMeter, "at most %d meters of a tenant's own", MaxTenantMeters)
	}
	for i, m := range ms {
		field := fmt.Sprintf("meters[%d]", i)
		if m.GroupBy == nil {
			ms[i].GroupBy = []string{}
		}
		if err := m.Validate(); err != nil {
			return fault.Invalidf(field, CodeInvalidMeter, "%s: %v", field, err)
		}
		if _, taken := base.Lookup("", m.Name); taken || slices.ContainsFunc(ms[:i], func(o Meter) bool { return o.Name == m.Name }) {
			return fault.Invalidf(field+".name", CodeInvalidMeter, "%s.name: meter %s is defined already", field, m.Name)
		}
	}
	return nil
}

// with returns ms and extra, indexed. Extra meters clashing with ms (a
// configured meter added after a tenant defined one of the same name) are
// left out: the operator's definition wins.
func (ms *Meters) with(extra []Meter) *Meters {
	out := &Meters{all: slices.Clone(ms.all), byType: make(map[string][]Meter, len(ms.byType))}
	for t, list := range ms.byType {
		out.byType[t] = slices.Clone(list)
	}
	for _, m := range extra {
		if _, taken := out.Lookup("", m.Name); taken || m.Validate() != nil {
			continue
		}
		out.all = append(out.all, m)
		out.byType[m.EventType] = append(out.byType[m.EventType], m)
	}
	return out
}

// meterCacheTTL bounds how long a replica measures with a tenant's meters
// as it last read them when no change reached it over the bus.
const meterCacheTTL = 10 * time.Second

// meterCache keeps each tenant's meters in force, read from the store at
// most once per meterCacheTTL (and again after a change).
type meterCache struct {
	mu      sync.Mutex
	entries map[string]meterEntry
}

type meterEntry struct {
	meters *Meters
	at     time.Time
}

// metersOf returns the meters in force in tenantID: the base meters and,
// when the service keeps tenant meters, the tenant's own.
func (s *Service) metersOf(ctx context.Context, tenantID string) (*Meters, error) {
	if s.tenantMeters == nil || tenantID == "" {
		return s.meters, nil
	}
	now := s.now()
	s.meterCache.mu.Lock()
	e, ok := s.meterCache.entries[tenantID]
	s.meterCache.mu.Unlock()
	if ok && now.Sub(e.at) < meterCacheTTL && !now.Before(e.at) {
		return e.meters, nil
	}
	tm, err := s.tenantMeters.TenantMeters(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	ms := s.meters
	if len(tm.Meters) > 0 {
		ms = s.meters.with(tm.Meters)
	}
	s.meterCache.mu.Lock()
	if s.meterCache.entries == nil || len(s.meterCache.entries) > 100_000 {
		// A bound, not an eviction policy: one read per tenant refills it.
		s.meterCache.entries = map[string]meterEntry{}
	}
	s.meterCache.entries[tenantID] = meterEntry{meters: ms, at: now}
	s.meterCache.mu.Unlock()
	return ms, nil
}

// InvalidateMeters forgets tenantID's meters, so that the next event or
// query reads them again (a change on this or another replica).
func (s *Service) InvalidateMeters(tenantID string) {
	s.meterCache.mu.Lock()
	delete(s.meterCache.entries, tenantID)
	s.meterCache.mu.Unlock()
}

// TenantMeters returns tenantID's own meters, and the shipped and
// configured ones in force for every tenant, to holders of tenant:read in
// the tenant (every member: meter names are what queries name).
func (s *Service) TenantMeters(ctx context.Context, ac identity.ActorContext, tenantID string) (TenantMeters, []Meter, error) {
	if err := s.mayMeters(ctx, ac, tenantID, identity.PermTenantRead); err != nil {
		return TenantMeters{}, nil, err
	}
	tm, err := s.tenantMeters.TenantMeters(ctx, tenantID)
	if err != nil {
		return TenantMeters{}, nil, err
	}
	tm.TenantID = tenantID
	if tm.Meters == nil {
		tm.Meters = []Meter{}
	}
	return tm, s.meters.All(tenantID), nil
}

// SetTenantMeters replaces tenantID's own meters; holders of tenant:write
// (the tenant's admins). version is the version the caller read, or
// AnyVersion. A meter applies to events recorded from then on; earlier
// events are measured by a rebuild (tollgate usage rebuild).
func (s *Service) SetTenantMeters(ctx context.Context, ac identity.ActorContext, tenantID string, ms []Meter, version int64) (TenantMeters, error) {
	if err := s.MaySetTenantMeters(ctx, ac, tenantID); err != nil {
		return TenantMeters{}, err
	}
	if ms == nil {
		return TenantMeters{}, fault.Invalidf("meters", CodeInvalidMeter, "meters is required: a list of meters, [] to remove every meter of the tenant's own")
	}
	if version < AnyVersion {
		return TenantMeters{}, fault.Invalidf("version", CodeInvalidMeter, "version is the version read, 0 or more")
	}
	ms = slices.Clone(ms)
	if err := ValidateTenantMeters(s.meters, ms); err != nil {
		return TenantMeters{}, err
	}
	tm := TenantMeters{TenantID: tenantID, Meters: ms, UpdatedAt: s.now().UTC().Truncate(time.Microsecond)}
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = fmt.Sprintf("%s=%s(%s)", m.Name, m.Aggregation, m.EventType)
	}
	slices.Sort(names)
	ctx = audit.Record(ctx, audit.Event{TenantID: tenantID, Action: audit.ActionMetersPut, TargetType: "tenant", TargetID: tenantID,
		Detail: map[string]string{"meters": audit.List(names)}})
	v, err := s.tenantMeters.SetTenantMeters(ctx, tm, version)
	if err != nil {
		return TenantMeters{}, err
	}
	tm.Version = v
	s.InvalidateMeters(tenantID)
	s.notify.Notify(ctx, event.Event{Kind: event.KindMetersChanged, ID: tenantID, Tenant: tenantID, At: tm.UpdatedAt})
	return tm, nil
}

// MaySetTenantMeters refuses callers that may not SetTenantMeters, before
// their bodies are read.
func (s *Service) MaySetTenantMeters(ctx context.Context, ac identity.ActorContext, tenantID string) error {
	return s.mayMeters(ctx, ac, tenantID, identity.PermTenantWrite)
}

// mayMeters asks whether ac holds perm in tenantID: a session by the
// holder's rights there, any other credential by its own permissions
// (its scopes within its holder's rights), in its own tenant only.
func (s *Service) mayMeters(ctx context.Context, ac identity.ActorContext, tenantID string, perm identity.Permission) error {
	notFound := fault.NotFoundf(identity.CodeTenantNotFound, "tenant not found")
	if s.tenantMeters == nil || s.rights == nil || !ids.Valid(tenantID) {
		return notFound
	}
	var has bool
	if ac.Credential == identity.CredentialSession {
		rights, err := s.rights.TenantPermissions(ctx, tenantID, ac.ActorID)
		if fault.KindOf(err) == fault.NotFound {
			return notFound
		}
		if err != nil {
			return err
		}
		has = rights.Has(perm)
	} else {
		if ac.TenantID != tenantID {
			return notFound
		}
		has = slices.Contains(ac.Permissions, string(perm))
	}
	if !has {
		return fault.Forbiddenf(identity.CodePermissionDenied, "this needs the %s permission in this tenant", perm)
	}
	return nil
}

// Rights is what a caller may do in a tenant (identity.Service).
type Rights interface {
	TenantPermissions(ctx context.Context, tenantID, actorID string) (identity.PermissionSet, error)
}
