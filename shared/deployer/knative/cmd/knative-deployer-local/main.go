// Command knative-deployer-local runs the knative-deployer against
// fakeserving's in-memory Knative Serving, for the local runtime (which
// cannot build client-go in; docs/deploy.md "Locally") and the e2e tests.
//
// It listens on SLIPWAY_DEPLOYER_ADDR (default 127.0.0.1:0), prints
// DEPLOYER_URL=<url> on stdout once up, and serves:
//
//	POST /                          CloudEvents (the Trigger's subscriber)
//	GET  /fake/services/{ns}/{name} the Service's traffic with each revision's image
//	PUT  /fake/outcome?image=&outcome=ready|fail|pending
//	PUT  /fake/sink                 the broker URL (body), if K_SINK was unknown at start
//
// Replies go to K_SINK (or the sink set later). Never expose it: the /fake
// endpoints have no authentication, which is why it binds loopback only.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/kelseyhightower/envconfig"
	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipwayhq/slipway/shared/deployer/knative"
	"github.com/slipwayhq/slipway/shared/deployer/knative/fakeserving"
	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/localrt"
)

type config struct {
	knative.Config
	Addr   string `envconfig:"SLIPWAY_DEPLOYER_ADDR" default:"127.0.0.1:0"`
	Sink   string `envconfig:"K_SINK"`
	Domain string `envconfig:"DEPLOY_FAKE_DOMAIN" default:"example.com"`
}

// sink is the broker URL, settable after start.
type sink struct {
	mu  sync.Mutex
	url string
}

func (s *sink) Send(ctx context.Context, e event.Event) error {
	s.mu.Lock()
	u := s.url
	s.mu.Unlock()
	return (&executor.HTTPSender{URL: u}).Send(ctx, e)
}

func (s *sink) set(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.url = u
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "knative-deployer-local:", err)
		os.Exit(1)
	}
}

func run() error {
	var cfg config
	if err := envconfig.Process("", &cfg); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("SLIPWAY_DEPLOYER_ADDR %q: only a loopback address is allowed", cfg.Addr)
	}
	log, err := zap.NewDevelopment()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cluster := fakeserving.New(cfg.Domain)
	ended := make(chan error, 1)
	go func() { ended <- cluster.Run(ctx) }()
	out := &sink{url: cfg.Sink}
	d := knative.New(cfg.Config, cluster.Clientset.ServingV1(), out, log.Named("knative-deployer"))

	mux := http.NewServeMux()
	mux.Handle("POST /{$}", localrt.CEHandler(func(ctx context.Context, e event.Event) error {
		return executor.Result(d.Handle(ctx, e))
	}))
	mux.HandleFunc("GET /fake/services/{ns}/{name}", func(w http.ResponseWriter, r *http.Request) {
		svc, err := cluster.Clientset.ServingV1().Services(r.PathValue("ns")).Get(r.Context(), r.PathValue("name"), metav1.GetOptions{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		type target struct {
			Tag      string `json:"tag"`
			Revision string `json:"revision"`
			Percent  int64  `json:"percent"`
			Image    string `json:"image"`
		}
		var traffic []target
		for _, t := range svc.Status.Traffic {
			tg := target{Tag: t.Tag, Revision: t.RevisionName}
			if t.Percent != nil {
				tg.Percent = *t.Percent
			}
			if rev, err := cluster.Clientset.ServingV1().Revisions(svc.Namespace).Get(r.Context(), t.RevisionName, metav1.GetOptions{}); err == nil && len(rev.Spec.Containers) > 0 {
				tg.Image = rev.Spec.Containers[0].Image
			}
			traffic = append(traffic, tg)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"traffic": traffic, "annotations": svc.Annotations})
	})
	mux.HandleFunc("PUT /fake/outcome", func(w http.ResponseWriter, r *http.Request) {
		o := map[string]fakeserving.Outcome{"ready": fakeserving.Ready, "fail": fakeserving.Fail, "pending": fakeserving.Pending}
		v, ok := o[r.URL.Query().Get("outcome")]
		img := r.URL.Query().Get("image")
		if !ok || img == "" {
			http.Error(w, "want ?image=<ref>&outcome=ready|fail|pending", http.StatusBadRequest)
			return
		}
		cluster.SetOutcome(img, v)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("PUT /fake/sink", func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(io.LimitReader(r.Body, 2048))
		u, err := url.Parse(string(raw))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			http.Error(w, "want an absolute http(s) URL", http.StatusBadRequest)
			return
		}
		out.set(u.String())
		w.WriteHeader(http.StatusNoContent)
	})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("DEPLOYER_URL=http://%s\n", ln.Addr())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = errors.Join(srv.Shutdown(sctx), d.Shutdown(sctx))
	if cerr := <-ended; cerr != nil {
		err = errors.Join(err, cerr)
	}
	return err
}
