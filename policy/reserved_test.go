package policy_test

import (
	"errors"
	"testing"

	"github.com/tollgate/tollgate/policy"
)

// TestReservedReasonsAreNotPolicyIDs: a tenant policy may not take the id
// of a reason Tollgate gives itself, or its verdict would pass for one.
func TestReservedReasonsAreNotPolicyIDs(t *testing.T) {
	c, err := policy.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{
		policy.ReasonDefaultDeny, policy.ReasonEvaluationError, policy.ReasonUnavailable,
		policy.ReasonInvalidRequest, policy.ReasonCredentialScope,
	} {
		t.Run(id, func(t *testing.T) {
			err := c.Validate("t1", `@id("`+id+`") forbid (principal, action, resource);`)
			var inv *policy.InvalidError
			if !errors.As(err, &inv) || len(inv.Problems) != 1 || inv.Problems[0].Policy != id {
				t.Fatalf("Validate = %v, want one problem naming %q", err, id)
			}
		})
	}
	if err := c.Validate("t1", `@id("credential_scope_2") forbid (principal, action, resource);`); err != nil {
		t.Fatalf("an id merely starting with a reserved one: %v", err)
	}
}
