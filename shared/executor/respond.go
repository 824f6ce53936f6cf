package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"github.com/slipwayhq/slipway/shared/keptn"
)

// Outcome is what a .finished event reports.
type Outcome struct {
	Status  keptn.Status // "" = succeeded
	Result  keptn.Result // "" = pass
	Message string
	// Payload goes under data.<task> (nil: none).
	Payload map[string]any
	// Extra sets further top-level data keys (e.g. data.action for
	// get-action); the common block (project, stage, ...) cannot be changed.
	Extra map[string]any
}

// Fail is an Outcome with status succeeded and result fail (the work ran
// and failed).
func Fail(msg string) Outcome {
	return Outcome{Status: keptn.StatusSucceeded, Result: keptn.ResultFail, Message: msg}
}

// Errored is an Outcome with status errored and result fail (the work could
// not run properly: timeout, abort, configuration error, ...).
func Errored(msg string) Outcome {
	return Outcome{Status: keptn.StatusErrored, Result: keptn.ResultFail, Message: msg}
}

// Responder builds and sends responses to .triggered events.
type Responder struct {
	Source string
	Sender Sender
	Now    func() time.Time // nil: time.Now
}

func (r Responder) meta() keptn.Meta {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	return keptn.Meta{ID: uuid.NewString(), Source: r.Source, Time: now()}
}

// StartedEvent builds the .started response to triggered.
func (r Responder) StartedEvent(triggered event.Event, message string) (event.Event, error) {
	return keptn.Respond(triggered, keptn.KindStarted, r.meta(), keptn.Data{Status: keptn.StatusSucceeded, Message: message}, nil)
}

// FinishedEvent builds the .finished response to triggered.
func (r Responder) FinishedEvent(triggered event.Event, o Outcome) (event.Event, error) {
	if o.Status == "" {
		o.Status = keptn.StatusSucceeded
	}
	if o.Result == "" {
		o.Result = keptn.ResultPass
	}
	var payload any
	if o.Payload != nil {
		payload = o.Payload
	}
	e, err := keptn.Respond(triggered, keptn.KindFinished, r.meta(), keptn.Data{Status: o.Status, Result: o.Result, Message: o.Message}, payload)
	if err != nil || len(o.Extra) == 0 {
		return e, err
	}
	body := map[string]any{}
	if err := json.Unmarshal(e.Data(), &body); err != nil {
		return event.Event{}, fmt.Errorf("finished data: %w", err)
	}
	for k, v := range o.Extra {
		switch k {
		case "project", "stage", "service", "labels", "status", "result", "message":
			continue
		}
		body[k] = v
	}
	if err := e.SetData(event.ApplicationJSON, body); err != nil {
		return event.Event{}, fmt.Errorf("finished data: %w", err)
	}
	return e, nil
}

// Started sends the .started response.
func (r Responder) Started(ctx context.Context, triggered event.Event, message string) error {
	e, err := r.StartedEvent(triggered, message)
	if err != nil {
		return err
	}
	return r.Sender.Send(ctx, e)
}

// Finished sends the .finished response.
func (r Responder) Finished(ctx context.Context, triggered event.Event, o Outcome) error {
	e, err := r.FinishedEvent(triggered, o)
	if err != nil {
		return err
	}
	return r.Sender.Send(ctx, e)
}

// TruncateMessage caps a message at max bytes (on a UTF-8 boundary) with a
// marker, keeping events far below the broker's size limits.
func TruncateMessage(s string, max int) string {
	if max <= 0 || len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + fmt.Sprintf("\n[... truncated: %d bytes omitted ...]", len(s)-cut)
}
