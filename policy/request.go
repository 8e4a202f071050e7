package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cedar-policy/cedar-go"

	"github.com/tollgate/tollgate/fault"
)

// errQuotaUnavailable marks a failure to read quota consumption, which
// denies as unavailable, not as an invalid request.
var errQuotaUnavailable = errors.New("quota consumption unavailable")

// MaxRequestEntities bounds the extra entities one request may carry.
const MaxRequestEntities = 100

// overlay is the snapshot's entities plus the few a request adds (the
// principal when it is not a member, a usage resource, the caller's extra
// entities), without copying the snapshot.
type overlay struct {
	base  *snapshot
	extra []cedar.Entity
}

func (o *overlay) Get(uid cedar.EntityUID) (cedar.Entity, bool) {
	for i := range o.extra {
		if o.extra[i].UID == uid {
			return o.extra[i], true
		}
	}
	return o.base.Get(uid)
}

func (o *overlay) has(uid cedar.EntityUID) bool {
	_, ok := o.Get(uid)
	return ok
}

// actionUID checks an action name against the schema.
func (s *Schema) actionUID(name string) (cedar.EntityUID, error) {
	uid := cedar.NewEntityUID(typeAction, cedar.String(name))
	if _, ok := s.resolved.Actions[uid]; !ok || name == "" {
		return cedar.EntityUID{}, invalidf("action", "unknown action %q", truncate(name))
	}
	return uid, nil
}

// Actions lists the action names of the schema with the installation's
// extension (a tenant's own may add more).
func (c *Compiler) Actions() []string { return c.base.Actions() }

// visitor is a principal the tenant does not know: it holds no roles and
// is in no group, so only policies about actor ids can match it.
func visitor(uid cedar.EntityUID, actorID string) cedar.Entity {
	attrs := cedar.RecordMap{"actor_id": cedar.String(actorID), "status": cedar.String("active")}
	switch uid.Type {
	case typeUser:
		attrs["roles"] = cedar.NewSet()
	case typeAgent:
		attrs["owner"] = cedar.String("")
	}
	return cedar.Entity{UID: uid, Attributes: cedar.NewRecord(attrs)}
}

// translate turns req into a Cedar request over snap, st's snapshot, with
// the policies that may apply to it.
func (e *Engine) translate(ctx context.Context, st *tenantState, snap *snapshot, req Request) (cedar.Request, *overlay, both, error) {
	sc := snap.schema
	o := &overlay{base: snap}
	principal, err := actorUID(req.Principal)
	if err != nil {
		return cedar.Request{}, nil, both{}, err
	}
	if !o.has(principal) {
		o.extra = append(o.extra, visitor(principal, req.Principal))
	}
	action, err := sc.actionUID(req.Action)
	if err != nil {
		return cedar.Request{}, nil, both{}, err
	}
	resource, err := sc.resourceUID(req.Resource, "resource")
	if err != nil {
		return cedar.Request{}, nil, both{}, err
	}
	if at := sc.resolved.Actions[action].AppliesTo; at == nil || !slices.Contains(at.Principals, principal.Type) || !slices.Contains(at.Resources, resource.Type) {
		return cedar.Request{}, nil, both{}, invalidf("action", "%s does not apply to a %s acting on a %s", req.Action, principal.Type, req.Resource.Type)
	}
	k := scopeKey{action, principal.Type, resource.Type}
	defaults, own := e.d.Compiler.defaultIndex[k], snap.index[k]
	if resource.Type == typeUsage && !o.has(resource) {
		actor := ""
		if req.Resource.ID != "tenant" {
			if _, err := actorUID(req.Resource.ID); err != nil {
				return cedar.Request{}, nil, both{}, invalidf("resource.id", `a usage resource id is an actor id ("user:93") or "tenant"`)
			}
			actor = req.Resource.ID
		}
		o.extra = append(o.extra, cedar.Entity{UID: resource, Parents: cedar.NewEntityUIDSet(snap.tenant),
			Attributes: cedar.NewRecord(cedar.RecordMap{"actor": cedar.String(actor)})})
	}
	if len(req.Entities) > MaxRequestEntities {
		return cedar.Request{}, nil, both{}, invalidf("entities", "at most %d entities", MaxRequestEntities)
	}
	for i, r := range req.Entities {
		ent, err := sc.ValidateResource(r)
		if err != nil {
			return cedar.Request{}, nil, both{}, fieldPrefix(err, fmt.Sprintf("entities[%d].", i))
		}
		if o.has(ent.UID) {
			return cedar.Request{}, nil, both{}, invalidf(fmt.Sprintf("entities[%d]", i), "%s::%q is already known; a request cannot replace it", ent.UID.Type, string(ent.UID.ID))
		}
		ent.Parents = cedar.NewEntityUIDSet(append(ent.Parents.Slice(), snap.tenant)...)
		o.extra = append(o.extra, ent)
	}
	now := e.d.Now()
	cctx := cedar.RecordMap{contextTenant: snap.tenant, contextNow: cedar.NewDatetime(now)}
	if err := e.quotaContext(ctx, st, req.Principal, now, defaults.readsQuota || own.readsQuota, cctx); err != nil {
		return cedar.Request{}, nil, both{}, fmt.Errorf("%w: %w", errQuotaUnavailable, err)
	}
	if req.OnBehalfOf != "" {
		human, err := actorUID(req.OnBehalfOf)
		if err != nil || human.Type != typeUser {
			return cedar.Request{}, nil, both{}, invalidf("on_behalf_of", "on_behalf_of must be a user's actor id, user:<id>")
		}
		if !o.has(human) {
			o.extra = append(o.extra, visitor(human, req.OnBehalfOf))
		}
		cctx[contextOnBehalfOf] = human
	}
	if err := sc.callerContext(action, req.Context, cctx); err != nil {
		return cedar.Request{}, nil, both{}, err
	}
	return cedar.Request{Principal: principal, Action: action, Resource: resource, Context: cedar.NewRecord(cctx)}, o, both{defaults.list, own.list}, nil
}

// fieldPrefix qualifies an Invalid fault's field.
func fieldPrefix(err error, prefix string) error {
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Field != "" {
		cp := *fe
		cp.Field = prefix + fe.Field
		return &cp
	}
	return err
}
