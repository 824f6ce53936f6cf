package filter

import "github.com/cloudevents/sdk-go/v2/event"

// NewAny returns the any dialect: it ORs the children's results (NoFilter is
// neutral) and stops at the first Pass; with no children it is NoFilter.
func NewAny(children ...Filter) Filter {
	return matcher{func(e event.Event) Result {
		res := NoFilter
		for _, c := range children {
			res = res.Or(c.Evaluate(e))
			if res == Pass {
				return Pass
			}
		}
		return res
	}}
}
