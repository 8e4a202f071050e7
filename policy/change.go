package policy

import (
	"strings"
	"time"

	"github.com/tollgate/tollgate/event"
)

// Part names what of a tenant's data a Change touches.
type Part uint8

// Parts.
const (
	// PartAll: anything may have changed; the tenant is read whole.
	PartAll Part = iota
	// PartTenant: the tenant's status.
	PartTenant
	// PartRoles: the tenant's custom roles.
	PartRoles
	// PartActor: one actor (Key, an actor id): its membership, roles,
	// agent record or status.
	PartActor
	// PartResource: one registered resource (Key, "type:id").
	PartResource
	// PartPolicies: the tenant's own policies.
	PartPolicies
)

// Change announces that part of a tenant's data changed in the store. An
// update re-reads what it names, so applying a change twice, or after a
// later one, leaves the snapshot as the store is.
type Change struct {
	// TenantID is the tenant; "" for an actor change that concerns every
	// tenant holding the actor (a user disabled, say).
	TenantID string
	Part     Part
	// Key is the actor id of PartActor or the "type:id" of PartResource.
	Key string
}

// resourceKey is the Key of a PartResource change.
func resourceKey(r ResourceRef) string { return r.Type + ":" + r.ID }

// ChangesOf translates a bus event into the snapshot changes it implies;
// none for events that do not concern decisions. An event from a replica
// older than tenant-carrying events (Tenant empty where it is now set)
// changes its tenant whole, which is what that replica meant.
func ChangesOf(e event.Event) []Change {
	switch e.Kind {
	case event.KindPolicyChanged:
		switch {
		case e.Tenant == "":
			return []Change{{TenantID: e.ID, Part: PartAll}}
		case e.Resource != "":
			return []Change{{TenantID: e.Tenant, Part: PartResource, Key: e.Resource}}
		}
		return []Change{{TenantID: e.Tenant, Part: PartPolicies}}
	case event.KindTenantSuspended, event.KindTenantActivated:
		return []Change{{TenantID: e.ID, Part: PartTenant}}
	case event.KindActorChanged, event.KindActorDisabled, event.KindActorEnabled:
		if rest, ok := strings.CutPrefix(e.ID, "role:"); ok {
			tenant, _, _ := strings.Cut(rest, "/")
			return []Change{{TenantID: tenant, Part: PartRoles}}
		}
		return []Change{{TenantID: e.Tenant, Part: PartActor, Key: e.ID}}
	}
	return nil
}

// pending is the changes of one tenant not yet in its served snapshot.
type pending struct {
	all, tenant, roles, policies bool
	actors                       map[string]bool
	resources                    map[string]bool
	// since is when the oldest of them was announced here.
	since time.Time
}

// maxIncremental is the most actors and resources one update re-reads one
// by one; past it the tenant is read whole, which is then cheaper.
const maxIncremental = 512

func (p *pending) empty() bool {
	return !p.all && !p.tenant && !p.roles && !p.policies && len(p.actors) == 0 && len(p.resources) == 0
}

func (p *pending) add(c Change, now time.Time) {
	if p.empty() {
		p.since = now
	}
	switch c.Part {
	case PartAll:
		p.all = true
	case PartTenant:
		p.tenant = true
	case PartRoles:
		p.roles = true
	case PartPolicies:
		p.policies = true
	case PartActor:
		if p.actors == nil {
			p.actors = map[string]bool{}
		}
		p.actors[c.Key] = true
	case PartResource:
		if p.resources == nil {
			p.resources = map[string]bool{}
		}
		p.resources[c.Key] = true
	}
	if len(p.actors)+len(p.resources) > maxIncremental {
		p.all, p.actors, p.resources = true, nil, nil
	}
}

// merge adds the changes of q, which failed to apply, back into p.
func (p *pending) merge(q pending) {
	since := q.since
	if !p.empty() && p.since.Before(since) {
		since = p.since
	}
	for _, c := range q.changes() {
		p.add(c, since)
	}
	p.since = since
}

// changes lists p as Changes (tenant left empty).
func (p *pending) changes() []Change {
	var out []Change
	if p.all {
		out = append(out, Change{Part: PartAll})
	}
	if p.tenant {
		out = append(out, Change{Part: PartTenant})
	}
	if p.roles {
		out = append(out, Change{Part: PartRoles})
	}
	if p.policies {
		out = append(out, Change{Part: PartPolicies})
	}
	for k := range p.actors {
		out = append(out, Change{Part: PartActor, Key: k})
	}
	for k := range p.resources {
		out = append(out, Change{Part: PartResource, Key: k})
	}
	return out
}
