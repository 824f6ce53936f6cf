package filter

import "github.com/cloudevents/sdk-go/v2/event"

// NewAll returns the all dialect. Like Knative's allFilter it stops at the
// first Fail and otherwise returns the result of the last child (so a trailing
// NoFilter child makes the whole NoFilter); with no children it is NoFilter and
// with one child it is that child.
func NewAll(children ...Filter) Filter {
	if len(children) == 1 {
		return children[0]
	}
	return matcher{func(e event.Event) Result {
		res := NoFilter
		for _, c := range children {
			res = c.Evaluate(e)
			if res == Fail {
				return Fail
			}
		}
		return res
	}}
}
