package policy

import (
	"embed"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strings"

	"github.com/cedar-policy/cedar-go"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema"

	"github.com/tollgate/tollgate/fault"
)

//go:embed schema.cedarschema
var schemaText []byte

//go:embed defaults/*.cedar
var defaultFiles embed.FS

// Limits on a tenant's own policies.
const (
	MaxPolicyTextBytes = 256 << 10
	MaxPolicies        = 500
	maxIDLen           = 128
)

// SchemaText returns the Cedar schema policies are validated against.
func SchemaText() []byte { return schemaText }

// DefaultFiles returns the shipped default policies by file name.
func DefaultFiles() map[string][]byte {
	out := map[string][]byte{}
	_ = fs.WalkDir(defaultFiles, "defaults", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out[path], _ = defaultFiles.ReadFile(path)
		}
		return nil
	})
	return out
}

// Problem is one thing wrong with a policy text, with its position.
type Problem struct {
	Policy  string `json:"policy,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "%d:%d: ", p.Line, p.Column)
	}
	if p.Policy != "" {
		fmt.Fprintf(&b, "policy %q: ", p.Policy)
	}
	b.WriteString(p.Message)
	return b.String()
}

// InvalidError is a policy text refused, with every problem found. It
// unwraps to an Invalid fault "invalid_policy".
type InvalidError struct {
	Problems []Problem
}

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "invalid policy: " + strings.Join(parts, "; ")
}

func (e *InvalidError) Unwrap() error {
	return &fault.Error{Kind: fault.Invalid, Code: CodeInvalidPolicy, Field: "policies",
		Detail: fmt.Sprintf("the policies have %d problem(s); see errors", len(e.Problems))}
}

// namedPolicy is a compiled policy under its @id.
type namedPolicy struct {
	id     cedar.PolicyID
	policy *cedar.Policy
	// orig is the scope as written when policy is an evaluation copy with
	// a wider action scope (see index.go).
	orig *xast.Policy
	// readsQuota: the policy may read context.quota (quotascope.go).
	readsQuota bool
}

// policyList is an ordered set of compiled policies; it implements
// cedar.PolicyIterator.
type policyList []namedPolicy

func (l policyList) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] {
	return func(yield func(cedar.PolicyID, *cedar.Policy) bool) {
		for _, p := range l {
			if !yield(p.id, p.policy) {
				return
			}
		}
	}
}

// both iterates the defaults, then a tenant's own policies, without
// copying either.
type both struct{ a, b policyList }

func (p both) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] {
	return func(yield func(cedar.PolicyID, *cedar.Policy) bool) {
		for _, l := range [2]policyList{p.a, p.b} {
			for _, np := range l {
				if !yield(np.id, np.policy) {
					return
				}
			}
		}
	}
}

// Compiler parses and validates policies against the schema.
type Compiler struct {
	// base is the built-in schema with the installation's extension: the
	// defaults' schema, and the one every tenant's extends.
	base     *Schema
	defaults policyList
	// defaultIndex is defaults by the scopes they may apply to.
	defaultIndex policyIndex
	// slots bounds the compilations running at once to the CPUs: each is
	// bounded (checkBounds), and this keeps many at once from taking the
	// whole machine, and their memory from adding up.
	slots chan struct{}
}

// NewCompiler loads the schema and compiles the default policies; an error
// here is a bug in the shipped files.
func NewCompiler() (*Compiler, error) { return NewInstallationCompiler("", nil) }

// LoadCompiler is NewInstallationCompiler with the extension read from the
// file at path (the policy_schema_extension setting); "" is none. It reads
// at most one byte past MaxSchemaTextBytes, enough to refuse a larger file.
func LoadCompiler(path string) (*Compiler, error) {
	if path == "" {
		return NewCompiler()
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy_schema_extension: %w", err)
	}
	defer f.Close()
	text, err := io.ReadAll(io.LimitReader(f, MaxSchemaTextBytes+1))
	if err != nil {
		return nil, fmt.Errorf("policy_schema_extension: %w", err)
	}
	return NewInstallationCompiler(path, text)
}

// NewInstallationCompiler is NewCompiler with the installation's schema
// extension, text read from file (named in its problems), under every
// tenant's own. Empty text is none.
func NewInstallationCompiler(file string, text []byte) (*Compiler, error) {
	var s schema.Schema
	s.SetFilename("schema.cedarschema")
	if err := s.UnmarshalCedar(schemaText); err != nil {
		return nil, fmt.Errorf("policy: parsing the schema: %w", err)
	}
	base, err := newSchema(s.AST(), nil)
	if err != nil {
		return nil, fmt.Errorf("policy: resolving the schema: %w", err)
	}
	if base, err = base.Extend(file, text); err != nil {
		return nil, fmt.Errorf("policy: the installation's schema extension %s: %w", file, err)
	}
	c := &Compiler{base: base, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
	files := DefaultFiles()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	seen := map[cedar.PolicyID]bool{}
	for _, n := range names {
		list, err := c.compile(c.base, n, files[n], seen, "")
		if err != nil {
			return nil, fmt.Errorf("policy: default policies: %w", err)
		}
		c.defaults = append(c.defaults, list...)
	}
	c.defaultIndex = c.base.index(c.defaults)
	return c, nil
}

// DefaultIDs lists the ids of the default policies, which a tenant's own
// policies cannot reuse.
func (c *Compiler) DefaultIDs() []string {
	out := make([]string, len(c.defaults))
	for i, p := range c.defaults {
		out[i] = string(p.id)
	}
	return out
}

// tenantRef finds entity literals of type Tenant in a policy's text.
var tenantRef = regexp.MustCompile(`\bTenant::"((?:[^"\\]|\\.)*)"`)

// Compile parses text as tenantID's own policies: every policy needs an
// @id, unique and not one of the defaults', and must validate against the
// schema; policies may name no Tenant but tenantID. Errors are an
// *InvalidError listing every problem.
func (c *Compiler) Compile(tenantID, text string) (policyList, error) {
	return c.CompileFor(c.base, tenantID, text)
}

// Extend checks a tenant's schema extension over the installation's and
// returns the tenant's schema (see Schema.Extend).
func (c *Compiler) Extend(text string) (*Schema, error) {
	return c.base.Extend("schema.cedarschema", []byte(text))
}

// CompileFor is Compile against s, a tenant's schema.
func (c *Compiler) CompileFor(s *Schema, tenantID, text string) (policyList, error) {
	if len(text) > MaxPolicyTextBytes {
		return nil, &InvalidError{Problems: []Problem{{Message: fmt.Sprintf("the policy text is over %d bytes", MaxPolicyTextBytes)}}}
	}
	c.slots <- struct{}{}
	defer func() { <-c.slots }()
	seen := map[cedar.PolicyID]bool{}
	for _, p := range c.defaults {
		seen[p.id] = true
	}
	return c.compile(s, "policies.cedar", []byte(text), seen, tenantID)
}

// Validate compiles text like Compile and discards the result.
func (c *Compiler) Validate(tenantID, text string) error {
	_, err := c.Compile(tenantID, text)
	return err
}

func (c *Compiler) compile(s *Schema, file string, text []byte, seen map[cedar.PolicyID]bool, tenantID string) (policyList, error) {
	if err := checkBounds(text); err != nil {
		return nil, err
	}
	list, err := cedar.NewPolicyListFromBytes(file, text)
	if err != nil {
		return nil, &InvalidError{Problems: []Problem{syntaxProblem(err)}}
	}
	if len(list) > MaxPolicies {
		return nil, &InvalidError{Problems: []Problem{{Message: fmt.Sprintf("at most %d policies", MaxPolicies)}}}
	}
	var problems []Problem
	out := make(policyList, 0, len(list))
	for i, p := range list {
		pos := p.Position()
		at := func(msg string, id string) Problem {
			return Problem{Policy: id, Line: pos.Line, Column: pos.Column, Message: msg}
		}
		id, ok := p.Annotations()["id"]
		switch {
		case !ok || id == "":
			problems = append(problems, at(fmt.Sprintf("policy %d has no @id(\"…\") annotation; the id is the decision's reason", i+1), ""))
			continue
		case len(id) > maxIDLen || !validPolicyID(string(id)):
			problems = append(problems, at(fmt.Sprintf("@id must be 1 to %d of a-z, A-Z, 0-9, _, - and .", maxIDLen), ""))
			continue
		case seen[cedar.PolicyID(id)]:
			problems = append(problems, at("@id is already used by another policy (or a default one)", string(id)))
			continue
		case isReservedReason(string(id)):
			problems = append(problems, at("@id is a reason Tollgate reserves", string(id)))
			continue
		}
		seen[cedar.PolicyID(id)] = true
		if err := s.validator.Policy(string(id), (*xast.Policy)(p.AST())); err != nil {
			for _, e := range flatten(err) {
				problems = append(problems, at(e.Error(), string(id)))
			}
			continue
		}
		if tenantID != "" {
			for _, m := range tenantRef.FindAllStringSubmatch(string(p.MarshalCedar()), -1) {
				if m[1] != tenantID {
					problems = append(problems, at(fmt.Sprintf("refers to Tenant::%q; a tenant's policies may name only their own tenant", m[1]), string(id)))
				}
			}
		}
		out = append(out, namedPolicy{id: cedar.PolicyID(id), policy: p, readsQuota: readsQuota((*xast.Policy)(p.AST()))})
	}
	if len(problems) > 0 {
		return nil, &InvalidError{Problems: problems}
	}
	return out, nil
}

// isReservedReason: a decision's reasons are policy ids or these, so a
// policy under one of them would pass for Tollgate's own verdict (and be
// counted under its reason class).
func isReservedReason(id string) bool {
	switch id {
	case ReasonDefaultDeny, ReasonEvaluationError, ReasonUnavailable, ReasonInvalidRequest, ReasonCredentialScope:
		return true
	}
	return false
}

func validPolicyID(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// flatten splits a joined error into its parts.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// parsePos finds the "<file>:line:col" cedar-go's parser puts in its
// errors ("parser error: parse error at <input>:1:44 …").
var parsePos = regexp.MustCompile(`at [^ ]*?:(\d+):(\d+)`)

func syntaxProblem(err error) Problem {
	msg := err.Error()
	var line, col int
	if m := parsePos.FindStringSubmatch(msg); m != nil {
		_, _ = fmt.Sscan(m[1], &line)
		_, _ = fmt.Sscan(m[2], &col)
	}
	return Problem{Line: line, Column: col, Message: "syntax error: " + strings.TrimPrefix(msg, "parser error: ")}
}
