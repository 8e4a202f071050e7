package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	"github.com/cedar-policy/cedar-go/x/exp/schema/resolved"
)

// Context attributes Tollgate sets itself; a caller never does.
const (
	contextTenant     = "tenant"
	contextOnBehalfOf = "on_behalf_of"
	contextNow        = "now"
)

// callerContext adds the caller's context attributes to out, each checked
// against the action's context in the schema: known, of its type, and
// every required one present (out already holds Tollgate's own). Errors
// name the attribute's path: "context.quiet: expected Bool".
func (s *Schema) callerContext(action cedar.EntityUID, in map[string]any, out cedar.RecordMap) error {
	at := s.resolved.Actions[action].AppliesTo
	if len(in) > MaxAttrs {
		return invalidf("context", "context holds at most %d attributes", MaxAttrs)
	}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		field := "context." + truncate(k)
		switch k {
		case contextTenant, contextOnBehalfOf, contextNow:
			return invalidf(field, "%s is set by Tollgate, not by the caller", field)
		}
		attr, ok := at.Context[cedar.String(k)]
		if !ok {
			return invalidf(field, "unknown context attribute %q; the schema's context of %s has %s", truncate(k), action.ID, callerAttrs(at.Context))
		}
		v, err := s.fromJSON(in[k], attr.Type, field, 1)
		if err != nil {
			return err
		}
		out[cedar.String(k)] = v
	}
	for name, attr := range at.Context {
		if _, ok := out[name]; !ok && !attr.Optional {
			return invalidf("context."+string(name), "context.%s is required for %s", name, action.ID)
		}
	}
	return nil
}

// callerAttrs lists the context attributes a caller may set.
func callerAttrs(rec resolved.RecordType) string {
	var out []string
	for k := range rec {
		switch k {
		case contextTenant, contextOnBehalfOf, contextNow:
			continue
		}
		out = append(out, string(k))
	}
	if len(out) == 0 {
		return "none a caller sets"
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// fromJSON converts a JSON value (as encoding/json decodes it, numbers as
// json.Number or float64) to a Cedar value of type t. Extension values are
// strings in Cedar's syntax ("10.0.0.1", "2026-12-24T18:00:00Z", "1.5",
// "1h30m"); entity references are actor ids ("user:93") or resource
// references ({"type": "channel", "id": "general"}).
func (s *Schema) fromJSON(v any, t resolved.IsType, field string, depth int) (cedar.Value, error) {
	if depth > maxAttrDepth {
		return nil, invalidf(field, "%s: values nest at most %d deep", field, maxAttrDepth)
	}
	if v == nil {
		return nil, invalidf(field, "%s: null is not a Cedar value; leave the attribute out", field)
	}
	switch t := t.(type) {
	case resolved.StringType:
		if x, ok := v.(string); ok && len(x) <= 4096 {
			return cedar.String(x), nil
		}
		return nil, invalidf(field, "%s: expected String (at most 4096 bytes)", field)
	case resolved.BoolType:
		if x, ok := v.(bool); ok {
			return cedar.Boolean(x), nil
		}
		return nil, invalidf(field, "%s: expected Bool", field)
	case resolved.LongType:
		if n, ok := jsonLong(v); ok {
			return cedar.Long(n), nil
		}
		return nil, invalidf(field, "%s: expected Long (a whole number within 64 bits)", field)
	case resolved.ExtensionType:
		return extensionValue(v, t, field)
	case resolved.EntityType:
		return s.entityRef(v, cedar.EntityType(t), field)
	case resolved.SetType:
		x, ok := v.([]any)
		if !ok {
			return nil, invalidf(field, "%s: expected Set (a JSON array)", field)
		}
		if len(x) > MaxSetElements {
			return nil, invalidf(field, "%s: sets hold at most %d elements", field, MaxSetElements)
		}
		vals := make([]cedar.Value, len(x))
		for i, e := range x {
			cv, err := s.fromJSON(e, t.Element, fmt.Sprintf("%s[%d]", field, i), depth+1)
			if err != nil {
				return nil, err
			}
			vals[i] = cv
		}
		return cedar.NewSet(vals...), nil
	case resolved.RecordType:
		x, ok := v.(map[string]any)
		if !ok {
			return nil, invalidf(field, "%s: expected a record (a JSON object)", field)
		}
		rm := make(cedar.RecordMap, len(x))
		for k, e := range x {
			attr, ok := t[cedar.String(k)]
			if !ok {
				return nil, invalidf(field+"."+truncate(k), "%s.%s: unknown attribute", field, truncate(k))
			}
			cv, err := s.fromJSON(e, attr.Type, field+"."+k, depth+1)
			if err != nil {
				return nil, err
			}
			rm[cedar.String(k)] = cv
		}
		for name, attr := range t {
			if _, ok := rm[name]; !ok && !attr.Optional {
				return nil, invalidf(field+"."+string(name), "%s.%s is required", field, name)
			}
		}
		return cedar.NewRecord(rm), nil
	}
	return nil, invalidf(field, "%s: unsupported type", field)
}

// jsonLong reads a whole number within 64 bits.
func jsonLong(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, true
		}
		f, err := x.Float64()
		if err != nil {
			return 0, false
		}
		return jsonLong(f)
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
}

// extensionValue parses a string as a value of an extension type.
func extensionValue(v any, t resolved.ExtensionType, field string) (cedar.Value, error) {
	str, _ := v.(string)
	var (
		val     cedar.Value
		err     error
		example string
	)
	switch t {
	case "ipaddr":
		val, err = types.ParseIPAddr(str)
		example = `"10.0.0.1" or "10.0.0.0/8"`
	case "decimal":
		val, err = types.ParseDecimal(str)
		example = `"12.5"`
	case "datetime":
		val, err = types.ParseDatetime(str)
		example = `"2026-12-24" or "2026-12-24T18:00:00Z"`
	case "duration":
		val, err = types.ParseDuration(str)
		example = `"1h30m"`
	default:
		return nil, invalidf(field, "%s: unsupported type %s", field, string(t))
	}
	if _, ok := v.(string); !ok || err != nil {
		return nil, invalidf(field, "%s: expected %s, a string such as %s", field, string(t), example)
	}
	return val, nil
}

// entityRef reads a reference to an entity of type t: an actor id for a
// principal type, {"type", "id"} for a resource.
func (s *Schema) entityRef(v any, t cedar.EntityType, field string) (cedar.Value, error) {
	if slices.Contains(principalTypes, t) {
		if str, ok := v.(string); ok {
			if uid, err := actorUID(str); err == nil && uid.Type == t {
				return uid, nil
			}
		}
		return nil, invalidf(field, "%s: expected a %s, an actor id such as %s", field, t, exampleActor(t))
	}
	if m, ok := v.(map[string]any); ok && len(m) == 2 {
		typ, _ := m["type"].(string)
		id, _ := m["id"].(string)
		if uid, err := s.resourceUID(ResourceRef{Type: typ, ID: id}, field); err == nil && uid.Type == t {
			return uid, nil
		}
	}
	return nil, invalidf(field, `%s: expected a %s, {"type": …, "id": …}`, field, t)
}

func exampleActor(t cedar.EntityType) string {
	for _, a := range actorTypes {
		if a.typ == t {
			return a.prefix + "93"
		}
	}
	return ""
}
