package usage

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

// Quota limits one meter's value over each billing period, for the whole
// tenant or, when Actor is set, for one actor's usage alone.
type Quota struct {
	Meter string `json:"meter"`
	// Actor is an actor id ("agent:7"); "" is the whole tenant.
	Actor string  `json:"actor,omitempty"`
	Limit float64 `json:"limit"`
}

// Quotas are a tenant's quotas, replaced as a whole.
type Quotas struct {
	TenantID string  `json:"tenant_id"`
	Quotas   []Quota `json:"quotas"`
	// UpdatedAt is zero for a tenant that never had quotas.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Bounds of a tenant's quotas: one tenant-wide quota per meter, and at most
// MaxActorQuotas for single actors, so that a refresh reads a bounded
// number of totals.
const (
	MaxActorQuotas = 100
	// MaxQuotaLimit keeps limits exact in a float64 and in JSON.
	MaxQuotaLimit = 1 << 53
)

// Thresholds are the shares of a limit whose crossing is announced, in
// per cent.
var Thresholds = []int{80, 100}

// QuotaStore keeps tenants' quotas and the thresholds already announced.
type QuotaStore interface {
	// TenantQuotas returns tenantID's quotas: none and a zero UpdatedAt
	// when it has none, whether or not the tenant exists.
	TenantQuotas(ctx context.Context, tenantID string) (Quotas, error)
	// SetTenantQuotas replaces q.TenantID's quotas (deletes them when
	// q.Quotas is empty). NotFound when the tenant does not exist.
	SetTenantQuotas(ctx context.Context, q Quotas) error
	// ClaimQuotaThreshold records that c was announced; false when it had
	// been already (by this or another replica).
	ClaimQuotaThreshold(ctx context.Context, c Crossing) (bool, error)
}

// Crossing is one quota's value reaching a threshold in a period.
type Crossing struct {
	TenantID string `json:"tenant_id"`
	Meter    string `json:"meter"`
	Actor    string `json:"actor,omitempty"`
	// Threshold is in per cent of Limit: 80 or 100.
	Threshold int       `json:"threshold"`
	Limit     float64   `json:"limit"`
	Used      float64   `json:"used"`
	Period    Period    `json:"period"`
	At        time.Time `json:"at"`
}

// ValidateQuotas checks qs against the tenant's meters: each meter known,
// at most one quota per (meter, actor), limits positive whole numbers, and
// the bounds above.
func ValidateQuotas(meters *Meters, tenantID string, qs []Quota) error {
	actors := 0
	for i, q := range qs {
		field := fmt.Sprintf("quotas[%d]", i)
		if _, ok := meters.Lookup(tenantID, q.Meter); !ok {
			return fault.Invalidf(field+".meter", CodeUnknownMeter, "%s.meter: the tenant has no meter %q", field, truncate(q.Meter))
		}
		if q.Actor != "" {
			if !validActor(q.Actor) {
				return fault.Invalidf(field+".actor", CodeInvalidQuota, "%s.actor: an actor id such as user:93, agent:7 or service:3", field)
			}
			if actors++; actors > MaxActorQuotas {
				return fault.Invalidf("quotas", CodeInvalidQuota, "at most %d quotas of single actors", MaxActorQuotas)
			}
		}
		if q.Limit <= 0 || q.Limit != math.Trunc(q.Limit) || q.Limit > MaxQuotaLimit {
			return fault.Invalidf(field+".limit", CodeInvalidQuota, "%s.limit: a whole number from 1 to 2^53", field)
		}
		if slices.ContainsFunc(qs[:i], func(o Quota) bool { return o.Meter == q.Meter && o.Actor == q.Actor }) {
			return fault.Invalidf(field, CodeInvalidQuota, "%s: a second quota of meter %s for the same actor", field, q.Meter)
		}
	}
	return nil
}

func validActor(s string) bool {
	for _, p := range []string{"user:", "agent:", "service:"} {
		if len(s) > len(p) && len(s) <= maxName && s[:len(p)] == p {
			return true
		}
	}
	return false
}

// Quotas returns tenantID's quotas to its admins and platform admins.
func (s *Service) Quotas(ctx context.Context, c identity.Caller, tenantID string) (Quotas, error) {
	if err := s.mayReadQuotas(ctx, c, tenantID); err != nil {
		return Quotas{}, err
	}
	q, err := s.quotas.TenantQuotas(ctx, tenantID)
	if err != nil {
		return Quotas{}, err
	}
	q.TenantID = tenantID
	if q.Quotas == nil {
		q.Quotas = []Quota{}
	}
	return q, nil
}

// SetQuotas replaces tenantID's quotas; platform admins only, since a
// tenant raising its own quotas would defeat them (a billing plan would
// call it as a platform admin when a subscription changes). qs nil is
// refused: [] removes every quota.
func (s *Service) SetQuotas(ctx context.Context, c identity.Caller, tenantID string, qs []Quota) (Quotas, error) {
	if err := s.MaySetQuotas(ctx, c, tenantID); err != nil {
		return Quotas{}, err
	}
	if qs == nil {
		return Quotas{}, fault.Invalidf("quotas", CodeInvalidQuota, "quotas is required: a list of {meter, actor, limit}, [] to remove every quota")
	}
	if err := ValidateQuotas(s.meters, tenantID, qs); err != nil {
		return Quotas{}, err
	}
	q := Quotas{TenantID: tenantID, Quotas: slices.Clone(qs), UpdatedAt: s.now().UTC().Truncate(time.Microsecond)}
	names := make([]string, len(qs))
	for i, x := range qs {
		names[i] = fmt.Sprintf("%s/%s=%d", x.Meter, cmp.Or(x.Actor, "tenant"), int64(x.Limit))
	}
	slices.Sort(names)
	ctx = audit.Record(ctx, audit.Event{TenantID: tenantID, Action: audit.ActionQuotaPut, TargetType: "tenant", TargetID: tenantID,
		Detail: map[string]string{"quotas": audit.List(names)}})
	if err := s.quotas.SetTenantQuotas(ctx, q); err != nil {
		return Quotas{}, err
	}
	s.notify.Notify(ctx, event.Event{Kind: event.KindQuotasChanged, ID: tenantID, Tenant: tenantID, At: q.UpdatedAt})
	return q, nil
}

// MaySetQuotas refuses callers that may not SetQuotas, before their
// bodies are read.
func (s *Service) MaySetQuotas(ctx context.Context, c identity.Caller, tenantID string) error {
	if s.tenants == nil || s.quotas == nil {
		return fault.NotFoundf(identity.CodeTenantNotFound, "tenant not found")
	}
	if _, err := s.tenants.GetTenant(ctx, c, tenantID); err != nil {
		return err
	}
	if !s.tenants.IsPlatformAdmin(ctx, c) {
		return fault.Forbiddenf(identity.CodePlatformAdminRequired, "only a platform admin may change a tenant's quotas")
	}
	return nil
}

// mayReadQuotas lets platform admins and the tenant's admins read. Without
// Tenants or a QuotaStore, quotas are off and every tenant is not found.
func (s *Service) mayReadQuotas(ctx context.Context, c identity.Caller, tenantID string) error {
	if s.tenants == nil || s.quotas == nil {
		return fault.NotFoundf(identity.CodeTenantNotFound, "tenant not found")
	}
	m, err := s.tenants.GetTenant(ctx, c, tenantID)
	if err != nil {
		return err
	}
	if slices.Contains(m.Roles, identity.RoleAdmin) || identity.HasOwner(m.Roles) || s.tenants.IsPlatformAdmin(ctx, c) {
		return nil
	}
	return fault.Forbiddenf(CodeQuotasAdminRequired, "a tenant's quotas are shown to its admins")
}
