// Package filter evaluates Knative Trigger filters on CloudEvents without
// importing knative.dev/*. It mirrors knative.dev/eventing's
// pkg/eventfilter/attributes (the legacy filter.attributes dialect) and
// pkg/eventfilter/subscriptionsapi (the filters dialects exact, prefix,
// suffix, all, any and not), one file per dialect, so that for every spec
// Compile accepts, Match gives the verdict Knative's broker filter gives.
//
// Where Knative's webhook accepts a spec that its materializer then silently
// drops (an empty value, an element with no dialect), Compile refuses it with
// an error instead of passing every event. CESQL is refused too.
package filter

import (
	"github.com/cloudevents/sdk-go/v2/event"
)

// Result is the three-valued outcome of a filter, as in Knative's
// eventfilter.FilterResult. Only Fail drops an event: NoFilter counts as a pass.
type Result int

// Results. The order matches Knative's (PassFilter, FailFilter, NoFilter).
const (
	Pass Result = iota
	Fail
	NoFilter
)

func (r Result) String() string {
	switch r {
	case Pass:
		return "Pass"
	case Fail:
		return "Fail"
	default:
		return "NoFilter"
	}
}

// And combines two results the way Knative's FilterResult.And does.
func (r Result) And(o Result) Result {
	switch {
	case r == NoFilter:
		return o
	case o == NoFilter:
		return r
	case r == Pass && o == Pass:
		return Pass
	}
	return Fail
}

// Or combines two results the way Knative's FilterResult.Or does.
func (r Result) Or(o Result) Result {
	switch {
	case r == NoFilter:
		return o
	case o == NoFilter:
		return r
	case r == Pass || o == Pass:
		return Pass
	}
	return Fail
}

// Filter is a compiled Trigger filter. Filters are immutable and safe for
// concurrent use; they start no goroutines and need no cleanup.
type Filter interface {
	// Evaluate returns the three-valued result, for comparison with Knative.
	Evaluate(e event.Event) Result
	// Match reports whether the event passes (Evaluate != Fail).
	Match(e event.Event) bool
}

// matcher gives every dialect Match from Evaluate.
type matcher struct{ eval func(event.Event) Result }

func (m matcher) Evaluate(e event.Event) Result { return m.eval(e) }
func (m matcher) Match(e event.Event) bool      { return m.eval(e) != Fail }

// noFilter passes every event (Knative's NoFilter).
func noFilter() Filter { return matcher{func(event.Event) Result { return NoFilter }} }
