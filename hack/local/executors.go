package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/kelseyhightower/envconfig"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/evaluation/lighthouse"
	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/executor/service"
	"github.com/slipwayhq/slipway/shared/localrt"
	"github.com/slipwayhq/slipway/shared/proc"
	"github.com/slipwayhq/slipway/shared/publish"
	"github.com/slipwayhq/slipway/shared/secrets"
	"github.com/slipwayhq/slipway/shared/sli/prometheus"
	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/taskrunner"
)

// executorConfig is the local runtime's executor settings (environment).
type executorConfig struct {
	// HTTPAllowHosts lets .http files and webhooks reach these otherwise
	// refused (private, loopback) hosts.
	HTTPAllowHosts []string `envconfig:"SLIPWAY_HTTP_ALLOW_HOSTS"`
	// EnvAllowlist names executor variables scripts may read as ENV_<NAME>.
	EnvAllowlist  []string      `envconfig:"SLIPWAY_ENV_ALLOWLIST"`
	ScriptTimeout time.Duration `envconfig:"SLIPWAY_SCRIPT_TIMEOUT" default:"300s"`
	// SecretsDir holds secrets laid out like mounted Kubernetes Secrets
	// (<dir>/<name>/<key>); default <data dir>/secrets.
	SecretsDir string `envconfig:"SLIPWAY_SECRETS_DIR"`
	// Scripts and tasks of both executors share one sandbox: this many run
	// at once (more wait), on uids of their own when run as root.
	ScriptConcurrency int `envconfig:"SLIPWAY_SCRIPT_CONCURRENCY" default:"4"`
}

// executors builds the executor functions the local runtime serves next to
// the control plane and the API.
// Webhooks and tasks resolve secrets created through the secrets API (in
// the store the runtime opened, with Keptn's scopes: webhooks read
// keptn-webhook-service, tasks keptn-default; a project's executor only
// global secrets and its own project's), then the secrets directory.
func executors(ctx context.Context, cfg localrt.Config, log *zap.Logger, st func() store.Store) func(brokerURL, apiURL, token string) ([]localrt.Function, error) {
	return func(brokerURL, apiURL, token string) ([]localrt.Function, error) {
		var ec executorConfig
		if err := envconfig.Process("", &ec); err != nil {
			return nil, fmt.Errorf("executor config: %w", err)
		}
		if ec.SecretsDir == "" {
			ec.SecretsDir = filepath.Join(cfg.DataDir, "secrets")
		}
		sm, err := localrt.SecretManager(cfg, st())
		if err != nil {
			return nil, err
		}
		hookSecrets := secrets.Reader{Manager: sm, Scope: secrets.ScopeWebhook, Dir: secrets.Dir(ec.SecretsDir)}
		taskSecrets := secrets.Reader{Manager: sm, Scope: secrets.ScopeDefault, Dir: secrets.Dir(ec.SecretsDir)}
		// One sandbox for both executors: their uid slots must not overlap,
		// since the end of a run kills every process of its uid.
		sb, err := proc.NewSandbox(proc.SandboxConfig{Slots: ec.ScriptConcurrency})
		if err != nil {
			return nil, err
		}
		gen, err := service.New(service.Config{Sandbox: sb,
			Sink: brokerURL, ResourceServiceURL: apiURL, ResourceServicePrefix: "/api/resource-service", APIToken: token,
			Generic: true, Webhooks: true, Remediation: true,
			ScriptTimeout: ec.ScriptTimeout, MaxOutput: 64 << 10, EnvAllowlist: ec.EnvAllowlist,
			SecretsDir: ec.SecretsDir, Secrets: hookSecrets, HTTPAllowHosts: ec.HTTPAllowHosts, HTTPTimeout: 30 * time.Second,
		}, log.Named("generic-executor"))
		if err != nil {
			return nil, fmt.Errorf("generic executor: %w", err)
		}
		pub, err := publish.NewHTTP(brokerURL, 10*time.Second)
		if err != nil {
			return nil, err
		}
		var tc taskrunner.Config
		if err := envconfig.Process("", &tc); err != nil {
			return nil, fmt.Errorf("task runner config: %w", err)
		}
		tc.SecretsDir = ec.SecretsDir
		tc.HTTPRefAllowHosts = append(tc.HTTPRefAllowHosts, ec.HTTPAllowHosts...)
		tr, err := taskrunner.New(tc, taskrunner.Deps{
			Resources: &executor.ResourceClient{BaseURL: apiURL, Token: token},
			Claims:    &executor.ClaimClient{BaseURL: apiURL, Token: token},
			Sender:    taskrunner.SenderFunc(pub.Publish),
			Secrets:   taskSecrets,
			Log:       log.Named("task-runner"),
			Sandbox:   sb,
		})
		if err != nil {
			return nil, fmt.Errorf("task runner: %w", err)
		}
		eval, prom, err := qualityGate(ec, brokerURL, apiURL, token, log)
		if err != nil {
			return nil, err
		}
		dep, err := knativeDeployer()
		if err != nil {
			return nil, err
		}
		return []localrt.Function{
			dep,
			{Name: "generic-executor", Handler: localrt.CEHandler(gen.Handle), Close: gen.Drain},
			{Name: "task-runner", Handler: localrt.CEHandler(tr.Handle), Close: tr.Shutdown},
			{Name: "evaluator", Handler: localrt.CEHandler(eval)},
			{Name: "prometheus-sli", Handler: localrt.CEHandler(prom)},
		}, nil
	}
}

// qualityGate builds the evaluator (lighthouse) and the Prometheus SLI
// provider: DEFAULT_SLI_PROVIDER, PROMETHEUS_URL and
// PROMETHEUS_QUERY_TIMEOUT as the functions read them;
// SLIPWAY_HTTP_ALLOW_HOSTS also lets prometheus/config.yaml name private
// hosts.
func qualityGate(ec executorConfig, brokerURL, apiURL, token string, log *zap.Logger) (eval, prom func(context.Context, event.Event) error, err error) {
	var lc lighthouse.Config
	if err := envconfig.Process("", &lc); err != nil {
		return nil, nil, fmt.Errorf("evaluator config: %w", err)
	}
	var pc prometheus.Config
	if err := envconfig.Process("", &pc); err != nil {
		return nil, nil, fmt.Errorf("prometheus SLI provider config: %w", err)
	}
	pc.AllowHosts = append(pc.AllowHosts, ec.HTTPAllowHosts...)
	l := lighthouse.NewHTTP(lighthouse.EnvConfig{Sink: brokerURL, APIURL: apiURL, APIToken: token, Config: lc}, log.Named("evaluator"))
	p, err := prometheus.New(pc, &executor.ResourceClient{BaseURL: apiURL, Token: token}, &executor.HTTPSender{URL: brokerURL}, log.Named("prometheus-sli"))
	if err != nil {
		return nil, nil, fmt.Errorf("prometheus SLI provider: %w", err)
	}
	wrap := func(h func(context.Context, event.Event) error) func(context.Context, event.Event) error {
		return func(ctx context.Context, e event.Event) error { return executor.Result(h(ctx, e)) }
	}
	return wrap(l.Handle), wrap(p.Handle), nil
}
