package filter

import (
	"errors"

	"github.com/cloudevents/sdk-go/v2/event"
)

// NewExact returns the exact dialect: every attribute must be present and its
// value (non-strings rendered with %v) equal to the given one, case-sensitive.
// Keys are ANDed. Empty attributes or values are an error.
func NewExact(attrs map[string]string) (Filter, error) {
	if err := checkPairs(attrs, "value"); err != nil {
		return nil, err
	}
	return matcher{func(e event.Event) Result {
		for k, want := range attrs {
			got, ok := LookupAttribute(e, k)
			if !ok || stringValue(got) != want {
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
