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
	var cfg localrt.Config
	if err := envconfig.Process("", &cfg); err != nil {
		return err
	}
	apiCfg, err := api.LoadConfig()
	if err != nil {
		return err
	}
	cfg.API = apiCfg
	log, err := newLogger()
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // nothing to do about a failed flush at exit

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	open := func(dir string) (store.Store, error) { return embedded.Open(filepath.Join(dir, "store")) }
	rt, err := localrt.Start(ctx, cfg, open, log, executors(ctx, cfg, log))
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
