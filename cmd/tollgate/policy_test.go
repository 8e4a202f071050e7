package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/policy"
)

// exitCode is the status main exits with for err.
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	return 1
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const shippedCases = "../../policy/testdata/cases"

func TestPolicyValidate(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.cedar", `@id("mods_manage")
permit (principal is User, action == Action::"MANAGE", resource == Channel::"mods")
when { principal.roles.contains("moderator") };
`)
	syntax := writeFile(t, dir, "syntax.cedar", `@id("broken")
permit (principal, action, resource)
when { 1 + };
`)
	schema := writeFile(t, dir, "schema.cedar", `@id("fine")
permit (principal, action == Action::"READ", resource is Channel);

@id("typo")
permit (principal, action == Action::"READ", resource is Channel)
when { resource.member.contains(principal.actor_id) };

@id("channel_member")
forbid (principal, action, resource);
`)
	other := writeFile(t, dir, "other.cedar", `@id("other_tenant")
forbid (principal, action, resource == Tenant::"8");
`)

	out, stderr, err := run(t, nil, "", "policy", "validate", good)
	if exitCode(err) != 0 || out != good+": ok\n" || stderr != "" {
		t.Fatalf("good: %v %q %q", err, out, stderr)
	}

	out, _, err = run(t, nil, "", "policy", "validate", good, syntax, schema)
	if exitCode(err) != 1 || err.Error() != "3 problems in 2 of 3 files" {
		t.Fatalf("bad: %v\n%s", err, out)
	}
	want := []string{
		good + ": ok",
		syntax + `:3:13: syntax error: parse error at ";": invalid primary`,
		schema + `:4:1: policy "typo": ` + "for policy `typo`, attribute `member` on entity type `Channel` not found",
		schema + `:8:1: policy "channel_member": @id is already used by another policy (or a default one)`,
	}
	if got := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("bad output:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}

	// Naming another tenant is refused only when the tenant is known.
	if out, _, err := run(t, nil, "", "policy", "validate", other); exitCode(err) != 0 || !strings.HasSuffix(out, ": ok\n") {
		t.Fatalf("no tenant: %v %q", err, out)
	}
	out, _, err = run(t, nil, "", "policy", "validate", "--tenant", "7", other)
	if exitCode(err) != 1 || out != other+`:1:1: policy "other_tenant": refers to Tenant::"8"; a tenant's policies may name only their own tenant`+"\n" {
		t.Fatalf("--tenant: %v %q", err, out)
	}

	out, _, err = run(t, nil, readText(t, good), "policy", "validate", "-")
	if exitCode(err) != 0 || out != "<stdin>: ok\n" {
		t.Fatalf("stdin: %v %q", err, out)
	}
	out, _, err = run(t, nil, "", "policy", "validate", filepath.Join(dir, "missing.cedar"))
	if exitCode(err) != 1 || !strings.Contains(out, "missing.cedar: no such file or directory") {
		t.Fatalf("missing: %v %q", err, out)
	}
	_, stderr, err = run(t, nil, "", "policy", "validate")
	if exitCode(err) != 2 || !strings.Contains(stderr, "Usage: tollgate policy validate [--tenant ID] [--schema-extension FILE] FILE…") {
		t.Fatalf("no files: %v %q", err, stderr)
	}
	_, stderr, err = run(t, nil, "", "policy", "validate", "--help")
	if exitCode(err) != 0 || !strings.Contains(stderr, "-tenant") {
		t.Fatalf("help: %v %q", err, stderr)
	}
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPolicyTestShippedCases(t *testing.T) {
	out, _, err := run(t, nil, "", "policy", "test", shippedCases)
	if exitCode(err) != 0 {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, w := range []string{
		filepath.Join(shippedCases, "channel_access.yaml") + "\n  PASS member sends to their channel\n",
		"  PASS an erroring forbid still denies\n",
		filepath.Join(shippedCases, "requests.json") + "\n",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	files, err := policy.SuiteFiles(shippedCases)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "FAIL") || !strings.HasPrefix(lastLine(out), "ok: ") || !strings.HasSuffix(lastLine(out), fmt.Sprintf(" in %d suites", len(files))) {
		t.Fatalf("output:\n%s", out)
	}
	out, _, err = run(t, nil, "", "policy", "test", "--quiet", shippedCases)
	if exitCode(err) != 0 || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("--quiet: %v %q", err, out)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestPolicyTestFailures(t *testing.T) {
	dir := t.TempDir()
	suite := writeFile(t, dir, "wrong.yaml", `tenant:
  id: "7"
  members: [{actor_id: "user:93", roles: [member]}]
cases:
  - name: right
    principal: "user:93"
    action: VIEW_TENANT
    resource: {type: tenant, id: "7"}
    decision: permit
  - name: wrong
    principal: "user:93"
    action: MANAGE_MEMBERS
    resource: {type: tenant, id: "7"}
    decision: permit
    reasons: [tenant_admin]
  - name: invalid request
    principal: "user:93"
    action: FLY
    resource: {type: tenant, id: "7"}
    decision: permit
`)
	malformed := writeFile(t, dir, "malformed.json", `{"tenant": {"id": "7"}, "cases": [{"name": "x", "decison": "deny"}]}`)

	out, _, err := run(t, nil, "", "policy", "test", suite)
	want := suite + `
  PASS right
  FAIL wrong (got deny [default_deny], want permit [tenant_admin]) at line 10
  FAIL invalid request (got deny [invalid_request], want permit) at line 16
       errors: unknown action "FLY"
FAIL: 2 of 3 cases failed in 1 of 1 suite
`
	if exitCode(err) != 1 || out != want {
		t.Fatalf("failures: %v\n%s\nwant:\n%s", err, out, want)
	}

	out, _, err = run(t, nil, "", "policy", "test", dir, filepath.Join(dir, "nope"))
	if exitCode(err) != 1 || !strings.Contains(out, "ERROR stat "+filepath.Join(dir, "nope")) ||
		!strings.Contains(out, malformed+"\n  ERROR "+malformed+`: unknown field "decison"`) ||
		!strings.HasSuffix(out, "FAIL: 2 of 3 cases failed in 1 of 1 suite; 2 files could not be run\n") {
		t.Fatalf("malformed: %v\n%s", err, out)
	}

	empty := t.TempDir()
	out, _, err = run(t, nil, "", "policy", "test", empty)
	if exitCode(err) != 1 || !strings.Contains(out, "no suite files") {
		t.Fatalf("empty dir: %v %q", err, out)
	}
	_, stderr, err := run(t, nil, "", "policy", "test")
	if exitCode(err) != 2 || !strings.Contains(stderr, "Usage: tollgate policy test") {
		t.Fatalf("no args: %v %q", err, stderr)
	}
}

func TestPolicySchemaAndDefaults(t *testing.T) {
	out, _, err := run(t, nil, "", "policy", "schema")
	if err != nil || out != string(policy.SchemaText()) {
		t.Fatalf("schema: %v", err)
	}
	out, _, err = run(t, nil, "", "policy", "defaults")
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range policy.DefaultFiles() {
		if !strings.Contains(out, "// ---- policy/"+name+"\n"+string(text)) {
			t.Errorf("defaults lack %s", name)
		}
	}
	// What it prints is Cedar: every default policy, once.
	c, err := policy.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range c.DefaultIDs() {
		if strings.Count(out, `@id("`+id+`")`) != 1 {
			t.Errorf("defaults print %s %d times", id, strings.Count(out, `@id("`+id+`")`))
		}
	}
	if _, _, err := run(t, nil, "", "policy", "schema", "extra"); exitCode(err) != 1 {
		t.Fatalf("schema extra: %v", err)
	}
	out, _, err = run(t, nil, "", "policy", "--help")
	if err != nil || !strings.Contains(out, "validate") || !strings.Contains(out, "defaults") {
		t.Fatalf("help: %v %q", err, out)
	}
}
