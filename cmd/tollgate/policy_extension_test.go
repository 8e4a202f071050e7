package main

import (
	"strings"
	"testing"
)

// TestPolicyCommandsTakeTheSchemaExtension: validate and test check
// against the schema serve uses, the installation's extension included,
// from --schema-extension or TOLLGATE_POLICY_SCHEMA_EXTENSION.
func TestPolicyCommandsTakeTheSchemaExtension(t *testing.T) {
	dir := t.TempDir()
	ext := writeFile(t, dir, "install.cedarschema", `entity Invoice = { owner: String, amount: Long };
action APPROVE_INVOICE appliesTo { principal: [User], resource: [Invoice] };`)
	broken := writeFile(t, dir, "broken.cedarschema", `entity Invoice = { owner: `)
	pol := writeFile(t, dir, "own.cedar", `@id("own_invoice")
permit (principal, action == Action::"APPROVE_INVOICE", resource is Invoice)
when { resource.owner == principal.actor_id && resource.amount < 1000 };
`)
	suite := writeFile(t, dir, "invoices.yaml", `tenant:
  id: "7"
  members: [{actor_id: "user:93", roles: [member]}]
  resources:
    - {type: Invoice, id: small, attrs: {owner: "user:93", amount: 50}}
    - {type: Invoice, id: large, attrs: {owner: "user:93", amount: 5000}}
policy_files: [own.cedar]
cases:
  - name: own small invoice
    principal: "user:93"
    action: APPROVE_INVOICE
    resource: {type: Invoice, id: small}
    decision: permit
    reasons: [own_invoice]
  - name: own large invoice
    principal: "user:93"
    action: APPROVE_INVOICE
    resource: {type: Invoice, id: large}
    decision: deny
`)
	envExt := map[string]string{"TOLLGATE_POLICY_SCHEMA_EXTENSION": ext}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string // in stdout, or in the error when code is 1 and stdout is empty
	}{
		{"validate without the extension", nil, []string{"policy", "validate", pol}, 1, `policy "own_invoice"`},
		{"validate with --schema-extension", nil, []string{"policy", "validate", "--schema-extension", ext, pol}, 0, pol + ": ok"},
		{"validate with the environment's", envExt, []string{"policy", "validate", pol}, 0, pol + ": ok"},
		{"the flag wins over the environment", envExt, []string{"policy", "validate", "--schema-extension", broken, pol}, 1, "broken.cedarschema"},
		{"test without the extension", nil, []string{"policy", "test", suite}, 1, "ERROR"},
		{"test with --schema-extension", nil, []string{"policy", "test", "--schema-extension", ext, suite}, 0, "ok: 2 cases in 1 suite"},
		{"test with the environment's", envExt, []string{"policy", "test", suite}, 0, "ok: 2 cases in 1 suite"},
		{"a missing extension file", nil, []string{"policy", "test", "--schema-extension", dir + "/none", suite}, 1, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := run(t, tc.env, "", tc.args...)
			got := out
			if err != nil {
				got += err.Error()
			}
			if exitCode(err) != tc.code || !strings.Contains(got, tc.want) {
				t.Fatalf("exit %d (%v), want %d; output %q, want it to hold %q", exitCode(err), err, tc.code, got, tc.want)
			}
		})
	}
}
