package filter

import (
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
)

// NewPrefix returns the prefix dialect: every attribute must be present and
// its value (non-strings rendered with %v) start with the given prefix.
func NewPrefix(attrs map[string]string) (Filter, error) {
	if err := checkPairs(attrs, "prefix"); err != nil {
		return nil, err
	}
	return matcher{func(e event.Event) Result {
		for k, p := range attrs {
			got, ok := LookupAttribute(e, k)
			if !ok || !strings.HasPrefix(stringValue(got), p) {
				return Fail
			}
		}
		return Pass
	}}, nil
}
