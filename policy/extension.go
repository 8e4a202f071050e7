package policy

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema/resolved"

	"github.com/tollgate/tollgate/fault"
)

// Limits on a schema extension. Size and nesting are checked by a linear
// scan before the parser sees the text (the parser recurses once per
// nesting level); the counts once it is parsed, before it is merged.
const (
	MaxSchemaTextBytes = 32 << 10
	// MaxSchemaNesting bounds nested brackets ({, <, [): an action's
	// context record inside its appliesTo is already two.
	MaxSchemaNesting = 8
	// MaxSchemaTypes bounds the entity and common types one extension
	// declares or extends.
	MaxSchemaTypes = 32
	// MaxSchemaActions bounds the actions one extension declares or
	// extends.
	MaxSchemaActions = 32
	// MaxSchemaAttributes bounds the attributes one extension adds,
	// nested record fields included.
	MaxSchemaAttributes = 256
)

// SchemaInvalidError is a schema extension refused, with every problem
// found. It unwraps to an Invalid fault "invalid_schema".
type SchemaInvalidError struct {
	Problems []Problem
}

func (e *SchemaInvalidError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "invalid schema extension: " + strings.Join(parts, "; ")
}

func (e *SchemaInvalidError) Unwrap() error {
	return &fault.Error{Kind: fault.Invalid, Code: CodeInvalidSchema, Field: "text",
		Detail: fmt.Sprintf("the schema extension has %d problem(s); see errors", len(e.Problems))}
}

// Built-in entity types an extension may add attributes to, and whether
// they are principals: Tollgate builds principals from its own data, which
// holds no extra attributes, so theirs must be optional.
var extensible = map[cedar.EntityType]bool{
	typeChannel: false, typeTool: false, typeUser: true, typeAgent: true, typeService: true,
}

// principalTypes are the principal types an action may apply to.
var principalTypes = []cedar.EntityType{typeUser, typeAgent, typeService}

// ownTypeName is the form of an entity type an extension declares: it is
// also the type's name in the API, so it cannot be mistaken for a built-in
// one (which are lower case).
var ownTypeName = regexp.MustCompile(`^[A-Z][A-Za-z0-9_]{0,63}$`)

// ownActionName is the form of an action an extension declares.
var ownActionName = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)

// extension is one fragment being checked against the schema it extends.
type extension struct {
	file     string
	text     []byte
	problems []Problem
	attrs    int
}

func (x *extension) problem(at int, format string, args ...any) {
	line, col := lineCol(x.text, at)
	x.problems = append(x.problems, Problem{Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
}

// Extend checks text, a Cedar schema fragment, as an extension of s and
// returns the extended schema. An extension only adds: entity types of its
// own (registrable like channels and tools), attributes of Channel, Tool,
// User, Agent and Service, actions of its own, context attributes of any
// action, and common types. Errors are a *SchemaInvalidError listing every
// problem, with its position in text.
func (s *Schema) Extend(file string, text []byte) (*Schema, error) {
	if len(strings.TrimSpace(string(text))) == 0 {
		return s, nil
	}
	if len(text) > MaxSchemaTextBytes {
		return nil, &SchemaInvalidError{Problems: []Problem{{Message: fmt.Sprintf("the schema extension is over %d bytes", MaxSchemaTextBytes)}}}
	}
	if p, ok := checkSchemaNesting(text); !ok {
		return nil, &SchemaInvalidError{Problems: []Problem{p}}
	}
	var sc schema.Schema
	sc.SetFilename(file)
	if err := sc.UnmarshalCedar(text); err != nil {
		return nil, &SchemaInvalidError{Problems: []Problem{schemaSyntaxProblem(err)}}
	}
	frag := sc.AST()
	if len(frag.Entities)+len(frag.Enums)+len(frag.Actions)+len(frag.CommonTypes)+len(frag.Namespaces) == 0 {
		return s, nil // comments alone
	}
	x := &extension{file: file, text: text}
	merged, own := x.merge(s, frag)
	if len(x.problems) > 0 {
		return nil, &SchemaInvalidError{Problems: x.problems}
	}
	out, err := newSchema(merged, own)
	if err != nil {
		return nil, &SchemaInvalidError{Problems: []Problem{{Message: err.Error()}}}
	}
	x.checkEntityAttrs(out, frag)
	if len(x.problems) > 0 {
		return nil, &SchemaInvalidError{Problems: x.problems}
	}
	return out, nil
}

// merge adds frag to a copy of base's AST, recording a problem for each
// thing it may not do.
func (x *extension) merge(base *Schema, frag *ast.Schema) (*ast.Schema, map[cedar.EntityType]bool) {
	if len(frag.Namespaces) > 0 {
		x.problem(x.find(`\bnamespace\b`, 0), "an extension declares no namespaces: its types live beside the built-in ones")
	}
	for name := range frag.Enums {
		x.problem(x.decl("entity", string(name)), "entity %s: enumerated entity types are not supported in extensions", name)
	}
	if n := len(frag.Entities) + len(frag.CommonTypes); n > MaxSchemaTypes {
		x.problem(0, "an extension declares or extends at most %d types; this one %d", MaxSchemaTypes, n)
	}
	if len(frag.Actions) > MaxSchemaActions {
		x.problem(0, "an extension declares or extends at most %d actions; this one %d", MaxSchemaActions, len(frag.Actions))
	}
	out := &ast.Schema{
		Entities:    maps.Clone(base.ast.Entities),
		Actions:     maps.Clone(base.ast.Actions),
		CommonTypes: maps.Clone(base.ast.CommonTypes),
	}
	if out.CommonTypes == nil {
		out.CommonTypes = ast.CommonTypes{}
	}
	own := maps.Clone(base.own)
	if own == nil {
		own = map[cedar.EntityType]bool{}
	}
	for _, name := range sortedKeys(frag.CommonTypes) {
		if _, ok := out.CommonTypes[name]; ok {
			x.problem(x.decl("type", string(name)), "type %s is already declared; an extension may not redefine it", name)
			continue
		}
		if _, ok := out.Entities[name]; ok {
			x.problem(x.decl("type", string(name)), "type %s has the name of an entity type", name)
			continue
		}
		out.CommonTypes[name] = frag.CommonTypes[name]
	}
	// Own types first: attributes and actions may name them.
	for _, name := range sortedKeys(frag.Entities) {
		if _, ok := base.ast.Entities[name]; ok {
			continue
		}
		x.addEntity(out, own, name, frag.Entities[name])
	}
	for _, name := range sortedKeys(frag.Entities) {
		if _, ok := base.ast.Entities[name]; ok {
			x.extendEntity(base, out, name, frag.Entities[name])
		}
	}
	for _, name := range sortedKeys(frag.Actions) {
		x.action(base, out, own, name, frag.Actions[name])
	}
	if x.attrs > MaxSchemaAttributes {
		x.problem(0, "an extension adds at most %d attributes (nested ones included); this one %d", MaxSchemaAttributes, x.attrs)
	}
	return out, own
}

// addEntity declares an entity type of the extension's own.
func (x *extension) addEntity(out *ast.Schema, own map[cedar.EntityType]bool, name ast.Ident, e ast.Entity) {
	at := x.decl("entity", string(name))
	t := cedar.EntityType(name)
	switch {
	case !ownTypeName.MatchString(string(name)):
		x.problem(at, "entity %s: an extension's own entity types are named like Invoice: a capital letter, then up to 63 letters, digits or _", name)
		return
	case KnownResourceType(strings.ToLower(string(name))) || t == typeAction || t == typeRole:
		x.problem(at, "entity %s: the name is Tollgate's", name)
		return
	case e.Tags != nil:
		x.problem(at, "entity %s: tags are not supported", name)
		return
	}
	parents := []ast.EntityTypeRef{ast.EntityTypeRef(typeTenant)}
	for _, p := range e.ParentTypes {
		switch cedar.EntityType(p) {
		case typeTenant:
		case t:
			parents = append(parents, p)
		default:
			x.problem(at, "entity %s: its parents may be of its own type only (and the tenant, which every resource is in), not %s", name, p)
		}
	}
	x.attrs += countAttrs(e.Shape, 0)
	out.Entities[name] = ast.Entity{Annotations: e.Annotations, ParentTypes: parents, Shape: e.Shape}
	own[t] = true
}

// extendEntity adds attributes to an existing entity type.
func (x *extension) extendEntity(base *Schema, out *ast.Schema, name ast.Ident, e ast.Entity) {
	at := x.decl("entity", string(name))
	t := cedar.EntityType(name)
	principal, builtin := extensible[t]
	if !builtin && !base.own[t] {
		x.problem(at, "entity %s is Tollgate's and cannot be extended; Channel, Tool, User, Agent, Service and types of an extension can", name)
		return
	}
	if len(e.ParentTypes) > 0 {
		x.problem(at, "entity %s: an extension adds attributes to an existing type, not parents", name)
	}
	if e.Tags != nil {
		x.problem(at, "entity %s: tags are not supported", name)
	}
	if len(e.Shape) == 0 {
		return
	}
	cur := out.Entities[name]
	shape := maps.Clone(cur.Shape)
	if shape == nil {
		shape = ast.RecordType{}
	}
	for _, attr := range sortedKeys(e.Shape) {
		a := e.Shape[attr]
		if _, ok := shape[attr]; ok {
			x.problem(x.attr(at, string(attr)), "%s.%s is already declared; an extension may not redefine it", name, attr)
			continue
		}
		if principal && !a.Optional {
			x.problem(x.attr(at, string(attr)), "%s.%s: attributes of principals must be optional (%s?: …): Tollgate builds principals from its own data", name, attr, attr)
			continue
		}
		x.attrs += 1 + nestedAttrs(a.Type, 1)
		shape[attr] = a
	}
	cur.Shape = shape
	out.Entities[name] = cur
}

// action extends an existing action's context, or declares an action.
func (x *extension) action(base *Schema, out *ast.Schema, own map[cedar.EntityType]bool, name types.String, a ast.Action) {
	at := x.decl("action", string(name))
	if len(a.Parents) > 0 {
		x.problem(at, "action %s: an extension's actions are in no action groups", name)
		return
	}
	if a.AppliesTo == nil {
		x.problem(at, "action %s: an extension's action says what it applies to", name)
		return
	}
	ctx, ok := a.AppliesTo.Context.(ast.RecordType)
	if !ok && a.AppliesTo.Context != nil {
		x.problem(at, "action %s: write the context attributes as a record, context: { … }", name)
		return
	}
	principals := refTypes(a.AppliesTo.Principals)
	resources := refTypes(a.AppliesTo.Resources)
	cur, exists := out.Actions[name]
	if exists {
		want := base.resolved.Actions[cedar.NewEntityUID(typeAction, name)].AppliesTo
		if want == nil || !sameTypes(principals, want.Principals) || !sameTypes(resources, want.Resources) {
			x.problem(at, "action %s is Tollgate's: an extension adds context attributes to it and keeps its principal and resource types as they are", name)
			return
		}
	} else {
		if !ownActionName.MatchString(string(name)) {
			x.problem(at, "action %s: an extension's actions are named like APPROVE_INVOICE: a capital letter, then up to 63 capitals, digits or _", name)
			return
		}
		for _, p := range principals {
			if !slices.Contains(principalTypes, p) {
				x.problem(at, "action %s: principals are User, Agent or Service, not %s", name, p)
				return
			}
		}
		for _, r := range resources {
			if r != typeChannel && r != typeTool && !own[r] {
				x.problem(at, "action %s: an extension's actions apply to channels, tools or its own types, not %s", name, r)
				return
			}
		}
		cur = ast.Action{Annotations: a.Annotations, AppliesTo: &ast.AppliesTo{
			Principals: a.AppliesTo.Principals, Resources: a.AppliesTo.Resources, Context: ast.TypeRef("Context"),
		}}
	}
	merged := x.contextOf(out, cur)
	for _, attr := range sortedKeys(ctx) {
		if _, ok := merged[attr]; ok {
			x.problem(x.attr(at, string(attr)), "context.%s of %s is already declared; an extension may not redefine it", attr, name)
			continue
		}
		x.attrs += 1 + nestedAttrs(ctx[attr].Type, 1)
		merged[attr] = ctx[attr]
	}
	applies := *cur.AppliesTo
	applies.Context = merged
	cur.AppliesTo = &applies
	out.Actions[name] = cur
}

// contextOf returns a copy of an action's context record in out: the
// built-in actions' is the common type Context, an extended one's a record.
func (x *extension) contextOf(out *ast.Schema, a ast.Action) ast.RecordType {
	switch c := a.AppliesTo.Context.(type) {
	case ast.RecordType:
		return maps.Clone(c)
	case ast.TypeRef:
		if rec, ok := out.CommonTypes[ast.Ident(c)].Type.(ast.RecordType); ok {
			return maps.Clone(rec)
		}
	}
	return ast.RecordType{}
}

// checkEntityAttrs refuses attributes of entity types that a registered
// resource's JSON cannot express: extension values (ipaddr, datetime, …)
// and entity references. A request's context can hold them.
func (x *extension) checkEntityAttrs(out *Schema, frag *ast.Schema) {
	for _, name := range sortedKeys(frag.Entities) {
		t := cedar.EntityType(name)
		if !out.own[t] && !extensible[t] {
			continue
		}
		at := x.decl("entity", string(name))
		for _, attr := range sortedKeys(frag.Entities[name].Shape) {
			if why := notJSON(out.resolved.Entities[t].Shape[attr].Type); why != "" {
				x.problem(x.attr(at, string(attr)), "%s.%s: an entity's attributes hold strings, numbers, booleans, sets and records; not %s", name, attr, why)
			}
		}
	}
}

// notJSON names what in t a resource's JSON attributes cannot hold, or "".
func notJSON(t resolved.IsType) string {
	switch v := t.(type) {
	case resolved.ExtensionType:
		return string(v)
	case resolved.EntityType:
		return "entity references"
	case resolved.SetType:
		return notJSON(v.Element)
	case resolved.RecordType:
		for _, k := range sortedKeys(v) {
			if why := notJSON(v[k].Type); why != "" {
				return why
			}
		}
	}
	return ""
}

// countAttrs counts a record's attributes, nested ones included.
func countAttrs(r ast.RecordType, depth int) int {
	n := 0
	for _, a := range r {
		n += 1 + nestedAttrs(a.Type, depth+1)
	}
	return n
}

func nestedAttrs(t ast.IsType, depth int) int {
	switch v := t.(type) {
	case ast.RecordType:
		return countAttrs(v, depth)
	case ast.SetType:
		return nestedAttrs(v.Element, depth)
	}
	return 0
}

func refTypes(refs []ast.EntityTypeRef) []cedar.EntityType {
	out := make([]cedar.EntityType, len(refs))
	for i, r := range refs {
		out[i] = cedar.EntityType(r)
	}
	return out
}

func sameTypes(a, b []cedar.EntityType) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	out := slices.Collect(maps.Keys(m))
	slices.Sort(out)
	return out
}

// The schema AST holds no positions: a problem about a declaration is
// placed where the text declares it, found again by these searches. They
// may land on a comment that spells the same words; the message names the
// declaration either way.

// find returns the offset of the first match of pattern at or after from,
// or from.
func (x *extension) find(pattern string, from int) int {
	re, err := regexp.Compile(pattern)
	if err != nil || from > len(x.text) {
		return from
	}
	if loc := re.FindIndex(x.text[from:]); loc != nil {
		return from + loc[0]
	}
	return from
}

// decl finds the declaration of name after keyword (entity, action, type).
func (x *extension) decl(keyword, name string) int {
	q := regexp.QuoteMeta(name)
	re := regexp.MustCompile(`\b` + keyword + `\b[^;{=]*?(?:\b` + q + `\b|"` + q + `")`)
	if loc := re.FindIndex(x.text); loc != nil {
		end := loc[1] - len(name)
		if x.text[loc[1]-1] == '"' {
			end--
		}
		return end
	}
	return 0
}

// attr finds attribute name's declaration after the offset from.
func (x *extension) attr(from int, name string) int {
	q := regexp.QuoteMeta(name)
	return x.find(`(?:\b`+q+`\b|"`+q+`")\s*\??\s*:`, from)
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(text []byte, off int) (int, int) {
	off = min(max(off, 0), len(text))
	line := 1 + strings.Count(string(text[:off]), "\n")
	col := off - strings.LastIndexByte(string(text[:off]), '\n')
	return line, col
}

// schemaPos finds the "<file>:line:col: " the schema parser starts its
// errors with.
var schemaPos = regexp.MustCompile(`:(\d+):(\d+): `)

func schemaSyntaxProblem(err error) Problem {
	msg := err.Error()
	p := Problem{Message: "syntax error: " + msg}
	if m := schemaPos.FindStringSubmatchIndex(msg); m != nil {
		_, _ = fmt.Sscan(msg[m[2]:m[3]], &p.Line)
		_, _ = fmt.Sscan(msg[m[4]:m[5]], &p.Column)
		p.Message = "syntax error: " + msg[m[1]:]
	}
	return p
}

// checkSchemaNesting refuses brackets ({, <, [) nested deeper than
// MaxSchemaNesting, skipping comments and strings. It reads the lexical
// structure only; the parser judges the rest.
func checkSchemaNesting(text []byte) (Problem, bool) {
	depth := 0
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '/' && i+1 < len(text) && text[i+1] == '/':
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == '"':
			for i++; i < len(text) && text[i] != '"' && text[i] != '\n'; i++ {
				if text[i] == '\\' {
					i++
				}
			}
		case c == '{' || c == '<' || c == '[':
			if depth++; depth > MaxSchemaNesting {
				line, col := lineCol(text, i)
				return Problem{Line: line, Column: col, Message: fmt.Sprintf("brackets nest deeper than %d levels", MaxSchemaNesting)}, false
			}
		case c == '}' || c == '>' || c == ']':
			depth = max(depth-1, 0)
		}
	}
	return Problem{}, true
}
