// Package function is the Prometheus SLI provider Knative function: it
// answers get-sli.triggered for sliProvider prometheus like Keptn's
// prometheus-service. The logic lives in
// github.com/slipwayhq/slipway/shared/sli/prometheus.
package function

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/sli/prometheus"
)

// Function is the instanced function.
type Function struct{ p *prometheus.Provider }

// New returns the function; Start configures it.
func New() *Function { return &Function{} }

// Start reads the configuration from the environment.
func (f *Function) Start(ctx context.Context, _ map[string]string) error {
	log, err := zap.NewProduction()
	if err != nil {
		return err
	}
	f.p, err = prometheus.FromEnv(log.Named("prometheus-sli"))
	return err
}

// Handle answers one event within its request (queries are bounded by
// PROMETHEUS_QUERY_TIMEOUT, below the Trigger's delivery timeout).
func (f *Function) Handle(ctx context.Context, e event.Event) error {
	if f.p == nil {
		return fmt.Errorf("prometheus-sli: not started")
	}
	return executor.Result(f.p.Handle(ctx, e))
}

// Stop has nothing to wait for.
func (f *Function) Stop(context.Context) error { return nil }
