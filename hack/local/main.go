// Command local runs Slipway on one machine: `go run ./hack/local`.
// It prints the API address and token, and keeps runs across restarts in
// its data directory (SLIPWAY_DATA_DIR, default ./.data), or in Firestore
// with SLIPWAY_STORE=firestore (several runtimes may share one database,
// as replicas of the control-plane function do).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kelseyhightower/envconfig"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/api"
	"github.com/slipwayhq/slipway/shared/bridge"
	"github.com/slipwayhq/slipway/shared/localrt"
	"github.com/slipwayhq/slipway/shared/store"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "slipway:", err)
		os.Exit(1)
	}
}

func run() error {
	var cfg localrt.Config
	if err := envconfig.Process("", &cfg); err != nil {
		return err
	}
	apiCfg, err := api.LoadConfig()
	if err != nil {
		return err
	}
	cfg.API = apiCfg
	if cfg.Bridge, err = bridge.LoadConfig(); err != nil {
		return err
	}
	log, err := newLogger()
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // nothing to do about a failed flush at exit

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	openStore, isEmbedded, err := storeOpener(ctx, cfg, log)
	if err != nil {
		return err
	}
	localrt.TuneRuntime(isEmbedded)
	var opened store.Store // the executors resolve API-created secrets in it
	open := func(dir string) (store.Store, error) {
		st, err := openStore(dir)
		opened = st
		return st, err
	}
	rt, err := localrt.Start(ctx, cfg, open, log, executors(ctx, cfg, log, func() store.Store { return opened }))
	if err != nil {
		return err
	}
	// Machine-readable lines first: tests and scripts parse them.
	fmt.Printf("SLIPWAY_API_URL=%s\nSLIPWAY_API_TOKEN=%s\nSLIPWAY_BROKER_URL=%s\n", rt.APIURL, rt.Token, rt.BrokerURL)
	fmt.Printf("Slipway is up. API: %s/api  (header x-token: %s)\n", rt.APIURL, rt.Token)
	<-ctx.Done()
	fmt.Println("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	return rt.Close(sctx)
}

func newLogger() (*zap.Logger, error) {
	if os.Getenv("SLIPWAY_LOG") == "debug" {
		return zap.NewDevelopment()
	}
	c := zap.NewProductionConfig()
	c.OutputPaths = []string{"stderr"}
	return c.Build()
}
