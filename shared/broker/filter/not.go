package filter

import "github.com/cloudevents/sdk-go/v2/event"

// NewNot returns the not dialect: Pass becomes Fail, Fail becomes Pass and
// NoFilter (or a nil child) stays NoFilter.
func NewNot(child Filter) Filter {
	return matcher{func(e event.Event) Result {
		if child == nil {
			return NoFilter
		}
		switch child.Evaluate(e) {
		case Fail:
			return Pass
		case Pass:
			return Fail
		}
		return NoFilter
	}}
}
