package filter

import (
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
)

// NewSuffix returns the suffix dialect: every attribute must be present and
// its value (non-strings rendered with %v) end with the given suffix.
func NewSuffix(attrs map[string]string) (Filter, error) {
	if err := checkPairs(attrs, "suffix"); err != nil {
		return nil, err
	}
	return matcher{func(e event.Event) Result {
		for k, s := range attrs {
			got, ok := LookupAttribute(e, k)
			if !ok || !strings.HasSuffix(stringValue(got), s) {
				return Fail
			}
		}
		return Pass
	}}, nil
}
