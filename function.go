// Package slipway is the control-plane Knative function (func.yaml beside
// this file): it applies sequence triggers, task events, approvals and the
// sweeper tick to the store and publishes the resulting events to K_SINK.
// The logic lives in shared/controlplane; this file only wires it.
package slipway

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/kelseyhightower/envconfig"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/controlplane"
	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/publish"
	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/storeconn"
)

// Config is read from the environment.
type Config struct {
	Sink   string `envconfig:"K_SINK" required:"true"`
	Store  storeconn.Config
	Engine engine.Config
}

// Function is the instanced control-plane function.
type Function struct {
	fn    atomic.Pointer[controlplane.Function]
	store store.Store
}

// New returns the function; Start wires it (func-go calls Start, and serves
// only once Ready answers true).
func New() *Function { return &Function{} }

// Start reads the configuration and opens the store and the publisher.
func (f *Function) Start(ctx context.Context, _ map[string]string) error {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		return fmt.Errorf("control-plane config: %w", err)
	}
	log, err := zap.NewProduction()
	if err != nil {
		return err
	}
	st, err := storeconn.Open(ctx, c.Store)
	if err != nil {
		return err
	}
	pub, err := publish.NewHTTP(c.Sink, 0)
	if err != nil {
		return errors.Join(err, st.Close())
	}
	f.store = st
	svc := controlplane.New(st, pub, engine.New(c.Engine), controlplane.WithLogger(log.Named("control-plane")))
	f.fn.Store(controlplane.NewFunction(svc, pub))
	return nil
}

// Handle applies one event; 400 for events that can never apply, 500 (retry)
// for transient failures.
func (f *Function) Handle(ctx context.Context, e event.Event) error {
	fn := f.fn.Load()
	if fn == nil {
		return errors.New("control-plane: not started") // 500: the broker retries
	}
	return fn.Handle(ctx, e)
}

// Ready reports whether Start finished.
func (f *Function) Ready(context.Context) (bool, error) { return f.fn.Load() != nil, nil }

// Stop closes the store.
func (f *Function) Stop(context.Context) error {
	if f.store == nil {
		return nil
	}
	return f.store.Close()
}
