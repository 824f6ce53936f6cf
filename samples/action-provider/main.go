// Command action-provider is a sample Keptn remediation action provider
// built with shared/actionkit. It serves two actions:
//
//   - "echo": succeeds with data.action.value as the message;
//   - "scale": expects value {"replicas": N} with 0 < N <= 10 and
//     pretends to scale the service.
//
// It receives CloudEvents over HTTP on ADDR (default :8080) and replies to
// the broker at K_SINK. Every other action is left to other providers.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/cloudevents/sdk-go/v2/client"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/protocol"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/kelseyhightower/envconfig"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/actionkit"
	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/keptn"
)

type config struct {
	Addr string `envconfig:"ADDR" default:":8080"`
	Sink string `envconfig:"K_SINK" required:"true"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "action-provider:", err)
		os.Exit(1)
	}
}

func run() error {
	var cfg config
	if err := envconfig.Process("", &cfg); err != nil {
		return err
	}
	log, err := zap.NewProduction()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	p := newProvider(&executor.HTTPSender{URL: cfg.Sink}, log)
	h, err := newHandler(ctx, p)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: cfg.Addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Info("listening", zap.String("addr", cfg.Addr))
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	p.Wait()
	return nil
}

func newProvider(s executor.Sender, log *zap.Logger) *actionkit.Provider {
	return actionkit.New("sample-action-provider", map[string]actionkit.ActionFunc{
		"echo":  echo,
		"scale": scale,
	}, s, &actionkit.Options{Log: log, Timeout: time.Minute})
}

// newHandler is the CloudEvents HTTP endpoint (binary or structured mode).
func newHandler(ctx context.Context, p *actionkit.Provider) (http.Handler, error) {
	proto, err := cehttp.New()
	if err != nil {
		return nil, err
	}
	return client.NewHTTPReceiveHandler(ctx, proto, func(ctx context.Context, e event.Event) protocol.Result {
		return executor.Result(p.Handle(ctx, e))
	})
}

func echo(_ context.Context, a actionkit.Action) (actionkit.Outcome, error) {
	return actionkit.Outcome{Message: fmt.Sprint(a.Value)}, nil
}

func scale(ctx context.Context, a actionkit.Action) (actionkit.Outcome, error) {
	n, err := strconv.Atoi(a.StringValue("replicas"))
	if err != nil || n <= 0 || n > 10 {
		return actionkit.Outcome{Result: keptn.ResultFail, Message: fmt.Sprintf("value.replicas must be 1..10, got %q", a.StringValue("replicas"))}, nil
	}
	select { // a real provider would call its platform here, honouring ctx
	case <-ctx.Done():
		return actionkit.Outcome{}, ctx.Err()
	default:
	}
	return actionkit.Outcome{
		Message: fmt.Sprintf("scaled %s in %s/%s to %d replicas", a.Service, a.Project, a.Stage, n),
		Data:    map[string]any{"replicas": n},
	}, nil
}
