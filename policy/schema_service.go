package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

// tenantSchema is tenantID's schema as stored now: the installation's
// extended by the tenant's current extension. Writes check against it
// rather than against a snapshot, which may lag a change made on another
// replica.
func (s *Service) tenantSchema(ctx context.Context, tenantID string) (*Schema, error) {
	sv, err := s.store.CurrentSchema(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	sc, err := s.engine.d.Compiler.Extend(sv.Text)
	if err != nil {
		// Stored extensions were valid when written; one that no longer
		// is (an upgrade, a new installation extension) is a server-side
		// state, not the caller's input.
		return nil, fault.Wrap(fault.Unavailable, CodePolicyUnavailable, err)
	}
	return sc, nil
}

// Schema returns the tenant's current schema extension (Version 0: none).
func (s *Service) Schema(ctx context.Context, ac identity.ActorContext, tenantID string) (SchemaVersion, error) {
	if err := s.canManage(ctx, ac, tenantID, identity.PermPoliciesRead); err != nil {
		return SchemaVersion{}, err
	}
	sv, err := s.store.CurrentSchema(ctx, tenantID)
	sv.TenantID = tenantID
	return sv, err
}

// EffectiveSchema renders the schema the tenant's policies are checked
// against: the built-in one with the installation's and the tenant's
// extensions.
func (s *Service) EffectiveSchema(ctx context.Context, ac identity.ActorContext, tenantID string) (string, error) {
	if err := s.canManage(ctx, ac, tenantID, identity.PermPoliciesRead); err != nil {
		return "", err
	}
	sc, err := s.tenantSchema(ctx, tenantID)
	if err != nil {
		return "", err
	}
	return sc.Text(), nil
}

// SchemaVersion returns one version of the tenant's schema extension.
func (s *Service) SchemaVersion(ctx context.Context, ac identity.ActorContext, tenantID string, version int64) (SchemaVersion, error) {
	if err := s.canManage(ctx, ac, tenantID, identity.PermPoliciesRead); err != nil {
		return SchemaVersion{}, err
	}
	return s.store.SchemaVersion(ctx, tenantID, version)
}

// SchemaVersions lists versions newest first.
func (s *Service) SchemaVersions(ctx context.Context, ac identity.ActorContext, tenantID string, p cursor.Page) ([]SchemaVersion, error) {
	if err := s.canManage(ctx, ac, tenantID, identity.PermPoliciesRead); err != nil {
		return nil, err
	}
	if p.After != "" {
		if _, err := strconv.ParseInt(p.After, 10, 64); err != nil {
			return nil, fault.Invalidf("after", cursor.CodeInvalidCursor, "the cursor is a version number")
		}
	}
	return s.store.ListSchemaVersions(ctx, tenantID, p.Normalize())
}

// PutSchema validates text as the tenant's schema extension and stores it
// as the next version, once the tenant's stored policies and registered
// resources are found valid under it. previous, when not nil, must be the
// current version (optimistic concurrency: a change in between is a
// Conflict).
func (s *Service) PutSchema(ctx context.Context, ac identity.ActorContext, tenantID, text string, previous *int64) (SchemaVersion, error) {
	return s.putSchema(ctx, ac, tenantID, text, previous, 0)
}

// RollbackSchema makes version's text the tenant's next version.
func (s *Service) RollbackSchema(ctx context.Context, ac identity.ActorContext, tenantID string, version int64) (SchemaVersion, error) {
	old, err := s.SchemaVersion(ctx, ac, tenantID, version)
	if err != nil {
		return SchemaVersion{}, err
	}
	return s.putSchema(ctx, ac, tenantID, old.Text, nil, version)
}

func (s *Service) putSchema(ctx context.Context, ac identity.ActorContext, tenantID, text string, previous *int64, rollbackOf int64) (SchemaVersion, error) {
	if err := s.canManage(ctx, ac, tenantID, identity.PermPoliciesWrite); err != nil {
		return SchemaVersion{}, err
	}
	// Like a policy, a schema may speak of any type.
	if isService(ac) && !slices.Contains(ac.ResourceTypes, identity.Everything) {
		return SchemaVersion{}, fault.Forbiddenf(CodeResourceTypeNotRegistered, "writing the schema needs a service registered for every resource type")
	}
	sc, err := s.engine.d.Compiler.Extend(text)
	if err != nil {
		return SchemaVersion{}, err
	}
	cur, err := s.store.CurrentSchema(ctx, tenantID)
	if err != nil {
		return SchemaVersion{}, err
	}
	if previous != nil && *previous != cur.Version {
		return SchemaVersion{}, fault.Conflictf(CodeSchemaVersionConflict, "the schema is at version %d, not %d", cur.Version, *previous)
	}
	policies, err := s.checkInUse(ctx, sc, tenantID)
	if err != nil {
		return SchemaVersion{}, err
	}
	sv := SchemaVersion{TenantID: tenantID, Version: cur.Version + 1, Text: text, CreatedBy: ac.ActorID,
		CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	sum := sha256.Sum256([]byte(text))
	detail := map[string]string{"version": strconv.FormatInt(sv.Version, 10), "previous_version": strconv.FormatInt(cur.Version, 10),
		"text_sha256": hex.EncodeToString(sum[:])}
	if rollbackOf > 0 {
		detail["rollback_of"] = strconv.FormatInt(rollbackOf, 10)
	}
	ctx = audit.Record(ctx, audit.Event{TenantID: tenantID, Action: audit.ActionSchemaPut, TargetType: "schema",
		TargetID: strconv.FormatInt(sv.Version, 10), Detail: detail})
	if err := s.store.AddSchema(ctx, sv, cur.Version, policies); err != nil {
		return SchemaVersion{}, err
	}
	s.announceWhole(ctx, tenantID)
	return sv, nil
}

// announceWhole tells that any of the tenant's data may have changed, as
// a schema change does: it re-validates every registered resource and
// recompiles the policies, so every replica reads the tenant whole (an
// event without Tenant is one, ChangesOf). It returns once this replica's
// engine serves the change.
func (s *Service) announceWhole(ctx context.Context, tenantID string) {
	ev := event.Event{Kind: event.KindPolicyChanged, ID: tenantID, At: s.now()}
	if s.changed != nil {
		s.changed(ctx, ev)
		return
	}
	s.engine.Apply(ctx, ChangesOf(ev)...)
}

// checkInUse refuses a schema under which the tenant's current policies or
// a registered resource would not validate, naming the first; it returns
// the policy version it checked, which the write then requires.
func (s *Service) checkInUse(ctx context.Context, sc *Schema, tenantID string) (int64, error) {
	ps, err := s.store.CurrentPolicySet(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	if ps.Version > 0 {
		if _, err := s.engine.d.Compiler.CompileFor(sc, tenantID, ps.Text); err != nil {
			var inv *InvalidError
			if errors.As(err, &inv) && len(inv.Problems) > 0 {
				return 0, fault.Invalidf("text", CodeSchemaInUse, "the tenant's policies (version %d) would not validate: %s", ps.Version, inv.Problems[0])
			}
			return 0, err
		}
	}
	rs, err := s.store.ListResources(ctx, tenantID, cursor.Page{})
	if err != nil {
		return 0, err
	}
	for _, r := range rs {
		if _, err := sc.ValidateResource(r); err != nil {
			return 0, fault.Invalidf("text", CodeSchemaInUse, "registered resource %s %q would not validate: %s", r.Type, truncate(r.ID), faultDetail(err))
		}
	}
	return ps.Version, nil
}
