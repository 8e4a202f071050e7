package audit

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ids"
)

// PlatformStream is how the API and the command line name the platform
// stream (TenantID ""), which no tenant id can be.
const PlatformStream = "platform"

// PermRead is the tenant permission that lets a member read its stream
// (identity.PermAuditRead; the audit package does not import identity,
// which records its acts here).
const PermRead = "audit:read"

// Requester is who asks to read a stream, as the credential resolved.
type Requester struct {
	ActorID string
	// OwnSession: a person's own access token. Only those carry a
	// platform admin's rights; API keys and delegated tokens are bounded
	// by their scopes, in their tenant.
	OwnSession bool
	// TenantID and Permissions are a bounded credential's tenant and
	// effective permissions (scopes ∩ what its holder may do).
	TenantID    string
	Permissions []string
}

// Rights answers for the identity rules (identity.Service, adapted).
type Rights interface {
	// TenantPermission reports whether actorID holds perm in tenantID
	// now; false, nil for a non-member.
	TenantPermission(ctx context.Context, tenantID, actorID, perm string) (bool, error)
	IsPlatformAdmin(ctx context.Context, actorID string) bool
}

// ServiceStore is what the read API needs of a Store.
type ServiceStore interface {
	Reader
	Querier
}

// Service is the audit log's read API and its rule: a tenant's members
// whose credential holds audit:read read that tenant's stream; platform
// admins, through their own session, read every tenant's and the platform
// stream. Nobody reads a stream through another's name.
type Service struct {
	store  ServiceStore
	rights Rights
}

// NewService returns the read API over st.
func NewService(st ServiceStore, rights Rights) *Service {
	return &Service{store: st, rights: rights}
}

func errTenantNotFound() error {
	return fault.NotFoundf(CodeStreamNotFound, "no such tenant")
}

func errReadDenied(format string, args ...any) error {
	return fault.Forbiddenf(CodeReadDenied, format, args...)
}

// Authorize returns the stream that tenant (a tenant id, PlatformStream,
// or "" for the platform stream) names, if r may read it.
func (s *Service) Authorize(ctx context.Context, r Requester, tenant string) (string, error) {
	platformAdmin := func() bool { return r.OwnSession && s.rights.IsPlatformAdmin(ctx, r.ActorID) }
	if tenant == "" || tenant == PlatformStream {
		if !platformAdmin() {
			return "", errReadDenied("only a platform admin, with their own session, reads the platform stream")
		}
		return "", nil
	}
	if !ids.Valid(tenant) {
		return "", errTenantNotFound()
	}
	if !r.OwnSession {
		// A key or delegated token acts in its tenant only.
		if r.TenantID != tenant {
			return "", errTenantNotFound()
		}
		for _, p := range r.Permissions {
			if p == PermRead {
				return tenant, nil
			}
		}
		return "", errReadDenied("this credential does not hold %s in this tenant", PermRead)
	}
	if platformAdmin() {
		return tenant, nil
	}
	ok, err := s.rights.TenantPermission(ctx, tenant, r.ActorID, PermRead)
	if err != nil {
		if fault.KindOf(err) == fault.NotFound || fault.KindOf(err) == fault.Forbidden {
			return "", errTenantNotFound()
		}
		return "", err
	}
	if !ok {
		return "", errReadDenied("reading the audit log needs %s in this tenant", PermRead)
	}
	return tenant, nil
}

// Page is one page of a query, newest first; NextBefore is the cursor of
// the next page, 0 on the last. A page may be short, even empty, and
// still have a next one, when the query stopped at its decision window.
type Page struct {
	Events     []Event
	NextBefore int64
}

// Query returns one page of the events q selects in the stream
// q.TenantID names (a tenant id, PlatformStream or "").
func (s *Service) Query(ctx context.Context, r Requester, q Query) (Page, error) {
	if err := q.Normalize(); err != nil {
		return Page{}, err
	}
	stream, err := s.Authorize(ctx, r, q.TenantID)
	if err != nil {
		return Page{}, err
	}
	q.TenantID = stream
	limit := q.Limit
	if limit < MaxQueryLimit {
		q.Limit++ // one more tells whether a next page exists
	}
	evs, resume, err := s.store.QueryAudit(ctx, q)
	if err != nil {
		return Page{}, err
	}
	p := Page{Events: evs}
	if len(evs) > limit {
		p.Events = evs[:limit]
	}
	switch {
	case len(evs) > limit || len(evs) == MaxQueryLimit && limit == MaxQueryLimit:
		p.NextBefore = p.Events[len(p.Events)-1].Seq
	case resume > 0:
		// A short page that stopped at its decision window: the events
		// below it are still to be read.
		p.NextBefore = resume
	}
	return p, nil
}

// exportPage is how many events an export reads at once.
const exportPage = 1000

// Export writes to w each event of the stream tenant names from the
// first at or after from through the last before to, in Seq order. It is
// the contiguous run between those two, so that it verifies as a whole:
// an event is timed when its act happened and appended up to a flush
// interval later, so a few near the edges may lie just outside the range.
func (s *Service) Export(ctx context.Context, r Requester, tenant string, from, to time.Time, w ExportWriter) error {
	if err := checkRange(from, to); err != nil {
		return err
	}
	stream, err := s.Authorize(ctx, r, tenant)
	if err != nil {
		return err
	}
	return ExportStream(ctx, s.store, stream, from, to, w)
}
