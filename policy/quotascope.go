package policy

import (
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// varContext is the name of Cedar's context variable.
const varContext = "context"

// readsQuota reports whether p may read context.quota: it names the
// attribute (context.quota, context has quota, context["quota"], escapes
// resolved by the parser) or uses the context as a whole (context == {…},
// which would see whether the attribute is there). It errs on the side of
// yes: a decision whose policies may read context.quota carries it.
func readsQuota(p *xast.Policy) bool {
	reads := false
	visit := func(n xast.IsNode) bool {
		switch n := n.(type) {
		case xast.NodeTypeAccess:
			if isContext(n.Arg) {
				reads = reads || n.Value == contextQuota
				return false
			}
		case xast.NodeTypeHas:
			if isContext(n.Arg) {
				reads = reads || n.Value == contextQuota
				return false
			}
		case xast.NodeTypeVariable:
			reads = reads || isContext(n)
		}
		return !reads
	}
	for _, c := range p.Conditions {
		xast.Inspect(xast.NewNode(c.Body), visit)
	}
	return reads
}

func isContext(n xast.IsNode) bool {
	v, ok := n.(xast.NodeTypeVariable)
	return ok && v.Name == varContext
}
