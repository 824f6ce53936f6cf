package filter

import "github.com/cloudevents/sdk-go/v2/event"

// AnyValue is the legacy filter.attributes value that matches any present,
// non-empty attribute (Knative's TriggerAnyFilter).
const AnyValue = ""

// NewAttributes returns the legacy filter.attributes dialect: every key must
// be present; a value of "" requires a non-empty attribute, any other value an
// exact match (string comparison; a non-string extension never equals a
// filter value). A nil map is NoFilter, an empty one passes everything.
func NewAttributes(attrs map[string]string) Filter {
	if attrs == nil {
		return noFilter()
	}
	return matcher{func(e event.Event) Result {
		for k, want := range attrs {
			got, ok := LookupAttribute(e, k)
			if !ok || (want == AnyValue && got == "") {
				return Fail
			}
			if want != AnyValue && got != any(want) {
				return Fail
			}
		}
		return Pass
	}}
}
