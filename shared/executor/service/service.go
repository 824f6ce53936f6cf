// Package service composes the generic executor, the webhook executor and
// the remediation responder into one CloudEvents handler configured from
// the environment; functions/generic-executor is a thin shim around it.
package service

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/kelseyhightower/envconfig"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/executor/generic"
	"github.com/slipwayhq/slipway/shared/executor/remediation"
	"github.com/slipwayhq/slipway/shared/executor/webhook"
	"github.com/slipwayhq/slipway/shared/proc"
	"github.com/slipwayhq/slipway/shared/redact"
	"github.com/slipwayhq/slipway/shared/safehttp"
	"github.com/slipwayhq/slipway/shared/secrets"
)

// Config is read from the environment (envconfig, no prefix).
type Config struct {
	// Sink is where replies go (the broker); Knative sets K_SINK.
	Sink string `envconfig:"K_SINK" required:"true"`
	// ResourceServiceURL is the base of the resource API
	// ({base}{prefix}/v1/project/...); ResourceServicePrefix defaults to
	// Keptn's API-gateway path.
	ResourceServiceURL    string `envconfig:"RESOURCE_SERVICE_URL" required:"true"`
	ResourceServicePrefix string `envconfig:"RESOURCE_SERVICE_PREFIX" default:"/api/resource-service"`
	APIToken              string `envconfig:"KEPTN_API_TOKEN"`

	Generic     bool `envconfig:"ENABLE_GENERIC_EXECUTOR" default:"true"`
	Webhooks    bool `envconfig:"ENABLE_WEBHOOKS" default:"true"`
	Remediation bool `envconfig:"ENABLE_REMEDIATION" default:"true"`

	ScriptTimeout time.Duration `envconfig:"SCRIPT_TIMEOUT" default:"300s"`
	MaxOutput     int           `envconfig:"MAX_OUTPUT" default:"65536"`
	WorkDir       string        `envconfig:"WORK_DIR"`
	// EnvAllowlist names executor variables scripts see as ENV_<NAME>.
	EnvAllowlist []string `envconfig:"ENV_ALLOWLIST"`
	// SecretEnv exposes secret keys to scripts: "NAME=secret/key,...".
	SecretEnv  []string `envconfig:"SECRET_ENV"`
	SecretsDir string   `envconfig:"SECRETS_DIR" default:"/var/run/secrets/slipway"`
	// Secrets, when set, resolves webhook secret references in place of
	// SecretsDir (the local runtime passes API-created secrets first, then
	// the directory); SECRET_ENV still reads SecretsDir.
	Secrets webhook.SecretReader `ignored:"true"`

	HTTPAllowHosts []string      `envconfig:"HTTP_ALLOW_HOSTS"`
	HTTPTimeout    time.Duration `envconfig:"HTTP_TIMEOUT" default:"30s"`

	// Scripts run in a proc.Sandbox: SCRIPT_CONCURRENCY at once (more wait),
	// each slot on uid SCRIPT_UID_BASE+slot when the executor is root (0: a
	// random base, see proc.SandboxConfig), with
	// at most SCRIPT_MAX_PROCESSES processes and SCRIPT_MAX_DATA_BYTES of
	// heap (RLIMIT_NPROC, RLIMIT_DATA).
	ScriptConcurrency  int   `envconfig:"SCRIPT_CONCURRENCY" default:"4"`
	ScriptUIDBase      int   `envconfig:"SCRIPT_UID_BASE"`
	ScriptMaxProcesses int64 `envconfig:"SCRIPT_MAX_PROCESSES" default:"256"`
	ScriptMaxDataBytes int64 `envconfig:"SCRIPT_MAX_DATA_BYTES" default:"2147483648"`
	// Sandbox, when set, is used instead of one built from the fields above
	// (the local runtime shares one between both executors).
	Sandbox *proc.Sandbox `ignored:"true"`
}

// FromEnv reads Config from the environment.
func FromEnv() (Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		return Config{}, fmt.Errorf("executor config: %w", err)
	}
	return c, nil
}

// Service is the composed handler.
type Service struct {
	executor.Multi
	waits []func()
}

// New builds the Service. The executor's own environment is read only for
// the names in EnvAllowlist.
func New(c Config, log *zap.Logger) (*Service, error) {
	if log == nil {
		log = zap.NewNop()
	}
	prefix := c.ResourceServicePrefix
	res := &executor.ResourceClient{BaseURL: c.ResourceServiceURL, Token: c.APIToken, PathPrefix: &prefix}
	sender := &executor.HTTPSender{URL: c.Sink}
	sec := secrets.Dir(c.SecretsDir)
	var hookSecrets webhook.SecretReader = sec
	if c.Secrets != nil {
		hookSecrets = c.Secrets
	}
	httpOpt := safehttp.Options{AllowHosts: c.HTTPAllowHosts, Timeout: c.HTTPTimeout, MaxBody: int64(c.MaxOutput)}
	s := &Service{}
	// Every secret this executor holds is redacted from what scripts and
	// webhooks report, whether or not a run asked for it.
	held, err := redact.DirValues(c.SecretsDir, 0)
	if err != nil {
		return nil, fmt.Errorf("read secrets for redaction: %w", err)
	}
	held = append(held, c.APIToken)
	var claims executor.Claimer
	if prefix == "/api/resource-service" && c.ResourceServiceURL != "" {
		// The resource URL is the API (not a bare resource service): claim
		// tasks there, so task work runs once across instances and restarts.
		claims = &executor.ClaimClient{BaseURL: c.ResourceServiceURL, Token: c.APIToken}
	}
	if c.Generic {
		sb := c.Sandbox
		if sb == nil {
			if sb, err = proc.NewSandbox(proc.SandboxConfig{Slots: c.ScriptConcurrency, UIDBase: c.ScriptUIDBase,
				Limits: proc.Limits{Processes: c.ScriptMaxProcesses, DataBytes: c.ScriptMaxDataBytes}}); err != nil {
				return nil, err
			}
		}
		env := map[string]string{}
		for _, name := range c.EnvAllowlist {
			if v, ok := os.LookupEnv(name); ok {
				env[name] = v
			}
		}
		for _, spec := range c.SecretEnv {
			name, ref, ok := strings.Cut(spec, "=")
			secret, key, ok2 := strings.Cut(ref, "/")
			if !ok || !ok2 || name == "" {
				return nil, fmt.Errorf("SECRET_ENV entry %q: want NAME=secret/key", spec)
			}
			v, err := sec.Get(secret, key)
			if err != nil {
				return nil, fmt.Errorf("SECRET_ENV %s: %w", name, err)
			}
			env[name] = v
		}
		g := generic.New(generic.Config{Timeout: c.ScriptTimeout, MaxOutput: c.MaxOutput, Env: env, WorkDir: c.WorkDir, HTTP: httpOpt,
			Secrets: held, Sandbox: sb, Claims: claims},
			res, sender, log.Named("generic"))
		s.Multi = append(s.Multi, g)
		s.waits = append(s.waits, g.Wait)
	}
	if c.Webhooks {
		w := webhook.New(webhook.Options{Timeout: c.HTTPTimeout, MaxResponse: int64(c.MaxOutput), MaxMessage: c.MaxOutput, HTTP: httpOpt,
			Secrets: held, Claims: claims},
			res, hookSecrets, sender, log.Named("webhook"))
		s.Multi = append(s.Multi, w)
		s.waits = append(s.waits, w.Wait)
	}
	if c.Remediation {
		s.Multi = append(s.Multi, remediation.New("", res, sender, log.Named("remediation")))
	}
	return s, nil
}

// Handle processes one event and maps the outcome to a CloudEvents
// delivery result (nil ack, 400 malformed, 500 redeliver).
func (s *Service) Handle(ctx context.Context, e event.Event) error {
	return executor.Result(s.Multi.Handle(ctx, e))
}

// Drain waits for background work until ctx ends.
func (s *Service) Drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		for _, w := range s.waits {
			w()
		}
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
