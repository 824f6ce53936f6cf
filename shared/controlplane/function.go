package controlplane

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/slipwayhq/slipway/shared/approval"
	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/keptn"
)

// Function is what the control-plane function serves: the control plane and
// Keptn's approval responder, with errors mapped to the HTTP results Knative
// acts on (400: never retried; 500: retried with backoff).
type Function struct {
	svc *Service
	pub Publisher
}

// NewFunction wraps a control plane.
func NewFunction(svc *Service, pub Publisher) *Function { return &Function{svc: svc, pub: pub} }

// Service returns the wrapped control plane.
func (f *Function) Service() *Service { return f.svc }

// Handle receives one CloudEvent.
func (f *Function) Handle(ctx context.Context, e event.Event) error {
	var err error
	if e.Type() == keptn.TaskType("approval", keptn.KindTriggered) {
		err = f.approve(ctx, e)
	} else {
		err = f.svc.Handle(ctx, e)
	}
	if errors.Is(err, ErrInvalid) {
		return cehttp.NewResult(http.StatusBadRequest, "%v", err)
	}
	return err
}

// approve answers approval.triggered; deterministic ids make redelivery safe.
func (f *Function) approve(ctx context.Context, e event.Event) error {
	out, err := approval.Respond(e, time.Now(), engine.DeterministicID)
	if err != nil {
		return errors.Join(ErrInvalid, err)
	}
	for _, r := range out {
		if err := f.pub.Publish(ctx, r); err != nil {
			return err
		}
	}
	return nil
}
