package policy_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/policy"
)

// FuzzExtend feeds arbitrary text to Compiler.Extend as a tenant's schema
// extension. It must never panic; a refusal is a *SchemaInvalidError with
// problems, an Invalid fault "invalid_schema", each problem's position
// inside the text; what it accepts keeps every built-in action, lets the
// shipped default policies validate unchanged, and applied again is
// refused or changes nothing (an extension only adds, once).
func FuzzExtend(f *testing.F) {
	c, err := policy.NewCompiler()
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"",
		"// nothing",
		"entity A;",
		"entity Channel = { topic?: String };",
		"entity User = { department?: String };",
		"entity Invoice in [Invoice] = { owner: String, lines?: Set<{ sku: String }> };\naction APPROVE_INVOICE appliesTo { principal: [User], resource: [Invoice], context: { reason: String } };",
		"action SEND_MESSAGE appliesTo { principal: [User, Agent, Service], resource: [Channel, Tool], context: { quiet?: Bool, at: datetime } };",
		"type A = { x: Long };\nentity Tool = { a?: A };",
		"entity Channel = { members?: Long };",
		"namespace X { entity Y; }",
		`entity "Quoted" = { "a b": String };`,
		"entity Channel = { a: { b: { c: { d: { e: { f: { g: { h: Bool } } } } } } } };",
		"action READ appliesTo { principal: [User, Agent, Service], resource: [Channel, Tool], context: Context };",
	} {
		f.Add(seed)
	}
	builtin := c.Actions()
	f.Fuzz(func(t *testing.T, text string) {
		sc, err := c.Extend(text)
		if err != nil {
			var inv *policy.SchemaInvalidError
			var fe *fault.Error
			if !errors.As(err, &inv) || len(inv.Problems) == 0 || !errors.As(err, &fe) || fe.Code != policy.CodeInvalidSchema || fe.Kind != fault.Invalid {
				t.Fatalf("refusal %v is not an invalid_schema with problems", err)
			}
			lines := 1
			for _, ch := range text {
				if ch == '\n' {
					lines++
				}
			}
			for _, p := range inv.Problems {
				if p.Line < 0 || p.Line > lines || p.Message == "" {
					t.Fatalf("problem %+v outside a text of %d lines", p, lines)
				}
			}
			return
		}
		for _, a := range builtin {
			if !slices.Contains(sc.Actions(), a) {
				t.Fatalf("the extension lost action %s", a)
			}
		}
		// The defaults compile against the extended schema, as they do
		// when the text is the installation's.
		if _, err := policy.NewInstallationCompiler("fuzz", []byte(text)); err != nil {
			t.Fatalf("the defaults under the extension: %v", err)
		}
		if again, err := sc.Extend("again", []byte(text)); err == nil && again.Text() != sc.Text() {
			t.Fatalf("the same extension applied twice changed the schema again:\n%s\n---\n%s", sc.Text(), again.Text())
		}
	})
}
