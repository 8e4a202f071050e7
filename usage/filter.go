package usage

import "slices"

// checkFilter bounds a query's filter before anything is read: at most
// MaxGroupBy dimensions and MaxFilterValues values in all, each value a
// dimension's size at most.
func checkFilter(f map[string][]string) error {
	if len(f) > MaxGroupBy {
		return badQuery("filter", "at most %d dimensions are filtered on", MaxGroupBy)
	}
	n := 0
	for d, vs := range f {
		if !validPath(d) {
			return badQuery("filter", "filter[%s] does not name a dimension", truncate(d))
		}
		if len(vs) == 0 {
			return badQuery("filter", "filter[%s] has no value", d)
		}
		for _, v := range vs {
			if len(v) > maxString {
				return badQuery("filter", "a value of filter[%s] has more than %d bytes", d, maxString)
			}
		}
		n += len(vs)
	}
	if n > MaxFilterValues {
		return badQuery("filter", "at most %d filter values", MaxFilterValues)
	}
	return nil
}

// matches reports whether the stored dimension set dims has, for every
// dimension of f, one of its values.
func matches(dims string, f map[string][]string) (bool, error) {
	if len(f) == 0 {
		return true, nil
	}
	kv, err := parseDims(dims)
	if err != nil {
		return false, err
	}
	for d, vs := range f {
		v, ok := kv[d]
		if !ok || !slices.Contains(vs, v) {
			return false, nil
		}
	}
	return true, nil
}
