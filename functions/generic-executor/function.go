// Package function is the generic-executor Knative function: generic
// executor scripts and .http files, webhooks and remediation get-action,
// replying to the broker at K_SINK. The logic lives in
// github.com/slipwayhq/slipway/shared/executor; see its package doc for why
// work runs after the request was acked.
package function

import (
	"context"
	"fmt"
	"os"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/kelseyhightower/envconfig"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/executor/service"
	"github.com/slipwayhq/slipway/shared/secrets"
	"github.com/slipwayhq/slipway/shared/store/storeconn"
)

// Function is the instanced function.
type Function struct {
	svc   *service.Service
	close func() error
}

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
	// With SLIPWAY_SECRETS_KEY, webhooks also resolve secrets created
	// through the API (store from FIRESTORE_PROJECT, as the api function).
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
		cfg.Secrets = secrets.Reader{Manager: sm, Scope: secrets.ScopeWebhook, Dir: secrets.Dir(cfg.SecretsDir)}
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
	if f.close != nil {
		defer f.close() //nolint:errcheck // shutting down
	}
	if f.svc == nil {
		return nil
	}
	return f.svc.Drain(ctx)
}
