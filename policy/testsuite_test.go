package policy_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/policy"
)

// TestShippedCases runs policy/testdata/cases, the suites `tollgate policy
// test` ships as examples, and checks that they exercise every default
// policy.
func TestShippedCases(t *testing.T) {
	results, err := policy.RunDir("testdata/cases")
	if err != nil {
		t.Fatal(err)
	}
	if len(results) < 9 {
		t.Fatalf("%d suites, want the 9 shipped", len(results))
	}
	covered := map[string]bool{}
	for _, r := range results {
		if len(r.Cases) == 0 {
			t.Errorf("%s: no cases", r.File)
		}
		for _, c := range r.Cases {
			if !c.Pass {
				t.Errorf("%s:%d: %s: %s (errors %v)", r.File, c.Line, c.Name, c.Mismatch(), c.Got.Errors)
			}
			for _, reason := range c.WantReasons {
				covered[reason] = true
			}
		}
	}
	c, err := policy.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range append(c.DefaultIDs(), policy.ReasonDefaultDeny, policy.ReasonEvaluationError, policy.ReasonInvalidRequest) {
		if !covered[id] {
			t.Errorf("no shipped case expects reason %q", id)
		}
	}
}

// writeSuite writes a suite file (and any other files) into a new
// directory and returns the suite's path.
func writeSuite(t *testing.T, name, text string, others ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i+1 < len(others); i += 2 {
		p := filepath.Join(dir, others[i])
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(others[i+1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const seedYAML = `tenant:
  id: "7"
  members:
    - {actor_id: "user:93", roles: [member]}
  resources:
    - {type: channel, id: general, attrs: {members: ["user:93"]}}
cases:
`

func TestWrongExpectationIsAFailure(t *testing.T) {
	p := writeSuite(t, "s.yaml", seedYAML+`
  - name: right
    principal: "user:93"
    action: READ
    resource: {type: channel, id: general}
    decision: permit
    reasons: [channel_member]
  - name: wrong decision
    principal: "user:93"
    action: MANAGE
    resource: {type: channel, id: general}
    decision: permit
  - name: wrong reasons
    principal: "user:93"
    action: READ
    resource: {type: channel, id: general}
    decision: permit
    reasons: [channel_admin]
  - name: reasons must match exactly
    principal: "user:93"
    action: READ
    resource: {type: channel, id: general}
    decision: permit
    reasons: [channel_member, channel_admin]
`)
	r, err := policy.RunSuite(p)
	if err != nil {
		t.Fatal(err)
	}
	if r.File != p || len(r.Cases) != 4 || r.Failed() != 3 || r.Passed() {
		t.Fatalf("result: %+v", r)
	}
	want := []struct {
		pass     bool
		line     int
		mismatch string
	}{
		{true, 9, "got permit [channel_member], want permit [channel_member]"},
		{false, 15, "got deny [default_deny], want permit"},
		{false, 20, "got permit [channel_member], want permit [channel_admin]"},
		{false, 26, "got permit [channel_member], want permit [channel_member, channel_admin]"},
	}
	for i, w := range want {
		c := r.Cases[i]
		if c.Pass != w.pass || c.Line != w.line || c.Mismatch() != w.mismatch {
			t.Errorf("case %d: pass %v line %d %q; want %v %d %q", i, c.Pass, c.Line, c.Mismatch(), w.pass, w.line, w.mismatch)
		}
	}
}

func TestMalformedSuites(t *testing.T) {
	for _, c := range []struct {
		name, file, text string
		others           []string
		want             []string
	}{
		{"empty", "s.yaml", "", nil, []string{"s.yaml: the file is empty"}},
		{"yaml syntax", "s.yaml", "tenant: {id: \"7\"}\ncases:\n  - name: x\n    decision: permit\n   bad: indent\n", nil, []string{"s.yaml:2: "}},
		{"unknown key", "s.yaml", seedYAML + "  - name: x\n    decision: permit\n    reason: [channel_member]\n", nil,
			[]string{"s.yaml:10: field reason not found in a case"}},
		{"wrong type", "s.yaml", seedYAML + "  - name: x\n    decision: [permit]\n", nil, []string{"s.yaml:9: cannot unmarshal !!seq into string"}},
		{"two documents", "s.yaml", seedYAML + "  - {name: x, decision: deny}\n---\ncases: []\n", nil, []string{"s.yaml:9: a suite file holds one YAML document"}},
		{"no tenant id, no cases", "s.yaml", "tenant: {}\n", nil, []string{"s.yaml: tenant.id is required", "s.yaml: no cases"}},
		{"bad decision and names", "s.yaml", seedYAML + "  - {name: x, decision: allow}\n  - {decision: deny}\n  - {name: x, decision: deny}\n", nil,
			[]string{`s.yaml:8: case 1 "x": decision must be permit or deny, not "allow"`, "s.yaml:9: case 2 has no name", `s.yaml:10: case 3 "x": the name is also case 1's`}},
		{"resource refused by the schema", "s.yaml", "tenant:\n  id: \"7\"\n  resources:\n    - {type: channel, id: c, attrs: {members: [1]}}\ncases: [{name: x, decision: deny}]\n", nil,
			[]string{`s.yaml: tenant.resources[0] (channel "c"): attrs: attribute "members": set element: expected String`}},
		{"duplicate resource", "s.yaml", "tenant:\n  id: \"7\"\n  resources:\n    - {type: tool, id: t}\n    - {type: tool, id: t}\ncases: [{name: x, decision: deny}]\n", nil,
			[]string{`s.yaml: tenant.resources[1]: tool "t" is listed twice`}},
		{"inline policy schema error", "s.yaml", "tenant: {id: \"7\"}\npolicies: |\n  @id(\"ok\")\n  permit (principal, action, resource);\n\n  @id(\"bad\")\n  permit (principal, action == Action::\"READ\", resource is Channel)\n  when { resource.nope };\ncases: [{name: x, decision: deny}]\n", nil,
			[]string{`s.yaml:6:3: policy "bad": `, "attribute `nope` on entity type `Channel` not found"}},
		{"inline policy syntax error", "s.yaml", "tenant: {id: \"7\"}\npolicies: |\n  @id(\"ok\")\n  permit (principal, action, resource)\n  when { 1 + };\ncases: [{name: x, decision: deny}]\n", nil,
			[]string{`s.yaml:5:15: syntax error: parse error at ";"`}},
		{"policy file problems", "s.yaml", "tenant: {id: \"7\"}\npolicy_files: [p/one.cedar, p/two.cedar]\ncases: [{name: x, decision: deny}]\n",
			[]string{"p/one.cedar", "@id(\"a\")\npermit (principal, action, resource);\n", "p/two.cedar", "\n@id(\"b\")\nforbid (principal, action, resource == Tenant::\"8\");\n@id(\"a\")\npermit (principal, action, resource);\n"},
			[]string{`p/two.cedar:2:1: policy "b": refers to Tenant::"8"`, `p/two.cedar:4:1: policy "a": @id is already used`}},
		{"missing policy file", "s.yaml", "tenant: {id: \"7\"}\npolicy_files: [nope.cedar]\ncases: [{name: x, decision: deny}]\n", nil,
			[]string{"s.yaml: policy_files: open ", "nope.cedar"}},
		{"default id reused", "s.yaml", "tenant: {id: \"7\"}\npolicies: |\n  @id(\"channel_member\")\n  permit (principal, action, resource);\ncases: [{name: x, decision: deny}]\n", nil,
			[]string{`s.yaml:3:3: policy "channel_member": @id is already used`}},
		{"json syntax", "s.json", "{\"tenant\": {\"id\": \"7\"},\n \"cases\": [{\"name\": \"x\", \"decision\": \"deny\",}]}\n", nil,
			[]string{"s.json:2:45: invalid character '}'"}},
		{"json unknown field", "s.json", `{"tenant": {"id": "7", "bogus": 1}, "cases": [{"name": "x", "decision": "deny"}]}`, nil,
			[]string{`s.json: unknown field "bogus"`}},
		{"json wrong type", "s.json", "{\"tenant\": {\"id\": \"7\"},\n\"cases\": [{\"name\": \"x\", \"decision\": 5}]}", nil,
			[]string{"s.json:2:37: cannot unmarshal number"}},
		{"json trailing data", "s.json", `{"tenant": {"id": "7"}, "cases": [{"name": "x", "decision": "deny"}]} {}`, nil,
			[]string{"s.json:1:71: data after the suite's object"}},
		{"json inline policy", "s.json", `{"tenant": {"id": "7"}, "policies": "@id(\"x\")\npermit (principal, action, resource) when { 1 + };", "cases": [{"name": "x", "decision": "deny"}]}`, nil,
			[]string{"s.json: policies:2:"}},
		{"extension", "s.txt", "", nil, []string{"s.txt: a suite file is .yaml, .yml or .json"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := writeSuite(t, c.file, c.text, c.others...)
			_, err := policy.RunSuite(p)
			if err == nil {
				t.Fatal("no error")
			}
			msg := strings.ReplaceAll(err.Error(), filepath.Dir(p)+string(filepath.Separator), "")
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

func TestRunDir(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"b.yml":      seedYAML + "  - {name: ok, principal: \"user:93\", action: READ, resource: {type: channel, id: general}, decision: permit}\n",
		"a.json":     `{"tenant": {"id": "7"}, "cases": [{"name": "outsider", "principal": "user:1", "action": "VIEW_TENANT", "resource": {"type": "tenant", "id": "7"}, "decision": "permit"}]}`,
		"c.yaml":     "tenant: {}\n",
		"notes.txt":  "not a suite",
		"p.cedar":    "@id(\"x\") permit (principal, action, resource);",
		"sub/d.yaml": "not: read",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	results, err := policy.RunDir(dir)
	if err == nil || !strings.Contains(err.Error(), "c.yaml: tenant.id is required") || strings.Contains(err.Error(), "d.yaml") {
		t.Fatalf("err = %v", err)
	}
	var files []string
	for _, r := range results {
		files = append(files, filepath.Base(r.File))
	}
	if !slices.Equal(files, []string{"a.json", "b.yml"}) || results[0].Passed() || !results[1].Passed() {
		t.Fatalf("results: %+v", results)
	}
	if _, err := policy.RunDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no suite files") {
		t.Fatalf("empty dir: %v", err)
	}
	if _, err := policy.RunDir(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing dir: no error")
	}
}

// TestYAMLValues: a numeric tenant id is a string; YAML's integers reach
// the schema check as numbers (refused there, not as an unsupported value);
// an unquoted date, which YAML reads as a timestamp, is refused plainly.
func TestYAMLValues(t *testing.T) {
	p := writeSuite(t, "s.yaml", "tenant:\n  id: 7\n  resources:\n    - {type: tool, id: t, attrs: {roles: [\"2024-01-01\", member]}}\n"+
		"  members: [{actor_id: \"user:1\", roles: [member]}]\n"+
		"cases:\n  - {name: x, principal: \"user:1\", action: EXECUTE_TOOL, resource: {type: tool, id: t}, decision: permit, reasons: [tool_role]}\n")
	r, err := policy.RunSuite(p)
	if err != nil || !r.Passed() {
		t.Fatalf("%v %+v", err, r)
	}
	p = writeSuite(t, "s.yaml", "tenant:\n  id: \"7\"\n  resources:\n    - {type: tool, id: t, attrs: {roles: [2024-01-01]}}\ncases: [{name: x, decision: deny}]\n")
	if _, err := policy.RunSuite(p); err == nil || !strings.Contains(err.Error(), "tenant.resources[0].attrs.roles[0]: YAML reads an unquoted date") {
		t.Fatalf("err = %v", err)
	}
	p = writeSuite(t, "s.yaml", "tenant:\n  id: \"7\"\n  resources:\n    - {type: tool, id: t, attrs: {roles: [member], level: 3}}\ncases: [{name: x, decision: deny}]\n")
	if _, err := policy.RunSuite(p); err == nil || strings.Contains(err.Error(), "unsupported") || !strings.Contains(err.Error(), "level") {
		t.Fatalf("err = %v", err)
	}
}

// TestSuiteSchemaRefused reports a suite's invalid schema extension with
// the problem's position in it.
func TestSuiteSchemaRefused(t *testing.T) {
	path := writeSuite(t, "s.yaml", `tenant: {id: "7"}
schema: |
  entity Channel = {
    members?: Long,
  };
cases:
  - {name: x, principal: "user:1", action: READ, resource: {type: channel, id: c}, decision: deny}
`)
	_, err := policy.RunSuite(path)
	if err == nil || !strings.Contains(err.Error(), "schema: 2:") || !strings.Contains(err.Error(), "Channel.members is already declared") {
		t.Fatalf("err = %v, want the schema's problem at its line 2", err)
	}
}
