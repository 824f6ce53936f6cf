// Package function is the evaluator Knative function: Keptn's
// lighthouse-service (evaluation.triggered → get-sli.triggered,
// get-sli.finished → evaluation.finished). The logic lives in
// github.com/slipwayhq/slipway/shared/evaluation/lighthouse.
package function

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/evaluation/lighthouse"
	"github.com/slipwayhq/slipway/shared/executor"
)

// Function is the instanced function.
type Function struct{ l *lighthouse.Lighthouse }

// New returns the function; Start configures it.
func New() *Function { return &Function{} }

// Start reads the configuration from the environment.
func (f *Function) Start(ctx context.Context, _ map[string]string) error {
	log, err := zap.NewProduction()
	if err != nil {
		return err
	}
	f.l, err = lighthouse.FromEnv(log.Named("evaluator"))
	return err
}

// Handle answers one event (400 for malformed ones, 500 to be retried).
func (f *Function) Handle(ctx context.Context, e event.Event) error {
	if f.l == nil {
		return fmt.Errorf("evaluator: not started")
	}
	return executor.Result(f.l.Handle(ctx, e))
}

// Stop has nothing to wait for: every event is handled within its request.
func (f *Function) Stop(context.Context) error { return nil }
