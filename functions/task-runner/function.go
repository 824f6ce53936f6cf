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
	"os"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/kelseyhightower/envconfig"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/secrets"
	"github.com/slipwayhq/slipway/shared/store/storeconn"
	"github.com/slipwayhq/slipway/shared/taskrunner"
	"github.com/slipwayhq/slipway/shared/taskrunner/k8sjob"
)

// Function is the instanced function.
type Function struct {
	runner *taskrunner.Runner
	close  func() error
}

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
	// With SLIPWAY_SECRETS_KEY, secureParameters also resolve secrets
	// created through the API (store from FIRESTORE_PROJECT, as the api function).
	if key := os.Getenv("SLIPWAY_SECRETS_KEY"); key != "" {
		var sc storeconn.Config
		if err := envconfig.Process("", &sc); err != nil {
			return fmt.Errorf("store config: %w", err)
		}
		st, err := storeconn.Open(ctx, sc)
		if err != nil {
			return err
		}
		f.close = st.Close
		sm, err := secrets.OpenManager(st, key, "")
		if err != nil {
			return err
		}
		cfg.Secrets = secrets.Reader{Manager: sm, Scope: secrets.ScopeDefault, Dir: secrets.Dir(cfg.SecretsDir)}
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
	if f.close != nil {
		defer f.close() //nolint:errcheck // shutting down
	}
	if f.runner == nil {
		return nil
	}
	return f.runner.Shutdown(ctx)
}
