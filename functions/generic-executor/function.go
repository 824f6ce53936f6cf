// Package function is the generic-executor Knative function: generic
// executor scripts and .http files, webhooks and remediation get-action,
// replying to the broker at K_SINK. The logic lives in
// github.com/slipwayhq/slipway/shared/executor; see its package doc for why
// work runs after the request was acked.
package function

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/executor/service"
)

// Function is the instanced function.
type Function struct{ svc *service.Service }

// New returns the function; Start configures it.
func New() *Function { return &Function{} }

// Start reads the configuration from the environment.
func (f *Function) Start(ctx context.Context, _ map[string]string) error {
	cfg, err := service.FromEnv()
	if err != nil {
		return err
	}
	log, err := zap.NewProduction()
	if err != nil {
		return err
	}
	f.svc, err = service.New(cfg, log.Named("generic-executor"))
	return err
}

// Handle acks an event once its immediate replies were sent.
func (f *Function) Handle(ctx context.Context, e event.Event) error {
	if f.svc == nil {
		return fmt.Errorf("generic-executor: not started")
	}
	return f.svc.Handle(ctx, e)
}

// Stop waits for running work until ctx ends.
func (f *Function) Stop(ctx context.Context) error {
	if f.svc == nil {
		return nil
	}
	return f.svc.Drain(ctx)
}
