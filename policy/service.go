package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

// Service scopes (serviceaccount's of the same names). A service acts
// only in the tenants, and on the resource types, it is registered for
// (its ActorContext's Tenants and ResourceTypes).
const (
	// ScopeAuthzCheck lets a service ask about any principal, and read
	// policies and registered resources.
	ScopeAuthzCheck = "authz:check"
	// ScopeAuthzWrite lets a service register resources and write
	// policies: asking and writing are different powers.
	ScopeAuthzWrite = "authz:write"
)

// Rights is what the service needs from identity to authorise callers.
type Rights interface {
	TenantPermissions(ctx context.Context, tenantID, actorID string) (identity.PermissionSet, error)
	IsPlatformAdmin(ctx context.Context, c identity.Caller) bool
	TenantExists(ctx context.Context, tenantID string) error
}

// Service is the PDP's API: it decides who may ask what, then asks the
// Engine, and manages registered resources and tenants' policies.
type Service struct {
	engine *Engine
	store  Store
	rights Rights
	// changed announces that a tenant's resources or policies changed, to
	// this replica's engine and the others'.
	changed func(ctx context.Context, events ...event.Event)
	now     func() time.Time
	opts    Options
}

// Options configure a Service.
type Options struct {
	// MaxResourcesPerTenant caps a tenant's registered resources; 0 is no
	// limit. Replacing a registered resource adds none. The count is read
	// before the write, so concurrent registrations may overshoot it by at
	// most the resources of the concurrent batches.
	MaxResourcesPerTenant int
}

// Deps are what a Service is built from.
type Deps struct {
	Engine *Engine
	Store  Store
	Rights Rights
	// Changed announces a change of a tenant's resources or policies to
	// this replica's engine and caches and to the other replicas; nil
	// applies it to the engine alone.
	Changed func(ctx context.Context, events ...event.Event)
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// NewService wires a Service.
func NewService(d Deps, opts Options) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{engine: d.Engine, store: d.Store, rights: d.Rights, changed: d.Changed, now: d.Now, opts: opts}
}

// Engine returns the decision engine.
func (s *Service) Engine() *Engine { return s.engine }

// announce tells of changed resources (refs) or, when refs is nil, of
// changed policies. It returns once this replica's engine serves them.
func (s *Service) announce(ctx context.Context, tenantID string, refs []ResourceRef) {
	at := s.now()
	var events []event.Event
	switch {
	case refs == nil:
		events = []event.Event{{Kind: event.KindPolicyChanged, ID: tenantID, Tenant: tenantID, At: at}}
	case len(refs) > maxAnnounced:
		// One event for the tenant whole rather than a flood.
		events = []event.Event{{Kind: event.KindPolicyChanged, ID: tenantID, At: at}}
	default:
		for _, r := range refs {
			events = append(events, event.Event{Kind: event.KindPolicyChanged, ID: tenantID, Tenant: tenantID, Resource: resourceKey(r), At: at})
		}
	}
	if s.changed != nil {
		s.changed(ctx, events...)
		return
	}
	var changes []Change
	for _, ev := range events {
		changes = append(changes, ChangesOf(ev)...)
	}
	s.engine.Apply(ctx, changes...)
}

// maxAnnounced is the most resources announced one by one.
const maxAnnounced = 64

func isService(ac identity.ActorContext) bool { return ac.ActorType == identity.ActorService }

func errTenantNotFound() error {
	return fault.NotFoundf(identity.CodeTenantNotFound, "tenant not found")
}

// serviceMay refuses a service that holds none of scopes, or is not
// registered for tenantID. The reach is checked before the tenant's
// existence, so a service learns nothing of tenants outside it.
func serviceMay(ac identity.ActorContext, tenantID string, scopes ...string) error {
	if !slices.ContainsFunc(scopes, func(sc string) bool { return slices.Contains(ac.Scopes, sc) }) {
		return fault.Forbiddenf(identity.CodeScopeRequired, "this needs a service holding the scope %s", strings.Join(scopes, " or "))
	}
	return ac.ReachTenant(tenantID)
}

// mayType refuses a service a resource type it is not registered for;
// people and agents are bounded by the policies alone.
func mayType(ac identity.ActorContext, typ string) error {
	if isService(ac) && !identity.Reaches(ac.ResourceTypes, typ) {
		return fault.Forbiddenf(CodeResourceTypeNotRegistered, "this service is not registered for resource type %q", typ)
	}
	return nil
}

// mayAskAbout refuses a service a request about a type outside its reach:
// its resource's and those of the entities it brings.
func mayAskAbout(ac identity.ActorContext, req Request) error {
	if err := mayType(ac, req.Resource.Type); err != nil {
		return err
	}
	for _, e := range req.Entities {
		if err := mayType(ac, e.Type); err != nil {
			return err
		}
	}
	return nil
}

// askTenant decides which tenant a question is about. Humans and agents
// ask about their own tenant ("" means it); services name one.
func (s *Service) askTenant(ctx context.Context, ac identity.ActorContext, tenantID string) (string, error) {
	if isService(ac) {
		if tenantID == "" {
			return "", fault.Invalidf("tenant_id", identity.CodeTenantRequired, "a service names the tenant it asks about")
		}
		if err := serviceMay(ac, tenantID, ScopeAuthzCheck); err != nil {
			return "", err
		}
		// The tenant's snapshot answers whether it exists, without a
		// store read once it is built.
		if !validID(tenantID) {
			return "", errTenantNotFound()
		}
		if err := s.engine.Known(ctx, tenantID); errors.Is(err, fault.ErrNotFound) {
			return "", errTenantNotFound()
		}
		return tenantID, nil
	}
	if ac.TenantID == "" {
		return "", fault.Forbiddenf(CodeTenantNotSelected, "switch to a tenant first: decisions are made within one")
	}
	if tenantID != "" && tenantID != ac.TenantID {
		return "", errTenantNotFound()
	}
	return ac.TenantID, nil
}

// askerRequest applies the caller to a request: humans and agents ask
// about themselves (and a delegated agent for its human); services about
// anyone.
func askerRequest(ac identity.ActorContext, req Request) (Request, error) {
	if isService(ac) {
		if req.Principal == "" {
			return Request{}, fault.Invalidf("principal", CodePrincipalRequired, "a service names the principal it asks about")
		}
		return req, nil
	}
	if req.Principal != "" && req.Principal != ac.ActorID {
		return Request{}, fault.Forbiddenf(CodePrincipalNotCaller, "only services holding %s may ask about another principal", ScopeAuthzCheck)
	}
	if req.OnBehalfOf != "" && req.OnBehalfOf != ac.OnBehalfOf {
		return Request{}, fault.Forbiddenf(CodePrincipalNotCaller, "on_behalf_of is taken from the caller's delegated token")
	}
	req.Principal, req.OnBehalfOf = ac.ActorID, ac.OnBehalfOf
	return req, nil
}

// Authorize answers one question.
func (s *Service) Authorize(ctx context.Context, ac identity.ActorContext, tenantID string, req Request) (Decision, error) {
	tenantID, err := s.askTenant(ctx, ac, tenantID)
	if err != nil {
		return Decision{}, err
	}
	if req, err = askerRequest(ac, req); err != nil {
		return Decision{}, err
	}
	if err := mayAskAbout(ac, req); err != nil {
		return Decision{}, err
	}
	return s.engine.Authorize(ctx, tenantID, boundBy(ac, req)), nil
}

// AuthorizeBatch answers up to MaxBatch questions against one snapshot.
func (s *Service) AuthorizeBatch(ctx context.Context, ac identity.ActorContext, tenantID string, reqs []Request) ([]Decision, error) {
	if len(reqs) == 0 || len(reqs) > MaxBatch {
		return nil, fault.Invalidf("requests", CodeInvalidBatch, "a batch holds 1 to %d requests", MaxBatch)
	}
	tenantID, err := s.askTenant(ctx, ac, tenantID)
	if err != nil {
		return nil, err
	}
	for i := range reqs {
		if reqs[i], err = askerRequest(ac, reqs[i]); err == nil {
			err = mayAskAbout(ac, reqs[i])
		}
		reqs[i] = boundBy(ac, reqs[i])
		if err != nil {
			return nil, fieldPrefix(err, fmt.Sprintf("requests[%d].", i))
		}
	}
	return s.engine.AuthorizeBatch(ctx, tenantID, reqs), nil
}

// Lookup lists the registered resources of a type the principal may act
// on.
func (s *Service) Lookup(ctx context.Context, ac identity.ActorContext, tenantID string, q LookupQuery) (LookupPage, error) {
	tenantID, err := s.askTenant(ctx, ac, tenantID)
	if err != nil {
		return LookupPage{}, err
	}
	req, err := askerRequest(ac, Request{Principal: q.Principal, OnBehalfOf: q.OnBehalfOf})
	if err != nil {
		return LookupPage{}, err
	}
	if err := mayType(ac, q.ResourceType); err != nil {
		return LookupPage{}, err
	}
	q.Principal, q.OnBehalfOf = req.Principal, req.OnBehalfOf
	return s.engine.Lookup(ctx, tenantID, q)
}

// canManage reports whether the caller may act on tenantID's resources or
// policies: services registered for the tenant with authz:write to change
// either and authz:check or authz:write to read; platform admins always;
// members holding need (policies:write to change either — admins and
// owners by default —, policies:read to read policies, tenant:read to read
// resources).
func (s *Service) canManage(ctx context.Context, ac identity.ActorContext, tenantID string, need identity.Permission) error {
	if !validID(tenantID) {
		return errTenantNotFound()
	}
	if isService(ac) {
		scopes := []string{ScopeAuthzCheck, ScopeAuthzWrite}
		if need == identity.PermPoliciesWrite {
			scopes = []string{ScopeAuthzWrite}
		}
		if err := serviceMay(ac, tenantID, scopes...); err != nil {
			return err
		}
		return s.rights.TenantExists(ctx, tenantID)
	}
	if ac.Credential == identity.CredentialSession && s.rights.IsPlatformAdmin(ctx, identity.Caller{ActorID: ac.ActorID}) {
		return s.rights.TenantExists(ctx, tenantID)
	}
	var perms identity.PermissionSet
	if ac.Credential == identity.CredentialSession {
		var err error
		if perms, err = s.rights.TenantPermissions(ctx, tenantID, ac.ActorID); err != nil {
			if errors.Is(err, fault.ErrNotFound) || fault.KindOf(err) == fault.Forbidden {
				return errTenantNotFound()
			}
			return err
		}
	} else {
		if ac.TenantID != tenantID {
			return errTenantNotFound()
		}
		perms = identity.PermissionSet{}
		for _, p := range ac.Permissions {
			perms[identity.Permission(p)] = struct{}{}
		}
	}
	if !perms.Has(identity.PermTenantRead) {
		return errTenantNotFound()
	}
	if !perms.Has(need) {
		return fault.Forbiddenf(identity.CodePermissionDenied, "this needs %s in the tenant", need)
	}
	return nil
}

// PutResources registers or replaces resources of one tenant, atomically.
func (s *Service) PutResources(ctx context.Context, ac identity.ActorContext, tenantID string, rs []Resource) ([]Resource, error) {
	if len(rs) == 0 || len(rs) > MaxBatch {
		return nil, fault.Invalidf("resources", CodeInvalidBatch, "send 1 to %d resources", MaxBatch)
	}
	if err := s.canManage(ctx, ac, tenantID, identity.PermPoliciesWrite); err != nil {
		return nil, err
	}
	sc, err := s.tenantSchema(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	seen := make(map[ResourceRef]bool, len(rs))
	for i := range rs {
		if err := mayType(ac, rs[i].Type); err != nil {
			return nil, err
		}
		rs[i].TenantID, rs[i].UpdatedAt = tenantID, now
		if rs[i].Parents == nil {
			rs[i].Parents = []ResourceRef{}
		}
		if rs[i].Attrs == nil {
			rs[i].Attrs = map[string]any{}
		}
		if _, err := sc.ValidateResource(rs[i]); err != nil {
			if len(rs) > 1 {
				err = fieldPrefix(err, fmt.Sprintf("resources[%d].", i))
			}
			return nil, err
		}
		if seen[rs[i].Ref()] {
			return nil, fault.Invalidf(fmt.Sprintf("resources[%d]", i), CodeDuplicateResource, "%s %q is in the batch twice", rs[i].Type, rs[i].ID)
		}
		seen[rs[i].Ref()] = true
	}
	if err := s.checkCycles(ctx, tenantID, rs); err != nil {
		return nil, err
	}
	if err := s.checkResourceLimit(ctx, tenantID, rs); err != nil {
		return nil, err
	}
	ctx = audit.Record(ctx, registryEvent(audit.ActionRegistryPut, tenantID, refsOf(rs)))
	if err := s.store.PutResources(ctx, tenantID, rs); err != nil {
		return nil, err
	}
	s.announce(ctx, tenantID, refsOf(rs))
	return rs, nil
}

// checkResourceLimit refuses a batch that would take the tenant past
// MaxResourcesPerTenant. Resources already registered are replaced, not
// added, so they are looked up only when the batch could cross the limit.
func (s *Service) checkResourceLimit(ctx context.Context, tenantID string, rs []Resource) error {
	limit := s.opts.MaxResourcesPerTenant
	if limit <= 0 {
		return nil
	}
	n, err := s.store.CountResources(ctx, tenantID)
	if err != nil {
		return err
	}
	if n+len(rs) <= limit {
		return nil
	}
	for _, r := range rs {
		_, err := s.store.GetResource(ctx, tenantID, r.Type, r.ID)
		switch {
		case err == nil:
			continue
		case !errors.Is(err, fault.ErrNotFound):
			return err
		}
		if n++; n > limit {
			return identity.LimitReached("max_resources_per_tenant", limit, "this tenant's number of registered resources")
		}
	}
	return nil
}

// checkCycles refuses resources whose parents would lead back to
// themselves, through the batch or the resources already registered.
func (s *Service) checkCycles(ctx context.Context, tenantID string, rs []Resource) error {
	batch := make(map[ResourceRef][]ResourceRef, len(rs))
	for _, r := range rs {
		batch[r.Ref()] = r.Parents
	}
	if !slices.ContainsFunc(rs, func(r Resource) bool { return len(r.Parents) > 0 }) {
		return nil
	}
	snap, err := s.engine.snapshot(ctx, tenantID)
	if err != nil {
		return err
	}
	parents := func(ref ResourceRef) []ResourceRef {
		if ps, ok := batch[ref]; ok {
			return ps
		}
		return snap.resourceParents(ref)
	}
	for i, r := range rs {
		seen := map[ResourceRef]bool{}
		stack := slices.Clone(r.Parents)
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if p == r.Ref() {
				return fault.Invalidf(fmt.Sprintf("resources[%d].parents", i), CodeCyclicParents, "%s %q would be its own ancestor", r.Type, r.ID)
			}
			if !seen[p] {
				seen[p] = true
				stack = append(stack, parents(p)...)
			}
		}
	}
	return nil
}

// GetResource returns one registered resource.
func (s *Service) GetResource(ctx context.Context, ac identity.ActorContext, tenantID, typ, id string) (Resource, error) {
	if err := s.canManage(ctx, ac, tenantID, identity.PermTenantRead); err != nil {
		return Resource{}, err
	}
	if err := mayType(ac, typ); err != nil {
		return Resource{}, err
	}
	return s.store.GetResource(ctx, tenantID, typ, id)
}

// DeleteResource unregisters a resource.
func (s *Service) DeleteResource(ctx context.Context, ac identity.ActorContext, tenantID, typ, id string) error {
	if err := s.canManage(ctx, ac, tenantID, identity.PermPoliciesWrite); err != nil {
		return err
	}
	if err := mayType(ac, typ); err != nil {
		return err
	}
	ctx = audit.Record(ctx, registryEvent(audit.ActionRegistryDelete, tenantID, []ResourceRef{{Type: typ, ID: id}}))
	if err := s.store.DeleteResource(ctx, tenantID, typ, id); err != nil {
		return err
	}
	s.announce(ctx, tenantID, []ResourceRef{{Type: typ, ID: id}})
	return nil
}

// Policies returns the tenant's current policies (Version 0: none).
func (s *Service) Policies(ctx context.Context, ac identity.ActorContext, tenantID string) (PolicySet, error) {
	if err := s.canManage(ctx, ac, tenantID, identity.PermPoliciesRead); err != nil {
		return PolicySet{}, err
	}
	ps, err := s.store.CurrentPolicySet(ctx, tenantID)
	ps.TenantID = tenantID
	return ps, err
}

// PolicyVersion returns one version of the tenant's policies.
func (s *Service) PolicyVersion(ctx context.Context, ac identity.ActorContext, tenantID string, version int64) (PolicySet, error) {
	if err := s.canManage(ctx, ac, tenantID, identity.PermPoliciesRead); err != nil {
		return PolicySet{}, err
	}
	return s.store.PolicySetVersion(ctx, tenantID, version)
}

// PolicyVersions lists versions newest first.
func (s *Service) PolicyVersions(ctx context.Context, ac identity.ActorContext, tenantID string, p cursor.Page) ([]PolicySet, error) {
	if err := s.canManage(ctx, ac, tenantID, identity.PermPoliciesRead); err != nil {
		return nil, err
	}
	if p.After != "" {
		if _, err := strconv.ParseInt(p.After, 10, 64); err != nil {
			return nil, fault.Invalidf("after", cursor.CodeInvalidCursor, "the cursor is a version number")
		}
	}
	return s.store.ListPolicySetVersions(ctx, tenantID, p.Normalize())
}

// PutPolicies validates text and stores it as the tenant's next version.
// previous, when not nil, must be the current version (optimistic
// concurrency: a change in between is a Conflict).
func (s *Service) PutPolicies(ctx context.Context, ac identity.ActorContext, tenantID, text string, previous *int64) (PolicySet, error) {
	return s.putPolicies(ctx, ac, tenantID, text, previous, 0)
}

// putPolicies is PutPolicies, recording rollbackOf (a version number) when
// the text is an earlier version's.
func (s *Service) putPolicies(ctx context.Context, ac identity.ActorContext, tenantID, text string, previous *int64, rollbackOf int64) (PolicySet, error) {
	if err := s.canManage(ctx, ac, tenantID, identity.PermPoliciesWrite); err != nil {
		return PolicySet{}, err
	}
	// A policy may speak of any type: a service held to some types would
	// reach the others through one.
	if isService(ac) && !slices.Contains(ac.ResourceTypes, identity.Everything) {
		return PolicySet{}, fault.Forbiddenf(CodeResourceTypeNotRegistered, "writing policies needs a service registered for every resource type")
	}
	sc, err := s.tenantSchema(ctx, tenantID)
	if err != nil {
		return PolicySet{}, err
	}
	if _, err := s.engine.d.Compiler.CompileFor(sc, tenantID, text); err != nil {
		return PolicySet{}, err
	}
	cur, err := s.store.CurrentPolicySet(ctx, tenantID)
	if err != nil {
		return PolicySet{}, err
	}
	if previous != nil && *previous != cur.Version {
		return PolicySet{}, fault.Conflictf(CodePolicyVersionConflict, "the policies are at version %d, not %d", cur.Version, *previous)
	}
	ps := PolicySet{TenantID: tenantID, Version: cur.Version + 1, Text: text, CreatedBy: ac.ActorID,
		CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	sum := sha256.Sum256([]byte(text))
	detail := map[string]string{"version": strconv.FormatInt(ps.Version, 10), "previous_version": strconv.FormatInt(cur.Version, 10),
		"text_sha256": hex.EncodeToString(sum[:])}
	if rollbackOf > 0 {
		detail["rollback_of"] = strconv.FormatInt(rollbackOf, 10)
	}
	ctx = audit.Record(ctx, audit.Event{TenantID: tenantID, Action: audit.ActionPolicyPut, TargetType: "policy_set",
		TargetID: strconv.FormatInt(ps.Version, 10), Detail: detail})
	if err := s.store.AddPolicySet(ctx, ps, cur.Version); err != nil {
		return PolicySet{}, err
	}
	s.announce(ctx, tenantID, nil)
	return ps, nil
}

// Rollback makes version's text the tenant's next version.
func (s *Service) Rollback(ctx context.Context, ac identity.ActorContext, tenantID string, version int64) (PolicySet, error) {
	old, err := s.PolicyVersion(ctx, ac, tenantID, version)
	if err != nil {
		return PolicySet{}, err
	}
	return s.putPolicies(ctx, ac, tenantID, old.Text, nil, version)
}

// Validate checks a policy text without storing it, for tenantID (the
// tenant the policies would belong to). Checking costs CPU, so it needs
// the right to read the tenant's policies; with no tenant, only services
// holding authz:check or authz:write and platform admins may check a text.
func (s *Service) Validate(ctx context.Context, ac identity.ActorContext, tenantID, text string) error {
	if tenantID != "" {
		if err := s.canManage(ctx, ac, tenantID, identity.PermPoliciesRead); err != nil {
			return err
		}
		sc, err := s.tenantSchema(ctx, tenantID)
		if err != nil {
			return err
		}
		_, err = s.engine.d.Compiler.CompileFor(sc, tenantID, text)
		return err
	} else if !(isService(ac) && (slices.Contains(ac.Scopes, ScopeAuthzCheck) || slices.Contains(ac.Scopes, ScopeAuthzWrite))) &&
		!(ac.Credential == identity.CredentialSession && s.rights.IsPlatformAdmin(ctx, identity.Caller{ActorID: ac.ActorID})) {
		return fault.Forbiddenf(identity.CodePermissionDenied, "checking policies needs the %s permission in a tenant", identity.PermPoliciesRead)
	}
	return s.engine.d.Compiler.Validate(tenantID, text)
}

func refsOf(rs []Resource) []ResourceRef {
	out := make([]ResourceRef, len(rs))
	for i, r := range rs {
		out[i] = r.Ref()
	}
	return out
}

// registryEvent records registered resources changing: one event per
// call, naming the resource (or, for a batch, how many and which, as far
// as a detail value holds).
func registryEvent(action, tenantID string, refs []ResourceRef) audit.Event {
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = r.Type + "/" + r.ID
	}
	e := audit.Event{TenantID: tenantID, Action: action, TargetType: "resource",
		Detail: map[string]string{"count": strconv.Itoa(len(refs)), "resources": audit.List(names)}}
	// Resource ids may hold spaces, which an event's target id may not:
	// the detail keeps them as they are.
	if t := refs[0].Type + "/" + url.PathEscape(refs[0].ID); len(refs) == 1 && len(t) <= MaxIDLen {
		e.TargetID = t
	}
	return e
}
