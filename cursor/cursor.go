// Package cursor is how every list in Tollgate is paged: by id, after the
// last id of the previous page. Stores of every domain take a Page; it lives
// here so that none of them imports another domain for it.
package cursor

// Page asks for one page of a list ordered by id. After is the last id of the
// previous page ("" for the first page).
type Page struct {
	After string
	Limit int
}

// Limits of list pages.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Normalize clamps the limit into [1, MaxLimit].
func (p Page) Normalize() Page {
	if p.Limit <= 0 {
		p.Limit = DefaultLimit
	}
	if p.Limit > MaxLimit {
		p.Limit = MaxLimit
	}
	return p
}
