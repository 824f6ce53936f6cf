// Command local runs Slipway on one machine: `go run ./hack/local`.
// It prints the API address and token, and keeps runs across restarts in
// its data directory (SLIPWAY_DATA_DIR, default ./.data).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kelseyhightower/envconfig"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/api"
	"github.com/slipwayhq/slipway/shared/bridge"
	"github.com/slipwayhq/slipway/shared/localrt"
	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "slipway:", err)
		os.Exit(1)
	}
}

func run() error {
	localrt.TuneRuntime(true) // this runtime always runs the embedded store
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
	var opened store.Store // the executors resolve API-created secrets in it
	open := func(dir string) (store.Store, error) {
		// Until 2026-11-30 the store was a bbolt file beside it; say so
		// rather than look as if its runs were lost.
		if _, err := os.Stat(filepath.Join(dir, "slipway.db")); err == nil {
			log.Warn("an older store file (bbolt) is in the data directory; this version keeps its store in the store/ directory and does not read it",
				zap.String("file", filepath.Join(dir, "slipway.db")))
		}
		st, err := embedded.Open(filepath.Join(dir, "store"))
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
