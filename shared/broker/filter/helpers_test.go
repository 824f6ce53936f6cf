package filter

import (
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// testEvent is type=com.example.wf.step.completed source=/wf/build subject unset,
// with a string extension workflowid=wf-42 and an int32 extension attempt=3.
func testEvent(t *testing.T) event.Event {
	t.Helper()
	e := event.New()
	e.SetID("id-1")
	e.SetType("com.example.wf.step.completed")
	e.SetSource("/wf/build")
	e.SetTime(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC))
	e.SetExtension("workflowid", "wf-42")
	e.SetExtension("attempt", 3)
	e.SetExtension("empty", "")
	return e
}

func mustFilter(t *testing.T, f Filter, err error) Filter {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// fixed returns a filter with a constant result, to test combinators.
func fixed(r Result) Filter { return matcher{func(event.Event) Result { return r }} }
