package httpapi

import (
	"net/http"
	"strconv"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
)

// Page sizes of list endpoints.
const (
	defaultListLimit = 50
	maxListLimit     = 100
	maxCursorLen     = 256
)

// listPage reads ?limit and ?cursor. The cursor is the last item's key,
// which is opaque to clients; one extra item is fetched to learn whether a
// next page exists.
func listPage(r *http.Request) (cursor.Page, int, error) {
	limit := defaultListLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			return cursor.Page{}, 0, fault.Invalidf("limit", cursor.CodeInvalidLimit, "limit must be an integer from 1 to %d", maxListLimit)
		}
		limit = n
	}
	after := r.URL.Query().Get("cursor")
	if len(after) > maxCursorLen {
		return cursor.Page{}, 0, fault.Invalidf("cursor", cursor.CodeInvalidCursor, "cursor is not valid")
	}
	return cursor.Page{After: after, Limit: limit + 1}, limit, nil
}

// listResponse is the envelope of every list.
type listResponse[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// page trims the extra item and sets the cursor from key(last item).
func page[S, T any](items []S, limit int, conv func(S) T, key func(S) string) listResponse[T] {
	out := listResponse[T]{Items: make([]T, 0, min(len(items), limit))}
	for i, it := range items {
		if i == limit {
			out.NextCursor = key(items[i-1])
			break
		}
		out.Items = append(out.Items, conv(it))
	}
	return out
}
