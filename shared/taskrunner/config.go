package taskrunner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/proc"
)

// Config is the task runner's configuration, read from the environment by
// FromEnv (envconfig, no prefix; names shared with the generic executor
// where they mean the same).
type Config struct {
	// Sink is where events go (the broker); Knative sets K_SINK. Only
	// NewService needs it.
	Sink string `envconfig:"K_SINK"`
	// Source is the CloudEvents source of the events the runner sends.
	Source string `envconfig:"TASK_SOURCE" default:"task-runner"`
	// ResourceServiceURL is the Keptn API base serving
	// /api/resource-service/...; APIToken is sent as x-token.
	ResourceServiceURL string `envconfig:"RESOURCE_SERVICE_URL"`
	APIToken           string `envconfig:"KEPTN_API_TOKEN"`
	// SecretsDir holds secrets laid out like mounted Kubernetes Secrets
	// (<dir>/<name>/SECURE_DATA) for secureParameters.
	SecretsDir string `envconfig:"SECRETS_DIR" default:"/var/run/secrets/slipway"`
	// Secrets, when set, replaces SecretsDir for NewService (the function
	// passes API-created secrets first, then the directory).
	Secrets SecretStore `ignored:"true"`
	// DenoPath is the deno binary ("": FindDeno). PythonPath is python3
	// (a name is resolved to the real interpreter once, at New).
	DenoPath   string `envconfig:"SLIPWAY_DENO"`
	PythonPath string `envconfig:"SLIPWAY_PYTHON" default:"python3"`
	// ScriptPATH is the PATH given to deno and python scripts.
	ScriptPATH string `envconfig:"SCRIPT_PATH" default:"/usr/local/bin:/usr/bin:/bin"`
	// WorkDir is where private per-attempt temp dirs are made ("": os.TempDir).
	WorkDir string `envconfig:"WORK_DIR"`
	// MaxOutput caps each definition's captured output in bytes.
	MaxOutput int `envconfig:"MAX_OUTPUT" default:"16384"`
	// RetryDelay is the pause between a failed attempt and the next.
	RetryDelay time.Duration `envconfig:"RETRY_DELAY" default:"1s"`
	// HTTPRefAllowHosts lets httpRef downloads reach these otherwise denied
	// (private, loopback) hosts; see safehttp.Options.AllowHosts.
	HTTPRefAllowHosts []string `envconfig:"HTTP_ALLOW_HOSTS"`
	// HTTPRefTimeout bounds an httpRef download.
	HTTPRefTimeout time.Duration `envconfig:"HTTP_TIMEOUT" default:"30s"`
	// JobNamespace is where container-runtime Jobs run ("": the JobRunner's
	// default).
	JobNamespace string `envconfig:"JOB_NAMESPACE"`
	// DenoAllowNet, when set, is the only hosts deno tasks may reach
	// (--allow-net=<hosts>); otherwise any host but those safehttp denies
	// (metadata, loopback, private and cluster ranges; HTTPRefAllowHosts
	// re-opens some), see safehttp.DenoNetFlags.
	DenoAllowNet []string `envconfig:"DENO_ALLOW_NET"`
	// Deno and python tasks run in a proc.Sandbox: ScriptConcurrency at
	// once (more wait), on uids from ScriptUIDBase (0: random) when the
	// runner is root, under RLIMIT_NPROC / RLIMIT_DATA.
	ScriptConcurrency  int   `envconfig:"SCRIPT_CONCURRENCY" default:"4"`
	ScriptUIDBase      int   `envconfig:"SCRIPT_UID_BASE"`
	ScriptMaxProcesses int64 `envconfig:"SCRIPT_MAX_PROCESSES" default:"256"`
	ScriptMaxDataBytes int64 `envconfig:"SCRIPT_MAX_DATA_BYTES" default:"2147483648"`
}

// FromEnv reads Config from the environment.
func FromEnv() (Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		return Config{}, fmt.Errorf("task runner config: %w", err)
	}
	return c, nil
}

// NewService wires a Runner from c for a deployment: the resource-service
// client, an HTTP sender to c.Sink, and jobs (nil outside a cluster).
func NewService(c Config, jobs JobRunner, log *zap.Logger) (*Runner, error) {
	if c.Sink == "" || c.ResourceServiceURL == "" {
		return nil, fmt.Errorf("task runner config: K_SINK and RESOURCE_SERVICE_URL are required")
	}
	return New(c, Deps{
		Resources: &executor.ResourceClient{BaseURL: c.ResourceServiceURL, Token: c.APIToken},
		Claims:    &executor.ClaimClient{BaseURL: c.ResourceServiceURL, Token: c.APIToken},
		Sender:    &executor.HTTPSender{URL: c.Sink},
		Jobs:      jobs,
		Secrets:   c.Secrets,
		Log:       log,
	})
}

func (c *Config) defaults() {
	if c.Source == "" {
		c.Source = "task-runner"
	}
	if c.PythonPath == "" {
		c.PythonPath = "python3"
	}
	if c.ScriptPATH == "" {
		c.ScriptPATH = "/usr/local/bin:/usr/bin:/bin"
	}
	if c.MaxOutput <= 0 {
		c.MaxOutput = 16 << 10
	}
	if c.RetryDelay < 0 {
		c.RetryDelay = 0
	}
	if c.HTTPRefTimeout <= 0 {
		c.HTTPRefTimeout = 30 * time.Second
	}
}

// FindDeno returns the deno binary: $SLIPWAY_DENO, else deno on PATH, else
// the one hack/deno/install.sh puts under hack/deno/node_modules, searched
// from the working directory upwards. "" when there is none.
func FindDeno() string {
	if p := os.Getenv("SLIPWAY_DENO"); p != "" {
		return p
	}
	if p, err := exec.LookPath("deno"); err == nil {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		matches, _ := filepath.Glob(filepath.Join(dir, "hack", "deno", "node_modules", "@deno", "*", "deno"))
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
				return m
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// resolvePython turns a python3 name or shim (pyenv) into the real
// interpreter, which then runs without the runner's environment.
func resolvePython(ctx context.Context, name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	env := append(proc.BaseEnv(os.TempDir()), os.Environ()...) // a shim may need its own variables
	res, err := proc.Run(ctx, proc.Cmd{Path: p, Args: []string{"-c", "import sys; print(sys.executable)"}, Env: env, Dir: os.TempDir(), MaxOutput: 4096})
	if err != nil || res.ExitCode != 0 {
		return p
	}
	if exe := strings.TrimSpace(string(res.Output)); filepath.IsAbs(exe) {
		return exe
	}
	return p
}
