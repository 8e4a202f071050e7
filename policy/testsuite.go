package policy

// Policy test suites: tenant data, the tenant's own policies and requests
// with the decisions they must get, in a YAML or JSON file, run offline
// against the defaults and the schema shipped in this binary. Teams keep
// them next to their policies and run them in CI (tollgate policy test).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

// Suite is one test-suite file. Its YAML (.yaml, .yml) or JSON (.json)
// form:
//
//	tenant:
//	  id: "7"
//	  active: true               # default true; false: suspended
//	  roles: [moderator]         # custom role names
//	  members:
//	    - {actor_id: "user:93", roles: [member], active: true}  # active defaults to true
//	  agents:
//	    - {actor_id: "agent:a1", owner: "user:93"}
//	  resources:
//	    - type: channel
//	      id: general
//	      parents: [{type: channel, id: lobby}]
//	      attrs: {members: ["user:93"]}
//	schema: |                               # optional: the tenant's schema extension
//	  action SEND_MESSAGE appliesTo { principal: [User, Agent, Service],
//	    resource: [Channel, Tool], context: { quiet?: Bool } };
//	policy_files: [policies/tenant.cedar]  # relative to this file
//	policies: |                             # and/or inline; appended after the files
//	  @id("no_agents")
//	  forbid (principal is Agent, action, resource);
//	cases:
//	  - name: member sends to their channel
//	    principal: "user:93"
//	    action: SEND_MESSAGE
//	    resource: {type: channel, id: general}
//	    on_behalf_of: "user:93"     # optional
//	    context: {ip: 10.0.0.1}     # optional
//	    entities: []                # optional extra resources, as in tenant.resources
//	    quota: {over: [tool_runs]}  # optional: the tenant has quotas, standing so
//	    decision: permit            # permit or deny
//	    reasons: [channel_member]   # optional; when given, must equal exactly
//
// Unknown keys are errors, so that a misspelt expectation is not silently
// ignored.
type Suite struct {
	// File is the path the suite was read from.
	File   string      `json:"-" yaml:"-"`
	Tenant SuiteTenant `json:"tenant" yaml:"tenant"`
	// Schema is the tenant's schema extension (docs/policy.md), which
	// its resources, policies and cases' contexts are checked against.
	Schema      string      `json:"schema" yaml:"schema"`
	Policies    string      `json:"policies" yaml:"policies"`
	PolicyFiles []string    `json:"policy_files" yaml:"policy_files"`
	Cases       []SuiteCase `json:"cases" yaml:"cases"`

	// policiesAt places inline policies in the file (YAML block scalars).
	policiesAt *textPos
}

// SuiteTenant is the tenant a suite's cases are decided in.
type SuiteTenant struct {
	ID string `json:"id" yaml:"id"`
	// Active defaults to true; false is a suspended tenant.
	Active    *bool           `json:"active" yaml:"active"`
	Roles     []string        `json:"roles" yaml:"roles"`
	Members   []SuiteMember   `json:"members" yaml:"members"`
	Agents    []SuiteAgent    `json:"agents" yaml:"agents"`
	Resources []SuiteResource `json:"resources" yaml:"resources"`
}

// SuiteMember is a member of the tenant.
type SuiteMember struct {
	ActorID string   `json:"actor_id" yaml:"actor_id"`
	Roles   []string `json:"roles" yaml:"roles"`
	// Active defaults to true; false is a disabled actor.
	Active *bool `json:"active" yaml:"active"`
}

// SuiteAgent is an agent of the tenant.
type SuiteAgent struct {
	ActorID string `json:"actor_id" yaml:"actor_id"`
	Owner   string `json:"owner" yaml:"owner"`
	// Active defaults to true.
	Active *bool `json:"active" yaml:"active"`
}

// SuiteRef names a resource.
type SuiteRef struct {
	Type string `json:"type" yaml:"type"`
	ID   string `json:"id" yaml:"id"`
}

// SuiteResource is a registered resource, or a request's extra entity.
type SuiteResource struct {
	Type    string         `json:"type" yaml:"type"`
	ID      string         `json:"id" yaml:"id"`
	Parents []SuiteRef     `json:"parents" yaml:"parents"`
	Attrs   map[string]any `json:"attrs" yaml:"attrs"`
}

// SuiteCase is one request and the decision it must get.
type SuiteCase struct {
	Name       string          `json:"name" yaml:"name"`
	Principal  string          `json:"principal" yaml:"principal"`
	Action     string          `json:"action" yaml:"action"`
	Resource   SuiteRef        `json:"resource" yaml:"resource"`
	OnBehalfOf string          `json:"on_behalf_of" yaml:"on_behalf_of"`
	Context    map[string]any  `json:"context" yaml:"context"`
	Entities   []SuiteResource `json:"entities" yaml:"entities"`
	// Quota, when set, makes the tenant one with quotas whose consumption
	// stands so (context.quota).
	Quota *SuiteQuota `json:"quota" yaml:"quota"`
	// Decision is "permit" or "deny".
	Decision string `json:"decision" yaml:"decision"`
	// Reasons, when given, must equal the decision's reasons exactly, in
	// order.
	Reasons []string `json:"reasons" yaml:"reasons"`

	// Line is where the case starts in its file (0 when unknown: JSON).
	Line int `json:"-" yaml:"-"`
}

// SuiteQuota is a case's context.quota: the meters at or over their limit
// and those at or over 80 % of it.
type SuiteQuota struct {
	Over []string `json:"over" yaml:"over"`
	Near []string `json:"near" yaml:"near"`
}

// caseQuota answers the quota state of the case being run, for that
// decision alone: the next case may set another.
type caseQuota struct{ state *QuotaState }

func (q *caseQuota) TenantQuotas(context.Context, string, time.Time) (*TenantQuotas, error) {
	return NewTenantQuotas(q.state, nil, time.Time{}), nil
}

// CaseResult is the outcome of one case.
type CaseResult struct {
	Name string
	// Line is where the case starts in the suite file (0 when unknown).
	Line int
	Pass bool
	// WantDecision and WantReasons are the expectation; WantReasons is
	// nil when the case does not check reasons.
	WantDecision string
	WantReasons  []string
	Got          Decision
}

// Mismatch describes what was got and what was wanted:
// "got deny [default_deny], want permit [channel_member]".
func (r CaseResult) Mismatch() string {
	want := r.WantDecision
	if r.WantReasons != nil {
		want += " [" + strings.Join(r.WantReasons, ", ") + "]"
	}
	return fmt.Sprintf("got %s [%s], want %s", r.Got.Decision, strings.Join(r.Got.Reasons, ", "), want)
}

// SuiteResult is the outcome of one suite file.
type SuiteResult struct {
	File  string
	Cases []CaseResult
}

// Failed counts the cases that failed.
func (r SuiteResult) Failed() int {
	n := 0
	for _, c := range r.Cases {
		if !c.Pass {
			n++
		}
	}
	return n
}

// Passed reports whether every case passed.
func (r SuiteResult) Passed() bool { return r.Failed() == 0 }

// suiteCompiler is shared by every suite a process runs: the schema and
// the defaults are the binary's own.
var suiteCompiler = sync.OnceValues(NewCompiler)

// IsSuiteFile reports whether name has a suite file's extension.
func IsSuiteFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// SuiteFiles lists the suite files (*.yaml, *.yml, *.json) directly in
// dir, sorted.
func SuiteFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && IsSuiteFile(e.Name()) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// RunDir runs every suite file directly in dir, in name order. It returns
// the results of the well-formed files and, when a file is malformed or
// dir holds none, an error naming each problem.
func RunDir(dir string) ([]SuiteResult, error) {
	files, err := SuiteFiles(dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no suite files (*.yaml, *.yml, *.json)", dir)
	}
	var results []SuiteResult
	var errs []error
	for _, f := range files {
		r, err := RunSuite(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		results = append(results, r)
	}
	return results, errors.Join(errs...)
}

// RunSuite loads the suite in path and runs its cases against the
// binary's own schema and defaults. An error means the file is malformed
// (its messages are "path:line: …" where the position is known); failing
// cases are not an error.
func RunSuite(path string) (SuiteResult, error) {
	c, err := suiteCompiler()
	if err != nil {
		return SuiteResult{}, err
	}
	return c.RunSuite(path)
}

// RunSuite is the package's RunSuite under c's schema: an installation's
// extension (LoadCompiler) included.
func (c *Compiler) RunSuite(path string) (SuiteResult, error) {
	s, err := LoadSuite(path)
	if err != nil {
		return SuiteResult{}, err
	}
	return s.Run(context.Background(), c)
}

// LoadSuite reads and decodes a suite file, checking its shape.
func LoadSuite(path string) (*Suite, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := &Suite{File: path}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		err = s.decodeYAML(b)
	case ".json":
		err = s.decodeJSON(b)
	default:
		err = fmt.Errorf("%s: a suite file is .yaml, .yml or .json", path)
	}
	if err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return s, nil
}

// yamlLine finds the "line N: " yaml.v3 puts in its messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func (s *Suite) decodeYAML(b []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(s); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: the file is empty", s.File)
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			errs := make([]error, len(te.Errors))
			for i, e := range te.Errors {
				errs[i] = s.yamlError(e)
			}
			return errors.Join(errs...)
		}
		return s.yamlError(err.Error())
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			return s.yamlError(err.Error())
		}
		return fmt.Errorf("%s:%d: a suite file holds one YAML document", s.File, line)
	}
	s.yamlPositions(b)
	for i := range s.Cases {
		if err := normalizeAttrs(s.Cases[i].Context); err != nil {
			return s.at(s.Cases[i].Line, "%s: context%s", s.caseLabel(i), err)
		}
		for j := range s.Cases[i].Entities {
			if err := normalizeAttrs(s.Cases[i].Entities[j].Attrs); err != nil {
				return s.at(s.Cases[i].Line, "%s: entities[%d].attrs%s", s.caseLabel(i), j, err)
			}
		}
	}
	for i := range s.Tenant.Resources {
		if err := normalizeAttrs(s.Tenant.Resources[i].Attrs); err != nil {
			return s.at(0, "tenant.resources[%d].attrs%s", i, err)
		}
	}
	return nil
}

// yamlPositions records where each case starts and where inline policies
// are, for later messages.
func (s *Suite) yamlPositions(b []byte) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil || len(doc.Content) == 0 {
		return
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "cases":
			for j, c := range v.Content {
				if j < len(s.Cases) {
					s.Cases[j].Line = c.Line
				}
			}
		case "policies":
			if v.Style&yaml.LiteralStyle != 0 {
				s.policiesAt = &textPos{line: v.Line, column: blockIndent(b, v.Line)}
			}
		}
	}
}

// yamlTypes names the suite's Go types in yaml.v3's messages as a suite
// file's author knows them.
var yamlTypes = strings.NewReplacer(
	"type policy.SuiteCase", "a case", "type policy.SuiteTenant", "tenant", "type policy.SuiteMember", "a member",
	"type policy.SuiteAgent", "an agent", "type policy.SuiteResource", "a resource", "type policy.SuiteRef", "a resource reference",
	"type policy.Suite", "the suite")

func (s *Suite) yamlError(msg string) error {
	msg = yamlTypes.Replace(msg)
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: %s", s.File, m[1], m[2])
	}
	return fmt.Errorf("%s: %s", s.File, strings.TrimPrefix(msg, "yaml: "))
}

// blockIndent is the indentation of the first non-blank line after line
// (1-based) in b: where a literal block scalar's text starts.
func blockIndent(b []byte, line int) int {
	lines := strings.Split(string(b), "\n")
	for i := line; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], "\r")
		if t := strings.TrimLeft(l, " "); t != "" {
			return len(l) - len(t)
		}
	}
	return 0
}

// normalizeAttrs turns YAML's decoded values into the JSON values toValue
// takes: integers become json.Number, maps with non-string keys are refused.
func normalizeAttrs(m map[string]any) error {
	for k, v := range m {
		nv, err := normalizeValue(v)
		if err != nil {
			return fmt.Errorf(".%s%w", k, err)
		}
		m[k] = nv
	}
	return nil
}

func normalizeValue(v any) (any, error) {
	switch x := v.(type) {
	case int:
		return json.Number(strconv.Itoa(x)), nil
	case int64:
		return json.Number(strconv.FormatInt(x, 10)), nil
	case uint64:
		if x > math.MaxInt64 {
			return nil, errors.New(": numbers must be within 64 bits (Cedar has only Long)")
		}
		return json.Number(strconv.FormatUint(x, 10)), nil
	case []any:
		for i, e := range x {
			ne, err := normalizeValue(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]%w", i, err)
			}
			x[i] = ne
		}
		return x, nil
	case map[string]any:
		return x, normalizeAttrs(x)
	case time.Time:
		return nil, errors.New(": YAML reads an unquoted date as a timestamp, not a string; quote it")
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf(": record keys must be strings, not %v", k)
			}
			out[ks] = e
		}
		return out, normalizeAttrs(out)
	}
	return v, nil
}

func (s *Suite) decodeJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(s); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return fmt.Errorf("%s: the file is empty", s.File)
		case errors.As(err, &se):
			return fmt.Errorf("%s:%s: %s", s.File, offsetPos(b, se.Offset), se.Error())
		case errors.As(err, &te):
			return fmt.Errorf("%s:%s: %s", s.File, offsetPos(b, te.Offset), strings.TrimPrefix(te.Error(), "json: "))
		case errors.Is(err, io.ErrUnexpectedEOF):
			return fmt.Errorf("%s: unexpected end of file", s.File)
		}
		return fmt.Errorf("%s: %s", s.File, strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		off := dec.InputOffset()
		for off < int64(len(b)) && strings.IndexByte(" \t\r\n", b[off]) >= 0 {
			off++
		}
		return fmt.Errorf("%s:%s: data after the suite's object", s.File, offsetPos(b, off+1))
	}
	return nil
}

// offsetPos turns the offset encoding/json reports (just after the byte
// it stopped at) into that byte's "line:column".
func offsetPos(b []byte, off int64) string {
	off = min(max(off, 1), int64(len(b)))
	before := b[:off-1]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return fmt.Sprintf("%d:%d", line, col)
}

// caseLabel names case i for messages: `case 3 "name"`.
func (s *Suite) caseLabel(i int) string {
	if s.Cases[i].Name != "" {
		return fmt.Sprintf("case %d %q", i+1, s.Cases[i].Name)
	}
	return fmt.Sprintf("case %d", i+1)
}

// at prefixes a message with the file and, when known, the line.
func (s *Suite) at(line int, format string, args ...any) error {
	if line > 0 {
		return fmt.Errorf("%s:%d: %s", s.File, line, fmt.Sprintf(format, args...))
	}
	return fmt.Errorf("%s: %s", s.File, fmt.Sprintf(format, args...))
}

// check refuses a suite whose shape is wrong.
func (s *Suite) check() error {
	var errs []error
	if s.Tenant.ID == "" {
		errs = append(errs, s.at(0, "tenant.id is required"))
	}
	if len(s.Cases) == 0 {
		errs = append(errs, s.at(0, "no cases"))
	}
	names := map[string]int{}
	for i, c := range s.Cases {
		switch {
		case c.Name == "":
			errs = append(errs, s.at(c.Line, "%s has no name", s.caseLabel(i)))
		case names[c.Name] > 0:
			errs = append(errs, s.at(c.Line, "%s: the name is also case %d's", s.caseLabel(i), names[c.Name]))
		default:
			names[c.Name] = i + 1
		}
		if c.Decision != Permit && c.Decision != Deny {
			errs = append(errs, s.at(c.Line, "%s: decision must be permit or deny, not %q", s.caseLabel(i), c.Decision))
		}
	}
	return errors.Join(errs...)
}

// textPos places a piece of policy text in a file: line is the line before
// its first line, column the indentation of every line.
type textPos struct {
	line, column int
}

// policyPiece is a part of a suite's policy text and where it came from.
type policyPiece struct {
	file  string
	text  string
	at    *textPos // nil: the piece is the whole file
	first int      // its first line in the combined text
}

// policyText reads the suite's policy files and inline policies and joins
// them in that order.
func (s *Suite) policyText() (string, []policyPiece, error) {
	var pieces []policyPiece
	dir := filepath.Dir(s.File)
	for _, f := range s.PolicyFiles {
		p := f
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, f)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return "", nil, fmt.Errorf("%s: policy_files: %w", s.File, err)
		}
		pieces = append(pieces, policyPiece{file: p, text: string(b)})
	}
	if strings.TrimSpace(s.Policies) != "" {
		pos := s.policiesAt
		if pos == nil {
			pos = &textPos{} // JSON or a quoted YAML string: positions are within the text
		}
		pieces = append(pieces, policyPiece{file: s.File, text: s.Policies, at: pos})
	}
	var b strings.Builder
	line := 1
	for i := range pieces {
		if i > 0 {
			b.WriteByte('\n')
			line++
		}
		pieces[i].first = line
		b.WriteString(pieces[i].text)
		line += strings.Count(pieces[i].text, "\n")
	}
	return b.String(), pieces, nil
}

// locate maps a problem in the combined policy text to its file.
func (s *Suite) locate(p Problem, pieces []policyPiece) error {
	if p.Line == 0 || len(pieces) == 0 {
		return errors.New(FormatProblem(s.File+": policies", p))
	}
	pc := pieces[0]
	for _, x := range pieces {
		if x.first <= p.Line {
			pc = x
		}
	}
	p.Line = p.Line - pc.first + 1
	switch {
	case pc.at == nil:
		return errors.New(FormatProblem(pc.file, p))
	case pc.at.line > 0:
		p.Line += pc.at.line
		p.Column += pc.at.column
		return errors.New(FormatProblem(pc.file, p))
	}
	// JSON, or a quoted YAML string: the position is within the text.
	return errors.New(FormatProblem(pc.file+": policies", p))
}

// embeddedPos is the position cedar-go's parser writes into its messages,
// relative to the text it was given.
var embeddedPos = regexp.MustCompile(`at [^ ]*?:\d+:\d+ `)

// FormatProblem formats a problem found in file the way compilers do:
// `file:line:col: policy "id": message` (line and column when known, the
// policy when the problem is in one).
func FormatProblem(file string, p Problem) string {
	var b strings.Builder
	b.WriteString(file)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.Line, p.Column)
	}
	b.WriteString(": ")
	if p.Policy != "" {
		fmt.Fprintf(&b, "policy %q: ", p.Policy)
	}
	b.WriteString(embeddedPos.ReplaceAllString(p.Message, "at "))
	return b.String()
}

// tenantData builds what the engine reads, checking the tenant's resources
// and policies as the store would when they were written.
func (s *Suite) tenantData(c *Compiler) (TenantData, error) {
	active := func(b *bool) bool { return b == nil || *b }
	t := s.Tenant
	td := TenantData{TenantID: t.ID, Active: active(t.Active), Roles: t.Roles}
	for _, m := range t.Members {
		td.Members = append(td.Members, Member{ActorID: m.ActorID, Roles: m.Roles, Active: active(m.Active)})
	}
	for _, a := range t.Agents {
		td.Agents = append(td.Agents, AgentInfo{ActorID: a.ActorID, OwnerID: a.Owner, Active: active(a.Active)})
	}
	sc, err := c.Extend(s.Schema)
	if err != nil {
		var inv *SchemaInvalidError
		if !errors.As(err, &inv) {
			return TenantData{}, fmt.Errorf("%s: schema: %w", s.File, err)
		}
		errs := make([]error, len(inv.Problems))
		for i, p := range inv.Problems {
			errs[i] = s.at(0, "schema: %s", p)
		}
		return TenantData{}, errors.Join(errs...)
	}
	if strings.TrimSpace(s.Schema) != "" {
		td.Schema = SchemaVersion{TenantID: t.ID, Version: 1, Text: s.Schema}
	}
	var errs []error
	seen := map[SuiteRef]bool{}
	for i, r := range t.Resources {
		res := r.resource(t.ID)
		ref := SuiteRef{r.Type, r.ID}
		if seen[ref] {
			errs = append(errs, s.at(0, "tenant.resources[%d]: %s %q is listed twice", i, r.Type, r.ID))
		}
		seen[ref] = true
		if _, err := sc.ValidateResource(res); err != nil {
			errs = append(errs, s.at(0, "tenant.resources[%d] (%s %q): %s", i, r.Type, r.ID, describeFault(err)))
		}
		td.Resources = append(td.Resources, res)
	}
	text, pieces, err := s.policyText()
	if err != nil {
		return TenantData{}, err
	}
	if strings.TrimSpace(text) != "" {
		if _, err := c.CompileFor(sc, t.ID, text); err != nil {
			var inv *InvalidError
			if !errors.As(err, &inv) {
				return TenantData{}, fmt.Errorf("%s: policies: %w", s.File, err)
			}
			for _, p := range inv.Problems {
				errs = append(errs, s.locate(p, pieces))
			}
		}
		td.Policies = PolicySet{TenantID: t.ID, Version: 1, Text: text}
	}
	if len(errs) > 0 {
		return TenantData{}, errors.Join(errs...)
	}
	// Anything else the snapshot refuses.
	if _, err := c.build(td, time.Time{}); err != nil {
		return TenantData{}, s.at(0, "tenant: %s", describeFault(err))
	}
	return td, nil
}

func describeFault(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Detail != "" {
		if fe.Field != "" {
			return fe.Field + ": " + fe.Detail
		}
		return fe.Detail
	}
	return err.Error()
}

func (r SuiteResource) resource(tenantID string) Resource {
	res := Resource{TenantID: tenantID, Type: r.Type, ID: r.ID, Attrs: r.Attrs}
	for _, p := range r.Parents {
		res.Parents = append(res.Parents, ResourceRef(p))
	}
	return res
}

// fixedSource serves one tenant's data.
type fixedSource struct{ td TenantData }

func (f fixedSource) TenantData(_ context.Context, tenantID string) (TenantData, error) {
	if tenantID != f.td.TenantID {
		return TenantData{}, fault.NotFoundf(identity.CodeTenantNotFound, "tenant not found")
	}
	return f.td, nil
}

// Run decides every case of s with an engine over s's tenant alone.
func (s *Suite) Run(ctx context.Context, c *Compiler) (SuiteResult, error) {
	td, err := s.tenantData(c)
	if err != nil {
		return SuiteResult{}, err
	}
	quotas := &caseQuota{}
	e := NewEngine(EngineDeps{Source: fixedSource{td}, Compiler: c, Quotas: quotas}, EngineOptions{})
	res := SuiteResult{File: s.File, Cases: make([]CaseResult, 0, len(s.Cases))}
	for _, sc := range s.Cases {
		quotas.state = nil
		if sc.Quota != nil {
			quotas.state = NewQuotaState(sc.Quota.Over, sc.Quota.Near)
		}
		req := Request{Principal: sc.Principal, Action: sc.Action, Resource: ResourceRef(sc.Resource),
			OnBehalfOf: sc.OnBehalfOf, Context: sc.Context}
		for _, x := range sc.Entities {
			req.Entities = append(req.Entities, x.resource(td.TenantID))
		}
		d := e.Authorize(ctx, td.TenantID, req)
		pass := d.Decision == sc.Decision && (sc.Reasons == nil || slices.Equal(d.Reasons, sc.Reasons))
		res.Cases = append(res.Cases, CaseResult{Name: sc.Name, Line: sc.Line, Pass: pass,
			WantDecision: sc.Decision, WantReasons: sc.Reasons, Got: d})
	}
	return res, nil
}
