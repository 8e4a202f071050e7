package policy

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cedar-policy/cedar-go"

	"github.com/tollgate/tollgate/fault"
)

// PartSource reads the parts of a tenant's data a change touches, so that
// a snapshot is updated without reading the tenant whole. A Source that is
// not one has every change applied by a whole read.
type PartSource interface {
	Source
	// TenantActive reports whether the tenant is active; NotFound when it
	// no longer exists.
	TenantActive(ctx context.Context, tenantID string) (bool, error)
	// Roles lists the tenant's custom role names.
	Roles(ctx context.Context, tenantID string) ([]string, error)
	// Actor reads one actor as the tenant's snapshot holds it.
	Actor(ctx context.Context, tenantID, actorID string) (ActorData, error)
	// Resource reads one registered resource; NotFound when it is not.
	Resource(ctx context.Context, tenantID string, ref ResourceRef) (Resource, error)
	// PolicySet reads the current version of the tenant's policies (zero
	// when it has none).
	PolicySet(ctx context.Context, tenantID string) (PolicySet, error)
}

// ActorData is one actor of a tenant: its membership and its agent
// record, each nil when it has none.
type ActorData struct {
	Member *Member
	Agent  *AgentInfo
}

// update makes the snapshot that follows old once the changes in p are
// applied, reading only what they name. The result shares everything
// they do not touch with old.
func (e *Engine) update(ctx context.Context, tenantID string, old *snapshot, p pending) (*snapshot, string, error) {
	ps, ok := e.d.Source.(PartSource)
	if p.all || !ok || old == nil {
		td, err := e.d.Source.TenantData(ctx, tenantID)
		if err != nil {
			return nil, "", err
		}
		snap, err := e.d.Compiler.build(td, e.d.Now())
		return snap, SnapshotFull, err
	}
	c := e.d.Compiler
	snap := old.clone()
	kind := SnapshotIncremental
	if p.tenant || p.roles {
		active, err := ps.TenantActive(ctx, old.tenantID)
		if err != nil {
			return nil, "", err
		}
		roles := snap.roleNames
		if p.roles {
			if roles, err = ps.Roles(ctx, old.tenantID); err != nil {
				return nil, "", err
			}
		}
		snap.fixed, snap.roleNames = fixedEntities(snap.tenant, active, roles), roles
	}
	if len(p.actors) > 0 {
		if err := e.updateActors(ctx, ps, snap, p.actors); err != nil {
			return nil, "", err
		}
	}
	if len(p.resources) > 0 {
		if err := e.updateResources(ctx, ps, snap, p.resources); err != nil {
			return nil, "", err
		}
	}
	if p.policies {
		set, err := ps.PolicySet(ctx, old.tenantID)
		if err != nil {
			return nil, "", err
		}
		if set.Version != old.version {
			if err := c.setPolicies(snap, set); err != nil {
				return nil, "", err
			}
			if kind == SnapshotIncremental && len(p.actors)+len(p.resources) == 0 && !p.tenant && !p.roles {
				kind = SnapshotPolicies
			}
		}
	}
	return snap, kind, nil
}

func (e *Engine) updateActors(ctx context.Context, ps PartSource, snap *snapshot, ids map[string]bool) error {
	// New combinations of roles must not be added to the map the previous
	// snapshot still reads.
	sets := maps.Clone(snap.roleSets)
	ed := snap.actors.edit(0)
	for id := range ids {
		uid, err := actorUID(id)
		if err != nil {
			continue // not an actor a snapshot can hold
		}
		d, err := ps.Actor(ctx, snap.tenantID, id)
		if err != nil {
			return err
		}
		key, r := actorRecFor(sets, snap.tenant, d.Member, d.Agent)
		if r == nil {
			ed.delete(uid)
			continue
		}
		ed.set(key, r)
	}
	snap.actors, snap.roleSets = ed.done(), sets
	return nil
}

func (e *Engine) updateResources(ctx context.Context, ps PartSource, snap *snapshot, keys map[string]bool) error {
	ed := snap.resources.edit(0)
	for key := range keys {
		typ, id, ok := strings.Cut(key, ":")
		if !ok {
			continue
		}
		ref := ResourceRef{Type: typ, ID: id}
		uid, err := snap.schema.resourceUID(ref, "resource")
		if err != nil {
			continue
		}
		r, err := ps.Resource(ctx, snap.tenantID, ref)
		switch {
		case errors.Is(err, fault.ErrNotFound):
			if _, held := ed.get(uid); held {
				ed.delete(uid)
				snap.ids[typ] = without(snap.ids[typ], id)
			}
			continue
		case err != nil:
			return err
		}
		ent, err := snap.schema.resourceEntity(r, snap.tenant)
		if err != nil {
			return err
		}
		if _, held := ed.get(uid); !held {
			snap.ids[typ] = with(snap.ids[typ], id)
		}
		ed.set(uid, ent)
	}
	snap.resources = ed.done()
	return nil
}

// with returns a sorted copy of ids holding id too.
func with(ids []string, id string) []string {
	i, _ := slices.BinarySearch(ids, id)
	return slices.Insert(slices.Clip(ids), i, id)
}

// without returns a copy of ids without id.
func without(ids []string, id string) []string {
	i, ok := slices.BinarySearch(ids, id)
	if !ok {
		return ids
	}
	return slices.Delete(slices.Clone(ids), i, i+1)
}

// holds reports whether the snapshot holds actor id as a member or agent.
func (s *snapshot) holds(actorID string) bool {
	uid, err := actorUID(actorID)
	if err != nil {
		return false
	}
	_, ok := s.actors.get(uid)
	return ok
}

var _ cedar.EntityGetter = (*snapshot)(nil)

// since reports how long ago t was, never negative.
func since(now, t time.Time) time.Duration { return max(now.Sub(t), 0) }
