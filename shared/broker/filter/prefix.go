package filter

import "strings"

// NewPrefix returns the prefix dialect: every attribute must be present and
// its value (non-strings rendered with %v) start with the given prefix.
func NewPrefix(attrs map[string]string) (Filter, error) {
	return attrMatcher(attrs, "prefix", strings.HasPrefix)
}
