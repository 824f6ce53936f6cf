package main

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"

	"github.com/kelseyhightower/envconfig"

	"github.com/slipwayhq/slipway/shared/localrt"
)

// deployerConfig: the knative-deployer needs client-go and knative.dev/serving,
// which stay out of the root module (docs/conventions.md), so the local
// runtime cannot build it in. Run it on its own (functions/knative-deployer
// with DEPLOY_FAKE_CLUSTER=true, or the e2e in shared/deployer/knative) and
// point SLIPWAY_KNATIVE_DEPLOYER_URL at it; triggers/knative-deployer.yaml
// then routes deployment/release/rollback there.
type deployerConfig struct {
	URL string `envconfig:"SLIPWAY_KNATIVE_DEPLOYER_URL"`
}

// knativeDeployer is the "knative-deployer" subscriber: a proxy to the
// configured deployer, or, without one, a sink that acknowledges and drops
// the events (no deployer, as with Keptn without helm-service: the project's
// scripts or webhooks deploy).
func knativeDeployer() (localrt.Function, error) {
	var c deployerConfig
	if err := envconfig.Process("", &c); err != nil {
		return localrt.Function{}, fmt.Errorf("knative-deployer config: %w", err)
	}
	if c.URL == "" {
		return localrt.Function{Name: "knative-deployer", Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusAccepted)
		})}, nil
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return localrt.Function{}, fmt.Errorf("SLIPWAY_KNATIVE_DEPLOYER_URL %q: want an absolute http(s) URL", c.URL)
	}
	return localrt.Function{Name: "knative-deployer", Handler: httputil.NewSingleHostReverseProxy(u)}, nil
}
