package policy

import (
	"maps"
	"slices"
	"time"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema/resolved"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"
)

// Schema is the Cedar schema a tenant's policies, registered resources
// and requests are checked against: the built-in one, extended by the
// installation's fragment and then by the tenant's own (extension.go). It
// is immutable once made.
type Schema struct {
	// ast is the merged schema, which a further extension starts from.
	ast       *ast.Schema
	resolved  *resolved.Schema
	validator *validate.Validator
	// types maps the API's resource types to entity types: the built-in
	// ones ("channel" → Channel) and each extension's own types, whose API
	// name is their Cedar name ("Invoice" → Invoice).
	types map[string]cedar.EntityType
	// own holds the entity types extensions declared; they are registrable
	// like channels and tools.
	own map[cedar.EntityType]bool
}

// newSchema resolves a merged AST.
func newSchema(a *ast.Schema, own map[cedar.EntityType]bool) (*Schema, error) {
	res, err := resolved.Resolve(a)
	if err != nil {
		return nil, err
	}
	types := maps.Clone(resourceTypes)
	for t := range own {
		types[string(t)] = t
	}
	return &Schema{ast: a, resolved: res, validator: validate.New(res), types: types, own: own}, nil
}

// SchemaVersion is one version of a tenant's schema extension: a Cedar
// schema fragment that adds to the built-in schema (docs/policy.md).
type SchemaVersion struct {
	TenantID string
	// Version counts from 1; every change is a new version. Version 0 is
	// no extension.
	Version   int64
	Text      string
	CreatedBy string
	CreatedAt time.Time
}

// registrable reports whether services register resources of API type
// typ in this schema: channels, tools and the extensions' own types.
func (s *Schema) registrable(typ string) bool {
	if Registrable(typ) {
		return true
	}
	t, ok := s.types[typ]
	return ok && s.own[t]
}

// entityType maps an API resource type to its entity type.
func (s *Schema) entityType(typ string) (cedar.EntityType, bool) {
	t, ok := s.types[typ]
	return t, ok
}

// typeNames lists the API resource types, for error messages.
func (s *Schema) typeNames() []string {
	out := slices.Collect(maps.Keys(s.types))
	slices.Sort(out)
	return out
}

// Actions lists the schema's action names, sorted.
func (s *Schema) Actions() []string {
	out := make([]string, 0, len(s.resolved.Actions))
	for uid := range s.resolved.Actions {
		out = append(out, string(uid.ID))
	}
	slices.Sort(out)
	return out
}

// Text renders the effective schema in Cedar's schema syntax.
func (s *Schema) Text() string {
	b, _ := schema.NewSchemaFromAST(s.ast).MarshalCedar()
	return string(b)
}
