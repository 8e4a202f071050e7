package policy

import (
	"slices"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/ast"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// cedar-go evaluates every policy it is given, about 140 ns each here.
// Most policies cannot apply to a given request — their scope names
// another action, or another principal or resource type — so each set is
// indexed by (action, principal type, resource type) and a decision
// evaluates only the policies whose scope could match. The index is
// conservative: a policy is left out only when its scope alone proves it
// cannot match, so the decision is the same as over the whole set.

type scopeKey struct {
	action    cedar.EntityUID
	principal cedar.EntityType
	resource  cedar.EntityType
}

type policyIndex map[scopeKey]scoped

// scoped are the policies that may apply to requests of one scope key.
type scoped struct {
	list policyList
	// readsQuota: some of them may read context.quota (readsQuota), so a
	// decision must carry it.
	readsQuota bool
}

// index builds the index of list for every combination the schema allows.
//
// The indexed copies drop an "action in [...]" scope: the index has already
// matched the action, and Cedar would otherwise walk the action hierarchy
// (allocating a visited set) on every evaluation to learn it again.
func (s *Schema) index(list policyList) policyIndex {
	list = withoutActionSets(list)
	idx := policyIndex{}
	for uid, a := range s.resolved.Actions {
		if a.AppliesTo == nil {
			continue
		}
		for _, pt := range a.AppliesTo.Principals {
			for _, rt := range a.AppliesTo.Resources {
				k := scopeKey{uid, pt, rt}
				for _, p := range list {
					if s.mayApply(p.scope(), k) {
						sc := idx[k]
						sc.list = append(sc.list, p)
						sc.readsQuota = sc.readsQuota || p.readsQuota
						idx[k] = sc
					}
				}
			}
		}
	}
	return idx
}

// withoutActionSets returns list with each policy whose action scope is an
// "in" replaced by a copy scoped to every action; the original scope is
// kept in orig for indexing.
func withoutActionSets(list policyList) policyList {
	out := make(policyList, len(list))
	for i, p := range list {
		out[i] = p
		a := *(*xast.Policy)(p.policy.AST())
		switch a.Action.(type) {
		case xast.ScopeTypeIn, xast.ScopeTypeInSet:
			out[i].orig = &a
			stripped := a
			stripped.Action = xast.ScopeTypeAll{}
			out[i].policy = cedar.NewPolicyFromAST((*ast.Policy)(&stripped))
		}
	}
	return out
}

// scope returns the policy's scope as written.
func (p namedPolicy) scope() *xast.Policy {
	if p.orig != nil {
		return p.orig
	}
	return (*xast.Policy)(p.policy.AST())
}

// mayApply reports whether p's scope could match requests of k.
func (sc *Schema) mayApply(p *xast.Policy, k scopeKey) bool {
	switch s := p.Action.(type) {
	case xast.ScopeTypeEq:
		if s.Entity != k.action {
			return false
		}
	case xast.ScopeTypeIn:
		if s.Entity != k.action && !sc.actionIn(k.action, s.Entity) {
			return false
		}
	case xast.ScopeTypeInSet:
		if !slices.ContainsFunc(s.Entities, func(e cedar.EntityUID) bool { return e == k.action || sc.actionIn(k.action, e) }) {
			return false
		}
	}
	return typeMayMatch(p.Principal, k.principal) && typeMayMatch(p.Resource, k.resource)
}

// actionIn reports whether action is a descendant of group in the schema.
func (s *Schema) actionIn(action, group cedar.EntityUID) bool {
	seen := map[cedar.EntityUID]bool{}
	var walk func(cedar.EntityUID) bool
	walk = func(a cedar.EntityUID) bool {
		if seen[a] {
			return false
		}
		seen[a] = true
		def, ok := s.resolved.Actions[a]
		if !ok {
			return false
		}
		for parent := range def.Entity.Parents.All() {
			if parent == group || walk(parent) {
				return true
			}
		}
		return false
	}
	return walk(action)
}

// typeMayMatch reports whether a principal or resource scope could hold an
// entity of type t. "in" scopes may hold any type.
func typeMayMatch(scope any, t cedar.EntityType) bool {
	switch s := scope.(type) {
	case xast.ScopeTypeEq:
		return s.Entity.Type == t
	case xast.ScopeTypeIs:
		return s.Type == t
	case xast.ScopeTypeIsIn:
		return s.Type == t
	}
	return true
}
