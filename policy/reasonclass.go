package policy

// ReasonClassPolicy is the reason class of a decision the policies made:
// every permit, and a deny by forbid policies. The other classes are the
// reasons that are not policy ids (ReasonDefaultDeny, ReasonCredentialScope,
// ReasonInvalidRequest, ReasonEvaluationError, ReasonUnavailable).
const ReasonClassPolicy = "policy"

// ReasonClass sorts d into one of six classes, for metrics: a label whose
// values must stay few, where the reasons themselves are any tenant's
// policy ids.
func ReasonClass(d Decision) string {
	if d.Permitted() || len(d.Reasons) != 1 {
		return ReasonClassPolicy
	}
	switch r := d.Reasons[0]; r {
	case ReasonDefaultDeny, ReasonCredentialScope, ReasonInvalidRequest, ReasonEvaluationError, ReasonUnavailable:
		return r
	}
	return ReasonClassPolicy
}
