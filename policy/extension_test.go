package policy_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/policy"
)

func TestExtendAccepts(t *testing.T) {
	c, err := policy.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, text string
		// policy must validate under the extended schema and, unless
		// alsoBase (a policy testing an optional attribute with has, which
		// Cedar accepts of any closed record), not without it.
		policy   string
		alsoBase bool
	}{
		{"nothing", "  // only a comment\n", "", false},
		{"a context attribute on a built-in action", `
			action SEND_MESSAGE appliesTo { principal: [User, Agent, Service], resource: [Channel, Tool], context: { quiet?: Bool } };`,
			`@id("q") forbid (principal, action == Action::"SEND_MESSAGE", resource) when { context has quiet && context.quiet };`, true},
		{"principal and resource lists in another order", `
			action READ appliesTo { principal: [Service, User, Agent], resource: [Tool, Channel], context: { purpose: String } };`,
			`@id("p") forbid (principal, action == Action::"READ", resource) unless { context.purpose == "support" };`, false},
		{"attributes on channels, tools and principals", `
			entity Channel = { topic?: String, archived: Bool };
			entity Tool { cost?: Long };
			entity User = { department?: String };
			entity Agent = { model?: String };
			entity Service = { tier?: Long };`,
			`@id("a") forbid (principal is User, action, resource is Channel) when { resource.archived && principal has department };`, false},
		{"an own type with its own action", `
			entity Invoice in [Invoice] = { owner: String, amount: Long, lines?: Set<{ sku: String, qty: Long }> };
			type Approval = { reason: String };
			action APPROVE_INVOICE appliesTo { principal: [User, Agent], resource: [Invoice], context: { approval?: Approval } };`,
			`@id("i") permit (principal is User, action == Action::"APPROVE_INVOICE", resource is Invoice) when { resource.owner == principal.actor_id && resource.amount < 1000 && context.now > datetime("2026-01-01") && context.now.toTime() >= duration("22h") };`, false},
		{"an own action on channels", `
			action ARCHIVE appliesTo { principal: [User], resource: [Channel], context: {} };`,
			`@id("ar") permit (principal, action == Action::"ARCHIVE", resource) when { principal in Role::"admin" };`, false},
		{"extension values and entity references in the context", `
			action EXECUTE_TOOL appliesTo { principal: [User, Agent, Service], resource: [Tool], context: { at: datetime, budget?: decimal, approver?: User, window?: duration } };`,
			`@id("e") forbid (principal, action == Action::"EXECUTE_TOOL", resource) when { context.at > context.now || (context has approver && context.approver == principal) };`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := c.Extend(tc.text)
			if err != nil {
				t.Fatalf("Extend: %v", err)
			}
			if tc.policy != "" {
				if _, err := c.CompileFor(sc, "t1", tc.policy); err != nil {
					t.Fatalf("the policy does not validate under the extension: %v", err)
				}
				if _, err := c.Compile("t1", tc.policy); err == nil && !tc.alsoBase {
					t.Fatal("the policy validates without the extension: the test proves nothing")
				}
			}
		})
	}
}

func TestExtendRefuses(t *testing.T) {
	c, err := policy.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	deep := "action READ appliesTo { principal: [User, Agent, Service], resource: [Channel, Tool], context: { a: " +
		strings.Repeat("{ a: ", 20) + "Bool" + strings.Repeat(" }", 20) + " } };"
	var many strings.Builder
	for i := range policy.MaxSchemaTypes + 1 {
		fmt.Fprintf(&many, "entity T%d;\n", i)
	}
	var attrs strings.Builder
	attrs.WriteString("entity Channel = {")
	for i := range policy.MaxSchemaAttributes + 1 {
		fmt.Fprintf(&attrs, " a%d?: Long,", i)
	}
	attrs.WriteString(" };")
	for _, tc := range []struct {
		name, text string
		// want is in the first problem's message; line > 0 its position.
		want string
		line int
	}{
		{"a syntax error", "entity Channel = { topic: };", "syntax error", 1},
		{"redefining a channel attribute", "entity Channel = {\n  members?: Set<Long>,\n};", "Channel.members is already declared", 2},
		{"redefining a context attribute", "action READ appliesTo { principal: [User, Agent, Service], resource: [Channel, Tool],\n context: { ip?: String } };", "context.ip of READ is already declared", 2},
		{"setting now", "action READ appliesTo { principal: [User, Agent, Service], resource: [Channel, Tool], context: { now: Long } };", "context.now of READ is already declared", 1},
		{"widening a built-in action", "action READ appliesTo { principal: [User, Agent, Service], resource: [Channel, Tool, Usage], context: { x?: Bool } };", "keeps its principal and resource types", 1},
		{"narrowing a built-in action", "action READ appliesTo { principal: [User], resource: [Channel, Tool], context: { x?: Bool } };", "keeps its principal and resource types", 1},
		{"a required principal attribute", "entity User = { department: String };", "attributes of principals must be optional", 1},
		{"extending the tenant", "entity Tenant = { plan?: String };", "Tollgate's and cannot be extended", 1},
		{"extending roles", "\n\nentity Role = { x?: Long };", "cannot be extended", 3},
		{"new parents of a built-in type", "entity Channel in [Tool] = { x?: Long };", "not parents", 1},
		{"a lower-case own type", "entity invoice = { x: Long };", "named like Invoice", 1},
		{"an own type named like a built-in", "entity USAGE;", "the name is Tollgate's", 1},
		{"an own type under another parent", "entity Invoice in [User];", "parents may be of its own type only", 1},
		{"an own type with an ipaddr", "entity Invoice = { from: ipaddr };", "not ipaddr", 1},
		{"an own type with an entity reference", "entity Invoice = { approver: User };", "not entity references", 1},
		{"tags", "entity Invoice tags String;", "tags are not supported", 1},
		{"an enum", `entity Colour enum ["red"];`, "enumerated entity types", 1},
		{"a namespace", "namespace Acme { entity Thing; }", "no namespaces", 1},
		{"redefining Context", "type Context = { x: Long };", "already declared", 1},
		{"an own action with an unknown principal", "entity Invoice;\naction PAY appliesTo { principal: [Invoice], resource: [Invoice] };", "principals are User, Agent or Service", 2},
		{"an own action on usage", "action PEEK appliesTo { principal: [User], resource: [Usage] };", "apply to channels, tools or its own types", 1},
		{"an own action in a group", "action PAY in [READ] appliesTo { principal: [User], resource: [Channel] };", "no action groups", 1},
		{"a lower-case own action", "action pay appliesTo { principal: [User], resource: [Channel] };", "named like APPROVE_INVOICE", 1},
		{"a context by common type", "type C = { x: Long };\naction READ appliesTo { principal: [User, Agent, Service], resource: [Channel, Tool], context: C };", "as a record", 2},
		{"an undefined type", "entity Channel = { x?: Nope };", "Nope", 0},
		{"too deep", deep, "brackets nest deeper", 1},
		{"too many types", many.String(), "at most 32 types", 0},
		{"too many attributes", attrs.String(), "at most 256 attributes", 0},
		{"too long", "// " + strings.Repeat("x", policy.MaxSchemaTextBytes), "over 32768 bytes", 0},
		{"an unterminated string in a comment-like place", "entity \"Invoice = {", "syntax error", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Extend(tc.text)
			var inv *policy.SchemaInvalidError
			if !errors.As(err, &inv) || len(inv.Problems) == 0 {
				t.Fatalf("err = %v, want a *SchemaInvalidError", err)
			}
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Code != policy.CodeInvalidSchema || fe.Kind != fault.Invalid {
				t.Fatalf("err %v unwraps to %+v, want Invalid invalid_schema", err, fe)
			}
			p := inv.Problems[0]
			if !strings.Contains(p.Message, tc.want) {
				t.Fatalf("problem %q, want it to say %q", p, tc.want)
			}
			if tc.line > 0 && p.Line != tc.line {
				t.Fatalf("problem %q at line %d, want %d", p, p.Line, tc.line)
			}
		})
	}
}

// TestExtendKeepsTheBase checks that an extension changes only the schema
// it returns: the compiler's, and another tenant's, stay as they were.
func TestExtendKeepsTheBase(t *testing.T) {
	c, err := policy.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Extend(`entity Channel = { topic: String };
		action READ appliesTo { principal: [User, Agent, Service], resource: [Channel, Tool], context: { quiet: Bool } };`); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{
		`@id("x") permit (principal, action, resource is Channel) when { resource.topic == "x" };`,
		`@id("x") permit (principal, action == Action::"READ", resource) when { context.quiet };`,
	} {
		if _, err := c.Compile("t1", text); err == nil {
			t.Fatalf("%s validates against the compiler's own schema after another tenant's extension", text)
		}
	}
}

func TestInstallationExtension(t *testing.T) {
	c, err := policy.NewInstallationCompiler("install.cedarschema", []byte(`entity Invoice = { amount: Long };
		action APPROVE_INVOICE appliesTo { principal: [User], resource: [Invoice] };`))
	if err != nil {
		t.Fatal(err)
	}
	// Every tenant has it, and may build on it but not redefine it.
	if _, err := c.Compile("t1", `@id("i") permit (principal, action == Action::"APPROVE_INVOICE", resource) when { resource.amount < 10 };`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Extend(`entity Invoice = { currency?: String };
		action APPROVE_INVOICE appliesTo { principal: [User], resource: [Invoice], context: { note?: String } };`); err != nil {
		t.Fatalf("building on the installation's types: %v", err)
	}
	if _, err := c.Extend(`entity Invoice = { amount: String };`); err == nil {
		t.Fatal("a tenant redefined an installation attribute")
	}
	if !slices.Contains(c.Actions(), "APPROVE_INVOICE") {
		t.Fatal("the installation's action is not among the compiler's")
	}
	_, err = policy.NewInstallationCompiler("install.cedarschema", []byte("entity Channel = { members: Long };"))
	if err == nil || !strings.Contains(err.Error(), "install.cedarschema") {
		t.Fatalf("a bad installation extension: %v", err)
	}
}
