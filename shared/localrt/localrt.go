// Package localrt is Slipway's one-machine runtime: the dev broker, every
// function served over HTTP on its own loopback port (as Knative runs them),
// the embedded store in a data directory and a ticker for the sweeper. It is
// a product mode, not a test double: state persists and survives restarts.
package localrt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/api"
	"github.com/slipwayhq/slipway/shared/bridge"
	"github.com/slipwayhq/slipway/shared/broker"
	"github.com/slipwayhq/slipway/shared/controlplane"
	"github.com/slipwayhq/slipway/shared/controlplane/apiview"
	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/publish"
	"github.com/slipwayhq/slipway/shared/secrets"
	"github.com/slipwayhq/slipway/shared/store"
)

// Config is read from the environment (see the README's table).
type Config struct {
	// DataDir holds the embedded store and the generated API token.
	DataDir string `envconfig:"SLIPWAY_DATA_DIR" default:".data"`
	// APIAddr is where the REST API listens; port 0 picks a free port.
	APIAddr string `envconfig:"SLIPWAY_API_ADDR" default:"127.0.0.1:8080"`
	// BrokerAddr is the broker ingress address; external executors POST
	// their events here (or to the API).
	BrokerAddr string `envconfig:"SLIPWAY_BROKER_ADDR" default:"127.0.0.1:0"`
	// Token is the API token; empty means generate one once and keep it in
	// the data directory.
	Token string `envconfig:"SLIPWAY_API_TOKEN"`
	// TriggerDirs are directories of Trigger manifests to route by, besides
	// the project's triggers/ directory (external executors subscribe here).
	TriggerDirs []string `envconfig:"SLIPWAY_TRIGGER_DIRS"`
	// ProjectTriggers is the project's own triggers/ directory.
	ProjectTriggers string `envconfig:"SLIPWAY_PROJECT_TRIGGERS" default:"triggers"`
	// SweepInterval is how often the sweeper runs (Knative: PingSource, 1m).
	SweepInterval time.Duration `envconfig:"SLIPWAY_SWEEP_INTERVAL" default:"1s"`
	// TaskStartedWaitDuration is Keptn's started-timeout.
	TaskStartedWaitDuration time.Duration `envconfig:"TASK_STARTED_WAIT_DURATION" default:"10m"`
	// TaskFinishedTimeout is the default finished-timeout (0 = none); 2h so a
	// task whose executor died mid-script ends instead of waiting forever.
	TaskFinishedTimeout time.Duration `envconfig:"TASK_FINISHED_TIMEOUT" default:"2h"`
	// OutboxRetry is how long an event the control plane committed but could
	// not confirm as published (a crash in between) waits before the
	// sweeper publishes it again; as the control-plane function reads it.
	OutboxRetry time.Duration `envconfig:"OUTBOX_RETRY" default:"30s"`
	// SecretsKey is the base64 AES-256 key sealing API-created secrets;
	// empty means a key kept in the data directory (secrets.key, 0600).
	SecretsKey string `envconfig:"SLIPWAY_SECRETS_KEY"`
	// HistoryRetention deletes the event history of finished contexts
	// (every run finished or timed out) once older than this; 0 (the
	// default) keeps it forever. Runs stay; deletion runs in the
	// background in small transactions, never holding up a transition.
	HistoryRetention time.Duration `envconfig:"SLIPWAY_HISTORY_RETENTION" default:"0"`
	// API configures the REST API as the api function reads it (api.LoadConfig:
	// MAX_EVENT_SIZE_KB, UNIFORM_INTEGRATION_TTL, LOG_TTL, ...). The runtime's
	// token is added to its tokens.
	API api.Config `ignored:"true"`
	// Bridge configures the web view served with the API (bridge.LoadConfig:
	// BASIC_AUTH_USERNAME/PASSWORD, BRIDGE_READ_ONLY, ...).
	Bridge bridge.Config `ignored:"true"`
}

// Function is an extra function the runtime serves (executors); Name is what
// Trigger subscriber refs use.
type Function struct {
	Name    string
	Handler http.Handler
	// Close, if set, runs on shutdown after the broker drained (executors
	// finish or abandon running work here).
	Close func(ctx context.Context) error
}

// Runtime is a running local Slipway.
type Runtime struct {
	APIURL    string
	BrokerURL string
	Token     string
	Services  map[string]string // function name → base URL

	Store        store.Store
	ControlPlane *controlplane.Service
	Broker       *broker.Broker

	log     *zap.Logger
	closers []func(context.Context) error
	servers []*http.Server
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

// SecretManager returns the manager of API-created secrets over st (nil if
// st keeps none), keyed by cfg.SecretsKey or the data directory's key file;
// the runtime's API and executors share it.
func SecretManager(cfg Config, st store.Store) (*secrets.Manager, error) {
	sm, err := secrets.OpenManager(st, cfg.SecretsKey, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	return sm, nil
}

// OpenStore opens the embedded store in dir.
type OpenStore func(dir string) (store.Store, error)

// Start brings the runtime up. extra functions are built after the broker
// exists, since they publish into it.
func Start(ctx context.Context, cfg Config, open OpenStore, log *zap.Logger,
	extra func(brokerURL, apiURL, token string) ([]Function, error)) (*Runtime, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	token, err := loadToken(cfg)
	if err != nil {
		return nil, err
	}
	st, err := open(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("open store in %s: %w", cfg.DataDir, err)
	}
	rt := &Runtime{Store: st, Token: token, log: log, Services: map[string]string{}}
	ok := false
	defer func() {
		if !ok {
			_ = rt.Close(context.Background())
		}
	}()

	// Listeners first: the broker needs every subscriber's URL.
	listen := func(addr string) (net.Listener, string, error) {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, "", fmt.Errorf("listen %s: %w", addr, err)
		}
		return l, "http://" + l.Addr().String(), nil
	}
	brokerL, brokerURL, err := listen(cfg.BrokerAddr)
	if err != nil {
		return nil, err
	}
	apiL, apiURL, err := listen(cfg.APIAddr)
	if err != nil {
		brokerL.Close()
		return nil, err
	}
	rt.APIURL, rt.BrokerURL = apiURL, brokerURL
	pub, err := publish.NewHTTP(brokerURL, 10*time.Second)
	if err != nil {
		return nil, err
	}
	eng := engine.New(engine.Config{StartedTimeout: cfg.TaskStartedWaitDuration, FinishedTimeout: cfg.TaskFinishedTimeout,
		OutboxRetry: cfg.OutboxRetry})
	cp := controlplane.New(st, pub, eng, controlplane.WithLogger(log.Named("control-plane")))
	rt.ControlPlane = cp

	fns := []Function{
		{Name: "control-plane", Handler: CEHandler(controlplane.NewFunction(cp, pub).Handle)},
		{Name: "slipway-dead-letter", Handler: CEHandler(deadLetter(log.Named("dead-letter")))},
	}
	if extra != nil {
		more, err := extra(brokerURL, apiURL, token)
		if err != nil {
			return nil, err
		}
		fns = append(fns, more...)
	}
	apiCfg := cfg.API
	apiCfg.Tokens = append([]string{token}, apiCfg.Tokens...)
	// The broker authenticates to the history ingest with a token of its
	// own, fresh for each start: only this process's broker holds it.
	historyToken := rand.Text()
	apiCfg.HistoryTokens = append([]string{historyToken}, apiCfg.HistoryTokens...)
	historyHeader := http.Header{}
	historyHeader.Set(api.HistoryTokenHeader, historyToken)
	apiDeps := api.Deps{Store: st, Publisher: pub, Sequences: apiview.Sequences{CP: cp}, Claims: apiview.Claims{CP: cp}, Logger: log.Named("api")}
	sm, err := SecretManager(cfg, st)
	if err != nil {
		return nil, err
	}
	if sm != nil {
		apiDeps.Secrets = sm
	}
	apiHandler := api.New(apiCfg, apiDeps)
	// The Bridge and the API page share the API's listener, as in the api function.
	served, err := bridge.Mount(cfg.Bridge, apiHandler, token, log.Named("bridge"))
	if err != nil {
		return nil, err
	}
	rt.Services["api"] = apiURL
	for _, f := range fns {
		l, u, err := listen("127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		rt.Services[f.Name] = u
		rt.serve(l, f.Handler)
		if f.Close != nil {
			rt.closers = append(rt.closers, f.Close)
		}
	}

	dirs := []string{}
	if cfg.ProjectTriggers != "" {
		dirs = append(dirs, cfg.ProjectTriggers)
	}
	dirs = append(dirs, cfg.TriggerDirs...)
	b, err := broker.New(broker.Options{TriggerDirs: dirs, Services: rt.Services, Logger: log.Named("broker"),
		ServiceHeaders: map[string]http.Header{"api": historyHeader}})
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	rt.Broker = b
	rt.serve(brokerL, b)
	rt.serve(apiL, served)

	loopCtx, stop := context.WithCancel(context.Background())
	rt.stop = stop
	rt.wg.Add(1)
	go rt.sweep(loopCtx, cp, cfg.SweepInterval)
	if purge := st.Capabilities().PurgeHistory; cfg.HistoryRetention > 0 && purge != nil {
		rt.wg.Add(1)
		go rt.retain(loopCtx, purge, cfg.HistoryRetention)
	}
	ok = true
	return rt, nil
}

func (rt *Runtime) serve(l net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	rt.servers = append(rt.servers, srv)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			rt.log.Error("server stopped", zap.Error(err))
		}
	}()
}

// sweep runs the control plane's sweeper on a ticker (Knative: PingSource).
func (rt *Runtime) sweep(ctx context.Context, cp *controlplane.Service, every time.Duration) {
	defer rt.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := cp.Sweep(ctx); err != nil && ctx.Err() == nil {
			rt.log.Warn("sweep", zap.Int("runs", n), zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// retain deletes history older than keep, once at start and then every
// keep/10 (at most a minute, at least a second).
func (rt *Runtime) retain(ctx context.Context, purge func(context.Context, store.HistoryPurge) (int, error), keep time.Duration) {
	defer rt.wg.Done()
	every := min(max(keep/10, time.Second), time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := purge(ctx, store.HistoryPurge{Before: time.Now().Add(-keep),
			Unfinished: func(s string) bool { return !engine.State(s).Terminal() }})
		if err != nil && ctx.Err() == nil {
			rt.log.Warn("history retention", zap.Int("deleted", n), zap.Error(err))
		} else if n > 0 {
			rt.log.Info("history retention", zap.Int("deleted", n), zap.Duration("older than", keep))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close shuts down gracefully: stop the sweeper, drain the broker, stop the
// servers, close the store.
func (rt *Runtime) Close(ctx context.Context) error {
	if rt.stop != nil {
		rt.stop()
		rt.wg.Wait()
	}

	var errs []error
	if rt.Broker != nil {
		errs = append(errs, rt.Broker.Close(ctx))
	}
	for _, c := range rt.closers {
		errs = append(errs, c(ctx))
	}
	for _, s := range rt.servers {
		errs = append(errs, s.Shutdown(ctx))
	}
	if rt.Store != nil {
		errs = append(errs, rt.Store.Close())
	}
	return errors.Join(errs...)
}

// deadLetter is the dead-letter sink the Triggers name: in a cluster a
// Knative Service, here a structured error log line per event.
func deadLetter(log *zap.Logger) func(context.Context, event.Event) error {
	return func(_ context.Context, e event.Event) error {
		log.Error("event dead-lettered", zap.String("id", e.ID()), zap.String("type", e.Type()),
			zap.Any("destination", e.Extensions()["knativeerrordest"]), zap.Any("code", e.Extensions()["knativeerrorcode"]))
		return nil
	}
}

func loadToken(cfg Config) (string, error) {
	if cfg.Token != "" {
		return cfg.Token, nil
	}
	path := filepath.Join(cfg.DataDir, "api-token")
	if raw, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(raw))) > 0 {
		return strings.TrimSpace(string(raw)), nil
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	tok := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("store token: %w", err)
	}
	return tok, nil
}
