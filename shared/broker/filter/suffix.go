package filter

import "strings"

// NewSuffix returns the suffix dialect: every attribute must be present and
// its value (non-strings rendered with %v) end with the given suffix.
func NewSuffix(attrs map[string]string) (Filter, error) {
	return attrMatcher(attrs, "suffix", strings.HasSuffix)
}
