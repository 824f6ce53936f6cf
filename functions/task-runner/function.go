// Package function is the task-runner Knative function: Keptn Lifecycle
// Toolkit KeptnTaskDefinitions (deno, python, container) for task
// .triggered events, replying to the broker at K_SINK. The logic lives in
// github.com/slipwayhq/slipway/shared/taskrunner. Handle acks a .triggered
// event once its .started was sent; the definitions run after that and the
// .finished is sent when they are done, so tasks may outlast Knative's
// request timeout.
package function

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/taskrunner"
	"github.com/slipwayhq/slipway/shared/taskrunner/k8sjob"
)

// Function is the instanced function.
type Function struct{ runner *taskrunner.Runner }

// New returns the function; Start configures it.
func New() *Function { return &Function{} }

// Start reads the configuration from the environment. Inside a Kubernetes
// cluster the container runtime runs Jobs there; outside it fails clearly.
func (f *Function) Start(ctx context.Context, _ map[string]string) error {
	cfg, err := taskrunner.FromEnv()
	if err != nil {
		return err
	}
	log, err := zap.NewProduction()
	if err != nil {
		return err
	}
	var jobs taskrunner.JobRunner
	switch k, err := k8sjob.NewInCluster(k8sjob.Options{Namespace: cfg.JobNamespace}); {
	case err == nil:
		jobs = k
	case !errors.Is(err, k8sjob.ErrNotInCluster):
		return err
	}
	f.runner, err = taskrunner.NewService(cfg, jobs, log.Named("task-runner"))
	return err
}

// Handle acks an event once its .started (if any) was sent.
func (f *Function) Handle(ctx context.Context, e event.Event) error {
	if f.runner == nil {
		return fmt.Errorf("task-runner: not started")
	}
	return f.runner.Handle(ctx, e)
}

// Stop aborts running tasks (their .finished says so) and waits until ctx.
func (f *Function) Stop(ctx context.Context) error {
	if f.runner == nil {
		return nil
	}
	return f.runner.Shutdown(ctx)
}
