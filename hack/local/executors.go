package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/kelseyhightower/envconfig"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/executor/service"
	"github.com/slipwayhq/slipway/shared/localrt"
	"github.com/slipwayhq/slipway/shared/publish"
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
}

// executors builds the executor functions the local runtime serves next to
// the control plane and the API.
func executors(ctx context.Context, cfg localrt.Config, log *zap.Logger) func(brokerURL, apiURL, token string) ([]localrt.Function, error) {
	return func(brokerURL, apiURL, token string) ([]localrt.Function, error) {
		var ec executorConfig
		if err := envconfig.Process("", &ec); err != nil {
			return nil, fmt.Errorf("executor config: %w", err)
		}
		if ec.SecretsDir == "" {
			ec.SecretsDir = filepath.Join(cfg.DataDir, "secrets")
		}
		gen, err := service.New(service.Config{
			Sink: brokerURL, ResourceServiceURL: apiURL, ResourceServicePrefix: "/api/resource-service", APIToken: token,
			Generic: true, Webhooks: true, Remediation: true,
			ScriptTimeout: ec.ScriptTimeout, MaxOutput: 64 << 10, EnvAllowlist: ec.EnvAllowlist,
			SecretsDir: ec.SecretsDir, HTTPAllowHosts: ec.HTTPAllowHosts, HTTPTimeout: 30 * time.Second,
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
			Sender:    taskrunner.SenderFunc(pub.Publish),
			Log:       log.Named("task-runner"),
		})
		if err != nil {
			return nil, fmt.Errorf("task runner: %w", err)
		}
		return []localrt.Function{
			{Name: "generic-executor", Handler: localrt.CEHandler(gen.Handle), Close: gen.Drain},
			{Name: "task-runner", Handler: localrt.CEHandler(tr.Handle), Close: tr.Shutdown},
		}, nil
	}
}
