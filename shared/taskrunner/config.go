package taskrunner

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/shared/proc"
)

// Config is the task runner's configuration, read from the environment with
// envconfig (no prefix).
type Config struct {
	// Source is the CloudEvents source of the events the runner sends.
	Source string `envconfig:"SLIPWAY_TASK_SOURCE" default:"task-runner"`
	// ResourceServiceURL is the Keptn API base URL serving the
	// resource-service (the api-gateway); ResourceToken its x-token.
	ResourceServiceURL string `envconfig:"SLIPWAY_RESOURCE_SERVICE_URL"`
	ResourceToken      string `envconfig:"SLIPWAY_RESOURCE_TOKEN"`
	// SecretsDir holds secrets laid out like mounted Kubernetes Secrets
	// (<dir>/<name>/SECURE_DATA) for secureParameters.
	SecretsDir string `envconfig:"SLIPWAY_SECRETS_DIR" default:"/var/run/slipway/secrets"`
	// DenoPath is the deno binary ("": FindDeno). PythonPath is python3.
	DenoPath   string `envconfig:"SLIPWAY_DENO"`
	PythonPath string `envconfig:"SLIPWAY_PYTHON" default:"python3"`
	// ScriptPATH is the PATH given to deno and python scripts.
	ScriptPATH string `envconfig:"SLIPWAY_TASK_SCRIPT_PATH" default:"/usr/local/bin:/usr/bin:/bin"`
	// WorkDir is where private per-attempt temp dirs are made ("": os.TempDir).
	WorkDir string `envconfig:"SLIPWAY_TASK_WORKDIR"`
	// MaxOutput caps each definition's captured output in bytes.
	MaxOutput int `envconfig:"SLIPWAY_TASK_MAX_OUTPUT" default:"16384"`
	// RetryDelay is the pause between a failed attempt and the next.
	RetryDelay time.Duration `envconfig:"SLIPWAY_TASK_RETRY_DELAY" default:"1s"`
	// HTTPRefAllowHosts lets httpRef downloads reach these otherwise denied
	// (private, loopback) hosts; see safehttp.Options.AllowHosts.
	HTTPRefAllowHosts []string `envconfig:"SLIPWAY_HTTPREF_ALLOW_HOSTS"`
	// HTTPRefTimeout bounds an httpRef download.
	HTTPRefTimeout time.Duration `envconfig:"SLIPWAY_HTTPREF_TIMEOUT" default:"30s"`
	// JobNamespace is where container-runtime Jobs run (in a cluster).
	JobNamespace string `envconfig:"SLIPWAY_JOB_NAMESPACE"`
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
