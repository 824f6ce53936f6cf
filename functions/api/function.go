// Package function is the api Knative function: Keptn's REST API under
// /api and the event-history ingest at /internal/history. The logic lives in
// github.com/slipwayhq/slipway/shared/api; this shim opens the store and the
// broker publisher from the environment and serves the handler.
package function

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/kelseyhightower/envconfig"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/api"
	"github.com/slipwayhq/slipway/shared/bridge"
	"github.com/slipwayhq/slipway/shared/controlplane/apiview"
	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/publish"
	"github.com/slipwayhq/slipway/shared/secrets"
	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/storeconn"
)

// Env is the function's own configuration; the API's is api.Config.
type Env struct {
	// Sink is the broker; Knative sets K_SINK.
	Sink string `envconfig:"K_SINK" required:"true"`
	// Store selects Firestore (FIRESTORE_PROJECT) or the embedded store.
	Store storeconn.Config
	// Engine must match the control-plane function's settings.
	Engine engine.Config
	// SecretsKey (base64 AES-256, from a Kubernetes Secret) seals the
	// secrets the API creates (/api/secrets/v1) in the store, Firestore
	// collection <prefix>secrets included; without it those routes answer 501.
	SecretsKey string `envconfig:"SLIPWAY_SECRETS_KEY"`
}

// Function is the instanced function.
type Function struct {
	h     http.Handler
	log   *zap.Logger
	close []func() error
}

// New returns the function; Start configures it.
func New() *Function { return &Function{} }

// Start reads the configuration from the environment, opens the store and
// the publisher and builds the handler.
func (f *Function) Start(ctx context.Context, _ map[string]string) error {
	var env Env
	if err := envconfig.Process("", &env); err != nil {
		return fmt.Errorf("api function config: %w", err)
	}
	cfg, err := api.LoadConfig()
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	bcfg, err := bridge.LoadConfig()
	if err != nil {
		return err
	}
	log, err := zap.NewProduction()
	if err != nil {
		return err
	}
	f.log = log.Named("api")
	st, err := f.openStore(ctx, env)
	if err != nil {
		return err
	}
	pub, err := publish.NewHTTP(env.Sink, 10*time.Second)
	if err != nil {
		return err
	}
	seq, err := NewSequences(st, pub, env.Engine, f.log)
	if err != nil {
		return fmt.Errorf("sequences: %w", err)
	}
	deps := api.Deps{Store: st, Publisher: pub, Sequences: seq, Logger: f.log}
	if v, ok := seq.(apiview.Sequences); ok {
		deps.Claims = apiview.Claims{CP: v.CP} // executors claim tasks through the API
	}
	if env.SecretsKey != "" {
		sm, err := secrets.OpenManager(st, env.SecretsKey, "")
		if err != nil {
			return err
		}
		if sm != nil {
			deps.Secrets = sm
		}
	}
	apiHandler := api.New(cfg, deps)
	// The Bridge and the API page, calling the API in process with the
	// first configured token.
	token := cfg.SecretToken
	if token == "" && len(cfg.Tokens) > 0 {
		token = cfg.Tokens[0]
	}
	if f.h, err = bridge.Mount(bcfg, apiHandler, token, f.log.Named("bridge")); err != nil {
		return err
	}
	return nil
}

func (f *Function) openStore(ctx context.Context, env Env) (store.Store, error) {
	st, err := storeconn.Open(ctx, env.Store)
	if err != nil {
		return nil, err
	}
	f.close = append(f.close, st.Close)
	return st, nil
}

// Handle serves one request.
func (f *Function) Handle(w http.ResponseWriter, r *http.Request) {
	if f.h == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"code":503,"message":"api function not started"}` + "\n"))
		return
	}
	f.h.ServeHTTP(w, r)
}

// Stop closes the store.
func (f *Function) Stop(context.Context) error {
	var errs []error
	for i := len(f.close) - 1; i >= 0; i-- {
		errs = append(errs, f.close[i]())
	}
	f.close = nil
	if f.log != nil {
		_ = f.log.Sync()
	}
	return errors.Join(errs...)
}
