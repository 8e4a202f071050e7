package policy

import (
	"context"
	"errors"
	"sort"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
)

// Lookup bounds.
const (
	DefaultLookupLimit = 50
	MaxLookupLimit     = 200
	// maxLookupScan bounds the resources one page evaluates, so a principal
	// allowed almost nothing cannot make one call evaluate every resource;
	// such a page comes back short, with a cursor to go on from.
	maxLookupScan = 5000
)

// LookupQuery asks which registered resources of a type a principal may
// act on.
type LookupQuery struct {
	Principal    string
	OnBehalfOf   string
	Action       string
	ResourceType string
	// Context holds the caller's context attributes, as a decision's
	// Request.Context: the same for every candidate resource.
	Context map[string]any
	// Cursor is the NextCursor of the previous page, "" for the first.
	Cursor string
	Limit  int
}

// LookupPage is one page of ids, in id order. NextCursor is "" only when
// every resource has been considered: a short page is never the end unless
// it says so.
type LookupPage struct {
	IDs           []string `json:"ids"`
	NextCursor    string   `json:"next_cursor,omitempty"`
	PolicyVersion int64    `json:"policy_version"`
}

// Lookup evaluates the principal against the tenant's registered resources
// of q.ResourceType, in id order from the cursor, until a page is full.
func (e *Engine) Lookup(ctx context.Context, tenantID string, q LookupQuery) (LookupPage, error) {
	if _, err := actorUID(q.Principal); err != nil {
		return LookupPage{}, err
	}
	switch {
	case q.Limit == 0:
		q.Limit = DefaultLookupLimit
	case q.Limit < 0 || q.Limit > MaxLookupLimit:
		return LookupPage{}, fault.Invalidf("limit", cursor.CodeInvalidLimit, "limit must be between 1 and %d", MaxLookupLimit)
	}
	st, snap, err := e.current(ctx, tenantID)
	if err != nil {
		e.unavailable(ctx, tenantID, err) // logs why, as a decision would
		return LookupPage{}, fault.Wrap(fault.Unavailable, CodePolicyUnavailable, err)
	}
	if !snap.schema.registrable(q.ResourceType) {
		return LookupPage{}, invalidf("resource_type", "lookup lists registered resources: channel, tool or a type of the tenant's schema")
	}
	if _, err := snap.schema.actionUID(q.Action); err != nil {
		return LookupPage{}, err
	}
	all := snap.ids[q.ResourceType]
	i := sort.SearchStrings(all, q.Cursor)
	if i < len(all) && q.Cursor != "" && all[i] == q.Cursor {
		i++
	}
	page := LookupPage{IDs: []string{}, PolicyVersion: snap.version}
	req := Request{Principal: q.Principal, OnBehalfOf: q.OnBehalfOf, Action: q.Action, Context: q.Context}
	if i < len(all) {
		// What is wrong with the request (its context, the principal) is
		// wrong for every candidate: say so, rather than list nothing. The
		// translation is then decided, not made again.
		req.Resource = ResourceRef{Type: q.ResourceType, ID: all[i]}
		creq, getter, policies, err := e.translate(ctx, st, snap, req)
		if errors.Is(err, errQuotaUnavailable) {
			return LookupPage{}, fault.Wrap(fault.Unavailable, CodePolicyUnavailable, err)
		} else if err != nil {
			return LookupPage{}, err
		}
		if e.decideTranslated(ctx, snap, req, creq, getter, policies, nil).Permitted() {
			page.IDs = append(page.IDs, all[i])
		}
		i++
	}
	// The first candidate, if any, is scanned above; a limit is at least 1.
	for scanned := 1; i < len(all); i++ {
		if len(page.IDs) == q.Limit || scanned == maxLookupScan {
			page.NextCursor = all[i-1]
			break
		}
		scanned++
		req.Resource = ResourceRef{Type: q.ResourceType, ID: all[i]}
		if e.decide(ctx, st, snap, req).Permitted() {
			page.IDs = append(page.IDs, all[i])
		}
	}
	return page, nil
}
