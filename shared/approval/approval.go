// Package approval answers sh.keptn.event.approval.triggered like Keptn's
// approval-service: always a .started, and a .finished when the strategy for
// the incoming result is automatic (or the result is fail, which declines).
package approval

import (
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/keptn"
)

// Source of the events this responder sends.
const Source = "approval-service"

// Strategy values of an approval task's properties.
const (
	Automatic = "automatic"
	Manual    = "manual"
)

// Decide returns the result an approval gets without a person, and whether
// there is one. Missing strategies count as manual (Keptn's code; its spec
// said automatic). A warning approved automatically passes.
func Decide(result keptn.Result, pass, warning string) (keptn.Result, bool) {
	switch result {
	case keptn.ResultFail:
		return keptn.ResultFail, true
	case keptn.ResultPass:
		if pass == Automatic {
			return keptn.ResultPass, true
		}
	case keptn.ResultWarning:
		if warning == Automatic {
			return keptn.ResultPass, true
		}
	}
	return "", false
}

// Respond builds the responses to an approval.triggered event. ids derives
// deterministic event ids so a redelivered trigger yields the same events.
func Respond(triggered event.Event, now time.Time, ids func(parts ...string) string) ([]event.Event, error) {
	d, data, err := keptn.DecodeData(triggered)
	if err != nil {
		return nil, err
	}
	result := d.Result
	if result == "" {
		if ev, ok := data["evaluation"].(map[string]any); ok {
			r, _ := ev["result"].(string)
			result = keptn.Result(r)
		}
	}
	var pass, warning string
	if a, ok := data["approval"].(map[string]any); ok {
		pass, _ = a["pass"].(string)
		warning, _ = a["warning"].(string)
	}
	strategy := pass
	if result == keptn.ResultWarning {
		strategy = warning
	}
	if strategy == "" {
		strategy = Manual
	}
	meta := func(kind string) keptn.Meta {
		return keptn.Meta{ID: ids(triggered.ID(), "approval", kind), Source: Source, Time: now}
	}
	started, err := keptn.Respond(triggered, keptn.KindStarted, meta("started"), keptn.Data{
		Status: keptn.StatusSucceeded, Message: fmt.Sprintf("Approval strategy for result '%s': %s", result, strategy)}, nil)
	if err != nil {
		return nil, err
	}
	out := []event.Event{started}
	if decided, ok := Decide(result, pass, warning); ok {
		fin, err := keptn.Respond(triggered, keptn.KindFinished, meta("finished"), keptn.Data{
			Status: keptn.StatusSucceeded, Result: decided, Message: "approved automatically"}, nil)
		if err != nil {
			return nil, err
		}
		if decided == keptn.ResultFail {
			fin, _ = keptn.Respond(triggered, keptn.KindFinished, meta("finished"), keptn.Data{
				Status: keptn.StatusSucceeded, Result: decided, Message: "declined: the result was fail"}, nil)
		}
		out = append(out, fin)
	}
	return out, nil
}
