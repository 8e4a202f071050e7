package policy

import (
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cedar-policy/cedar-go"

	"github.com/tollgate/tollgate/identity"
)

// snapshot is one tenant's immutable view: entities, its own policies and
// the ids of its registered resources by type, for lookups. An update
// makes a new snapshot that shares whatever it did not change
// (update.go), so decisions read one without locks while the next is
// made.
type snapshot struct {
	tenantID string
	tenant   cedar.EntityUID
	version  int64
	// readAt is when the tenant was last read whole: SnapshotTTL counts
	// from it.
	readAt time.Time
	// fixed holds the tenant and its roles: a handful of entities, copied
	// whole when one changes.
	fixed cedar.EntityMap
	// roleNames are the tenant's custom roles.
	roleNames []string
	// actors are the members and agents, kept compact (actorRec) and made
	// into Cedar entities when a decision first needs one.
	actors *entityTable[*actorRec]
	// roleSets interns the role combinations actors hold, so that members
	// with the same roles share their parents and roles attribute.
	roleSets map[string]*roleSet
	// resources are the registered resources, validated.
	resources *entityTable[cedar.Entity]
	policies  policyList
	// index is policies by the scopes they may apply to.
	index policyIndex
	// ids holds each registrable type's resource ids, sorted.
	ids map[string][]string
	// schema is the tenant's schema, its extension included.
	schema *Schema
}

// actorRec is a member or agent of the tenant as its snapshot holds it:
// about 100 bytes, where a built Cedar entity takes about a kilobyte.
type actorRec struct {
	actorID string
	// owner is an agent's owner.
	owner string
	roles *roleSet
	// agent: an agent of the tenant (it has an owner attribute).
	agent  bool
	active bool
	// attrs are the Cedar entity's attributes, made on first use and kept:
	// the record's hash is computed when it is made, which a decision
	// should not pay every time. Only the record is kept, not the whole
	// entity: the uid and parents are at hand, and a 16-byte record box
	// instead of an 80-byte entity keeps a hot member within 0.5 KiB.
	attrs atomic.Pointer[cedar.Record]
}

// roleSet is one combination of roles (implied ones included).
type roleSet struct {
	parents cedar.EntityUIDSet // the tenant and the roles
	// names is the roles attribute, boxed once: every member holding
	// these roles shares it.
	names cedar.Value
}

// Status attributes, boxed once for every entity that holds them.
var (
	statusActive   cedar.Value = cedar.String("active")
	statusDisabled cedar.Value = cedar.String("disabled")
)

// Get implements cedar.EntityGetter.
func (s *snapshot) Get(uid cedar.EntityUID) (cedar.Entity, bool) {
	switch uid.Type {
	case typeUser, typeAgent, typeService:
		r, ok := s.actors.get(uid)
		if !ok {
			return cedar.Entity{}, false
		}
		return r.entity(uid), true
	case typeTenant, typeRole:
		e, ok := s.fixed[uid]
		return e, ok
	}
	return s.resources.get(uid)
}

// size is the number of entities held.
func (s *snapshot) size() int { return len(s.fixed) + s.actors.len() + s.resources.len() }

func (r *actorRec) entity(uid cedar.EntityUID) cedar.Entity {
	if a := r.attrs.Load(); a != nil {
		return cedar.Entity{UID: uid, Parents: r.roles.parents, Attributes: *a}
	}
	st := statusDisabled
	if r.active {
		st = statusActive
	}
	attrs := cedar.RecordMap{"actor_id": cedar.String(r.actorID), "status": st}
	switch uid.Type {
	case typeUser:
		attrs["roles"] = r.roles.names
	case typeAgent:
		attrs["owner"] = cedar.String(r.owner)
	}
	a := cedar.NewRecord(attrs)
	r.attrs.Store(&a)
	return cedar.Entity{UID: uid, Parents: r.roles.parents, Attributes: a}
}

// impliedRoles adds the built-in roles a role includes: an owner is also
// an admin and a member, an admin also a member. Policies then test one
// membership instead of walking a hierarchy.
func impliedRoles(roles []string) []string {
	out := slices.Clone(roles)
	add := func(r string) {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	for _, r := range roles {
		switch r {
		case identity.RoleOwner:
			add(identity.RoleAdmin)
			add(identity.RoleMember)
		case identity.RoleAdmin:
			add(identity.RoleMember)
		}
	}
	slices.Sort(out)
	return out
}

// roleSetFor returns the interned set of roles (with the implied ones),
// adding it to sets when it is new. sets must belong to the snapshot
// being made.
func roleSetFor(sets map[string]*roleSet, tenant cedar.EntityUID, roles []string) *roleSet {
	roles = impliedRoles(roles)
	key := strings.Join(roles, "\x00")
	if rs, ok := sets[key]; ok {
		return rs
	}
	parents := make([]cedar.EntityUID, 0, len(roles)+1)
	parents = append(parents, tenant)
	for _, r := range roles {
		parents = append(parents, cedar.NewEntityUID(typeRole, cedar.String(r)))
	}
	rs := &roleSet{parents: cedar.NewEntityUIDSet(parents...), names: stringSet(roles)}
	sets[key] = rs
	return rs
}

// actorRecFor makes an actor's record from its membership and agent
// record; nil when it is neither a member nor an agent of the tenant, or
// not an actor id this schema knows (it could match nothing).
func actorRecFor(sets map[string]*roleSet, tenant cedar.EntityUID, m *Member, a *AgentInfo) (cedar.EntityUID, *actorRec) {
	var id string
	switch {
	case m != nil:
		id = m.ActorID
	case a != nil:
		id = a.ActorID
	default:
		return cedar.EntityUID{}, nil
	}
	uid, err := actorUID(id)
	if err != nil || (a != nil && uid.Type != typeAgent) {
		return cedar.EntityUID{}, nil
	}
	// The key shares the actor id's bytes.
	uid.ID = cedar.String(id[len(id)-len(uid.ID):])
	r := &actorRec{actorID: id}
	var roles []string
	if m != nil {
		roles, r.active = m.Roles, m.Active
	}
	if a != nil {
		// An agent that is also a member keeps its roles; its own status
		// decides.
		r.agent, r.owner, r.active = true, a.OwnerID, a.Active
	}
	r.roles = roleSetFor(sets, tenant, roles)
	return uid, r
}

// fixedEntities makes the tenant's and its roles' entities.
func fixedEntities(tenant cedar.EntityUID, active bool, custom []string) cedar.EntityMap {
	tenantStatus := cedar.String("active")
	if !active {
		tenantStatus = "suspended"
	}
	em := make(cedar.EntityMap, 4+len(custom))
	em[tenant] = cedar.Entity{UID: tenant, Attributes: cedar.NewRecord(cedar.RecordMap{"status": tenantStatus})}
	inTenant := cedar.NewEntityUIDSet(tenant)
	for _, r := range append([]string{identity.RoleOwner, identity.RoleAdmin, identity.RoleMember}, custom...) {
		uid := cedar.NewEntityUID(typeRole, cedar.String(r))
		em[uid] = cedar.Entity{UID: uid, Parents: inTenant}
	}
	return em
}

// build makes a tenant's snapshot from its whole data. Registered
// resources and stored policies were validated when they were written;
// one that no longer validates (after an upgrade changed the schema)
// fails the build, so the tenant's decisions fail closed until it is
// fixed.
func (c *Compiler) build(td TenantData, now time.Time) (*snapshot, error) {
	sc, err := c.Extend(td.Schema.Text)
	if err != nil {
		return nil, err
	}
	tenant := cedar.NewEntityUID(typeTenant, cedar.String(td.TenantID))
	snap := &snapshot{
		tenantID: td.TenantID, tenant: tenant, readAt: now, schema: sc,
		fixed: fixedEntities(tenant, td.Active, td.Roles), roleNames: td.Roles,
		roleSets: map[string]*roleSet{}, ids: map[string][]string{},
	}
	agents := make(map[string]*AgentInfo, len(td.Agents))
	for i := range td.Agents {
		agents[td.Agents[i].ActorID] = &td.Agents[i]
	}
	actors := newEntityTable[*actorRec]().edit((len(td.Members) + len(td.Agents)) / tableShards)
	for i := range td.Members {
		m := &td.Members[i]
		a := agents[m.ActorID]
		delete(agents, m.ActorID)
		if uid, r := actorRecFor(snap.roleSets, tenant, m, a); r != nil {
			actors.set(uid, r)
		}
	}
	for _, a := range agents {
		if uid, r := actorRecFor(snap.roleSets, tenant, nil, a); r != nil {
			actors.set(uid, r)
		}
	}
	snap.actors = actors.done()
	resources := newEntityTable[cedar.Entity]().edit(len(td.Resources) / tableShards)
	for _, r := range td.Resources {
		e, err := sc.resourceEntity(r, tenant)
		if err != nil {
			return nil, err
		}
		resources.set(e.UID, e)
		snap.ids[r.Type] = append(snap.ids[r.Type], r.ID)
	}
	snap.resources = resources.done()
	for _, l := range snap.ids {
		slices.Sort(l)
	}
	return snap, c.setPolicies(snap, td.Policies)
}

// resourceEntity validates a registered resource and makes its entity,
// a child of the tenant.
func (s *Schema) resourceEntity(r Resource, tenant cedar.EntityUID) (cedar.Entity, error) {
	e, err := s.ValidateResource(r)
	if err != nil {
		return cedar.Entity{}, err
	}
	e.Parents = cedar.NewEntityUIDSet(append(slices.Collect(e.Parents.All()), tenant)...)
	return e, nil
}

// setPolicies compiles and indexes the tenant's policies into snap.
func (c *Compiler) setPolicies(snap *snapshot, ps PolicySet) error {
	snap.version, snap.policies, snap.index = ps.Version, nil, nil
	if ps.Version == 0 {
		return nil
	}
	list, err := c.CompileFor(snap.schema, snap.tenantID, ps.Text)
	if err != nil {
		return err
	}
	snap.policies, snap.index = list, snap.schema.index(list)
	return nil
}

// resourceParents lists a registered resource's own parents (the tenant
// left out), for cycle checks. A resource's parents are of its own type
// (ValidateResource), so the type is ref's.
func (s *snapshot) resourceParents(ref ResourceRef) []ResourceRef {
	uid, err := s.schema.resourceUID(ref, "resource")
	if err != nil {
		return nil
	}
	e, ok := s.resources.get(uid)
	if !ok {
		return nil
	}
	var out []ResourceRef
	for p := range e.Parents.All() {
		if p != s.tenant {
			out = append(out, ResourceRef{Type: ref.Type, ID: string(p.ID)})
		}
	}
	return out
}

// clone copies the snapshot's header for an update; the tables and maps
// are shared until the update replaces them.
func (s *snapshot) clone() *snapshot {
	cp := *s
	cp.ids = maps.Clone(s.ids)
	return &cp
}
