package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/tollgate/tollgate/fault"
)

// Cedar entity types.
const (
	typeTenant  cedar.EntityType = "Tenant"
	typeRole    cedar.EntityType = "Role"
	typeUser    cedar.EntityType = "User"
	typeAgent   cedar.EntityType = "Agent"
	typeService cedar.EntityType = "Service"
	typeChannel cedar.EntityType = "Channel"
	typeTool    cedar.EntityType = "Tool"
	typeUsage   cedar.EntityType = "Usage"
	typeAction  cedar.EntityType = "Action"
)

// Resource types as the API names them.
const (
	ResourceChannel = "channel"
	ResourceTool    = "tool"
	ResourceAgent   = "agent"
	ResourceUsage   = "usage"
	ResourceTenant  = "tenant"
)

// resourceTypes maps API resource types to Cedar entity types.
var resourceTypes = map[string]cedar.EntityType{
	ResourceChannel: typeChannel, ResourceTool: typeTool, ResourceAgent: typeAgent,
	ResourceUsage: typeUsage, ResourceTenant: typeTenant,
}

// KnownResourceType reports whether typ is a resource type of the API:
// a built-in one, or one a tenant's schema extension may declare (named
// like Invoice), which a service may be registered for before any tenant
// declares it.
func KnownResourceType(typ string) bool {
	_, ok := resourceTypes[typ]
	return ok || ownTypeName.MatchString(typ)
}

// Registrable reports whether services register resources of the
// built-in type typ (the others come from Tollgate's own data). A
// tenant's schema extension may declare more registrable types.
func Registrable(typ string) bool { return typ == ResourceChannel || typ == ResourceTool }

// Actor id prefixes and their entity types.
var actorTypes = [...]struct {
	prefix string
	typ    cedar.EntityType
}{{"user:", typeUser}, {"agent:", typeAgent}, {"service:", typeService}}

// Bounds on ids and entities.
const (
	MaxIDLen       = 256
	MaxAttrs       = 64
	MaxParents     = 32
	MaxSetElements = 10_000
	maxAttrDepth   = 8
)

func invalidf(field, format string, args ...any) error {
	return fault.Invalidf(field, CodeInvalidAuthorizationRequest, format, args...)
}

// validID accepts 1 to MaxIDLen bytes of UTF-8 without control characters.
func validID(id string) bool {
	if id == "" || len(id) > MaxIDLen || !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return false
		}
	}
	return true
}

// actorUID turns "user:93" into User::"93".
func actorUID(actorID string) (cedar.EntityUID, error) {
	for _, a := range actorTypes {
		if id, ok := strings.CutPrefix(actorID, a.prefix); ok && validID(id) {
			return cedar.NewEntityUID(a.typ, cedar.String(id)), nil
		}
	}
	return cedar.EntityUID{}, invalidf("principal", "principal must be an actor id such as user:93, agent:<id> or service:<name>")
}

// resourceUID turns {"type":"channel","id":"x"} into Channel::"x".
func (s *Schema) resourceUID(r ResourceRef, field string) (cedar.EntityUID, error) {
	t, ok := s.entityType(r.Type)
	if !ok {
		return cedar.EntityUID{}, invalidf(field+".type", "unknown resource type %q; one of %s", truncate(r.Type), strings.Join(s.typeNames(), ", "))
	}
	if !validID(r.ID) {
		return cedar.EntityUID{}, invalidf(field+".id", "resource id must be 1 to %d bytes without control characters", MaxIDLen)
	}
	return cedar.NewEntityUID(t, cedar.String(r.ID)), nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// ValidateResource checks a resource for registration against the schema
// of a tenant without an extension of its own.
func (c *Compiler) ValidateResource(r Resource) (cedar.Entity, error) {
	return c.base.ValidateResource(r)
}

// ValidateResource checks a resource for registration: a registrable type,
// valid ids, bounded parents and attributes, attributes the schema
// accepts for its type, and a channel's visibility one of its two values.
func (s *Schema) ValidateResource(r Resource) (cedar.Entity, error) {
	if !s.registrable(r.Type) {
		return cedar.Entity{}, invalidf("type", "resources of type %q cannot be registered; register channel, tool or a type of the tenant's schema", truncate(r.Type))
	}
	uid, err := s.resourceUID(r.Ref(), "resource")
	if err != nil {
		return cedar.Entity{}, err
	}
	if len(r.Parents) > MaxParents {
		return cedar.Entity{}, invalidf("parents", "at most %d parents", MaxParents)
	}
	parents := make([]cedar.EntityUID, 0, len(r.Parents)+1)
	for i, p := range r.Parents {
		puid, err := s.resourceUID(p, fmt.Sprintf("parents[%d]", i))
		if err != nil {
			return cedar.Entity{}, err
		}
		if puid == uid {
			return cedar.Entity{}, invalidf(fmt.Sprintf("parents[%d]", i), "a resource cannot be its own parent")
		}
		if p.Type == ResourceTenant {
			return cedar.Entity{}, invalidf(fmt.Sprintf("parents[%d]", i), "the tenant is every resource's parent already")
		}
		if p.Type != r.Type {
			return cedar.Entity{}, invalidf(fmt.Sprintf("parents[%d]", i), "a %s's parents are %ss", r.Type, r.Type)
		}
		parents = append(parents, puid)
	}
	if len(r.Attrs) > MaxAttrs {
		return cedar.Entity{}, invalidf("attrs", "at most %d attributes", MaxAttrs)
	}
	rec, err := toRecord(r.Attrs, "attrs", 0)
	if err != nil {
		return cedar.Entity{}, err
	}
	if err := checkVisibility(r); err != nil {
		return cedar.Entity{}, err
	}
	e := cedar.Entity{UID: uid, Parents: cedar.NewEntityUIDSet(parents...), Attributes: rec}
	if err := s.validator.Entity(e); err != nil {
		return cedar.Entity{}, invalidf("attrs", "%s", err.Error())
	}
	return e, nil
}

// toRecord converts JSON attributes to a Cedar record.
func toRecord(m map[string]any, field string, depth int) (cedar.Record, error) {
	rm := make(cedar.RecordMap, len(m))
	for k, v := range m {
		if !validID(k) {
			return cedar.Record{}, invalidf(field, "attribute names must be 1 to %d bytes without control characters", MaxIDLen)
		}
		cv, err := toValue(v, field+"."+k, depth+1)
		if err != nil {
			return cedar.Record{}, err
		}
		rm[cedar.String(k)] = cv
	}
	return cedar.NewRecord(rm), nil
}

func toValue(v any, field string, depth int) (cedar.Value, error) {
	if depth > maxAttrDepth {
		return nil, invalidf(field, "attributes nest at most %d deep", maxAttrDepth)
	}
	switch x := v.(type) {
	case string:
		if len(x) > 4096 {
			return nil, invalidf(field, "strings are at most 4096 bytes")
		}
		return cedar.String(x), nil
	case bool:
		return cedar.Boolean(x), nil
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return cedar.Long(n), nil
		}
		// 1.0 and 1e3 are whole numbers written otherwise.
		f, err := x.Float64()
		if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return nil, invalidf(field, "numbers must be whole and within 64 bits (Cedar has only Long)")
		}
		return cedar.Long(int64(f)), nil
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return nil, invalidf(field, "numbers must be whole and within 64 bits (Cedar has only Long)")
		}
		return cedar.Long(int64(x)), nil
	case []any:
		if len(x) > MaxSetElements {
			return nil, invalidf(field, "sets hold at most %d elements", MaxSetElements)
		}
		vals := make([]cedar.Value, len(x))
		for i, e := range x {
			cv, err := toValue(e, fmt.Sprintf("%s[%d]", field, i), depth+1)
			if err != nil {
				return nil, err
			}
			vals[i] = cv
		}
		return cedar.NewSet(vals...), nil
	case map[string]any:
		return toRecord(x, field, depth)
	case nil:
		return nil, invalidf(field, "null is not a Cedar value; leave the attribute out")
	}
	return nil, invalidf(field, "unsupported value")
}

// stringSet is a Cedar set of strings.
func stringSet(ss []string) types.Set {
	vals := make([]cedar.Value, len(ss))
	for i, s := range ss {
		vals[i] = cedar.String(s)
	}
	return cedar.NewSet(vals...)
}
