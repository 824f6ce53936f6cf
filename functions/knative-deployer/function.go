// Package function is the knative-deployer Knative function: Keptn's
// deployment (direct, blue_green_service), release and rollback tasks on
// Knative Serving Services, replying to the broker at K_SINK. The logic
// lives in github.com/slipwayhq/slipway/shared/deployer/knative.
package function

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/deployer/knative"
	"github.com/slipwayhq/slipway/shared/deployer/knative/fakeserving"
	"github.com/slipwayhq/slipway/shared/executor"
)

// Function is the instanced function.
type Function struct {
	d         *knative.Deployer
	stopFake  context.CancelFunc
	fakeEnded chan error
}

// New returns the function; Start configures it.
func New() *Function { return &Function{} }

// Start reads the configuration and connects to the cluster the pod runs
// in, or to an in-memory one with DEPLOY_FAKE_CLUSTER=true.
func (f *Function) Start(_ context.Context, _ map[string]string) error {
	env, err := knative.FromEnv()
	if err != nil {
		return err
	}
	log, err := zap.NewProduction()
	if err != nil {
		return err
	}
	sender := &executor.HTTPSender{URL: env.Sink}
	if env.FakeCluster {
		c := fakeserving.New(env.FakeDomain)
		ctx, cancel := context.WithCancel(context.Background())
		f.stopFake, f.fakeEnded = cancel, make(chan error, 1)
		go func() { f.fakeEnded <- c.Run(ctx) }()
		f.d = knative.New(env.Config, c.Clientset.ServingV1(), sender, log.Named("knative-deployer"))
		return nil
	}
	client, err := knative.InCluster()
	if err != nil {
		return err
	}
	f.d = knative.New(env.Config, client, sender, log.Named("knative-deployer"))
	return nil
}

// Handle acks an event once its .started (if any) was sent.
func (f *Function) Handle(ctx context.Context, e event.Event) error {
	if f.d == nil {
		return errors.New("knative-deployer: not started")
	}
	return executor.Result(f.d.Handle(ctx, e))
}

// Stop stops waiting for Services (running tasks finish as aborted).
func (f *Function) Stop(ctx context.Context) error {
	var err error
	if f.d != nil {
		err = f.d.Shutdown(ctx)
	}
	if f.stopFake != nil {
		f.stopFake()
		if ferr := <-f.fakeEnded; ferr != nil {
			err = errors.Join(err, fmt.Errorf("fake cluster: %w", ferr))
		}
	}
	return err
}
