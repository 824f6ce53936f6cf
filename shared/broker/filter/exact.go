package filter

import (
	"errors"
	"slices"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
)

// NewExact returns the exact dialect: every attribute must be present and its
// value (non-strings rendered with %v) equal to the given one, case-sensitive.
// Keys are ANDed. Empty attributes or values are an error.
func NewExact(attrs map[string]string) (Filter, error) {
	return attrMatcher(attrs, "value", func(got, want string) bool { return got == want })
}

// attrMatcher returns a filter that passes when every attribute in attrs is
// present and test(its value, attrs[name]) holds. The pairs are copied to a
// sorted slice: the broker evaluates every Trigger's filter on every event,
// and ranging over a map each time showed in its profile.
func attrMatcher(attrs map[string]string, what string, test func(got, want string) bool) (Filter, error) {
	if err := checkPairs(attrs, what); err != nil {
		return nil, err
	}
	type pair struct{ name, want string }
	ps := make([]pair, 0, len(attrs))
	for k, v := range attrs {
		ps = append(ps, pair{k, v})
	}
	slices.SortFunc(ps, func(a, b pair) int { return strings.Compare(a.name, b.name) })
	return matcher{func(e event.Event) Result {
		for _, p := range ps {
			got, ok := lookupString(e, p.name)
			if !ok || !test(got, p.want) {
				return Fail
			}
		}
		return Pass
	}}, nil
}

// checkPairs rejects what Knative's New{Exact,Prefix,Suffix}Filter reject.
func checkPairs(attrs map[string]string, what string) error {
	if len(attrs) == 0 {
		return errors.New("needs at least one attribute")
	}
	for k, v := range attrs {
		if k == "" || v == "" {
			return errors.New("attribute and " + what + " can't be empty")
		}
	}
	return nil
}
