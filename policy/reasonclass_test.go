package policy_test

import (
	"testing"

	"github.com/tollgate/tollgate/policy"
)

func TestReasonClass(t *testing.T) {
	for _, c := range []struct {
		name     string
		decision string
		reasons  []string
		want     string
	}{
		{"permit by a policy", policy.Permit, []string{"channel_member"}, policy.ReasonClassPolicy},
		{"permit by several", policy.Permit, []string{"channel_member", "tenant_admin"}, policy.ReasonClassPolicy},
		{"deny by a forbid", policy.Deny, []string{"quiet_hours"}, policy.ReasonClassPolicy},
		{"deny by several forbids", policy.Deny, []string{"quiet_hours", "default_deny"}, policy.ReasonClassPolicy},
		{"no policy permitted", policy.Deny, []string{policy.ReasonDefaultDeny}, policy.ReasonDefaultDeny},
		{"beyond the credential's scopes", policy.Deny, []string{policy.ReasonCredentialScope}, policy.ReasonCredentialScope},
		{"malformed request", policy.Deny, []string{policy.ReasonInvalidRequest}, policy.ReasonInvalidRequest},
		{"a policy erred", policy.Deny, []string{policy.ReasonEvaluationError}, policy.ReasonEvaluationError},
		{"no snapshot", policy.Deny, []string{policy.ReasonUnavailable}, policy.ReasonUnavailable},
		{"deny without reasons", policy.Deny, nil, policy.ReasonClassPolicy},
		// A permit's reasons are policy ids whatever they are called.
		{"permit naming a reserved reason", policy.Permit, []string{policy.ReasonDefaultDeny}, policy.ReasonClassPolicy},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := policy.ReasonClass(policy.Decision{Decision: c.decision, Reasons: c.reasons}); got != c.want {
				t.Fatalf("ReasonClass(%s %v) = %q, want %q", c.decision, c.reasons, got, c.want)
			}
		})
	}
}
