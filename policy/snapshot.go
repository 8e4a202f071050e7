package policy

import (
	"slices"

	"github.com/cedar-policy/cedar-go"

	"github.com/tollgate/tollgate/identity"
)

// snapshot is one tenant's immutable view: entities, its own policies and
// the ids of its registered resources by type, for lookups.
type snapshot struct {
	tenantID string
	tenant   cedar.EntityUID
	version  int64
	entities cedar.EntityMap
	policies policyList
	// index is policies by the scopes they may apply to.
	index policyIndex
	// ids holds each registrable type's resource ids, sorted.
	ids map[string][]string
	// parents holds registered resources' own parents, for cycle checks.
	parents map[ResourceRef][]ResourceRef
	// schema is the tenant's schema, its extension included.
	schema *Schema
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

func status(active bool) cedar.String {
	if active {
		return "active"
	}
	return "disabled"
}

// build makes a tenant's snapshot. Registered resources and stored
// policies were validated when they were written; one that no longer
// validates (after an upgrade changed the schema) fails the build, so the
// tenant's decisions fail closed until it is fixed.
func (c *Compiler) build(td TenantData) (*snapshot, error) {
	sc, err := c.Extend(td.Schema.Text)
	if err != nil {
		return nil, err
	}
	tenant := cedar.NewEntityUID(typeTenant, cedar.String(td.TenantID))
	tenantStatus := cedar.String("active")
	if !td.Active {
		tenantStatus = "suspended"
	}
	em := make(cedar.EntityMap, 1+len(td.Roles)+3+len(td.Members)+len(td.Agents)+len(td.Resources))
	em[tenant] = cedar.Entity{UID: tenant, Attributes: cedar.NewRecord(cedar.RecordMap{"status": tenantStatus})}
	inTenant := cedar.NewEntityUIDSet(tenant)
	for _, r := range append([]string{identity.RoleOwner, identity.RoleAdmin, identity.RoleMember}, td.Roles...) {
		uid := cedar.NewEntityUID(typeRole, cedar.String(r))
		em[uid] = cedar.Entity{UID: uid, Parents: inTenant}
	}
	for _, m := range td.Members {
		uid, err := actorUID(m.ActorID)
		if err != nil {
			continue // not an actor id this schema knows; it can match nothing
		}
		roles := impliedRoles(m.Roles)
		parents := make([]cedar.EntityUID, 0, len(roles)+1)
		parents = append(parents, tenant)
		for _, r := range roles {
			parents = append(parents, cedar.NewEntityUID(typeRole, cedar.String(r)))
		}
		attrs := cedar.RecordMap{"actor_id": cedar.String(m.ActorID), "status": status(m.Active)}
		if uid.Type == typeUser {
			attrs["roles"] = stringSet(roles)
		}
		if uid.Type == typeAgent {
			attrs["owner"] = cedar.String("")
		}
		em[uid] = cedar.Entity{UID: uid, Parents: cedar.NewEntityUIDSet(parents...), Attributes: cedar.NewRecord(attrs)}
	}
	for _, a := range td.Agents {
		uid, err := actorUID(a.ActorID)
		if err != nil || uid.Type != typeAgent {
			continue
		}
		parents := []cedar.EntityUID{tenant}
		if prev, ok := em[uid]; ok {
			// An agent that is also a member keeps its roles.
			parents = slices.AppendSeq(parents, prev.Parents.All())
		}
		em[uid] = cedar.Entity{UID: uid, Parents: cedar.NewEntityUIDSet(parents...), Attributes: cedar.NewRecord(cedar.RecordMap{
			"actor_id": cedar.String(a.ActorID), "status": status(a.Active), "owner": cedar.String(a.OwnerID),
		})}
	}
	ids := map[string][]string{}
	parents := map[ResourceRef][]ResourceRef{}
	for _, r := range td.Resources {
		if len(r.Parents) > 0 {
			parents[r.Ref()] = r.Parents
		}
		e, err := sc.ValidateResource(r)
		if err != nil {
			return nil, err
		}
		e.Parents = cedar.NewEntityUIDSet(append(slices.Collect(e.Parents.All()), tenant)...)
		em[e.UID] = e
		ids[r.Type] = append(ids[r.Type], r.ID)
	}
	for _, l := range ids {
		slices.Sort(l)
	}
	snap := &snapshot{tenantID: td.TenantID, tenant: tenant, version: td.Policies.Version, entities: em, ids: ids, parents: parents, schema: sc}
	if td.Policies.Version > 0 {
		list, err := c.CompileFor(sc, td.TenantID, td.Policies.Text)
		if err != nil {
			return nil, err
		}
		snap.policies = list
		snap.index = sc.index(list)
	}
	return snap, nil
}
