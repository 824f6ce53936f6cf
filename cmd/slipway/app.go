package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/cmd/slipway/internal/client"
	"github.com/slipwayhq/slipway/cmd/slipway/internal/config"
	"github.com/slipwayhq/slipway/cmd/slipway/internal/output"
)

// app holds one invocation's streams and environment (no globals: tests run
// many invocations in one process).
type app struct {
	out, errOut io.Writer
	env         environment
}

// Environment variables that override the config file: the names
// `go run ./hack/local` prints, so `export $(...)` is enough in CI.
const (
	envURL   = "SLIPWAY_API_URL"
	envToken = "SLIPWAY_API_TOKEN"
)

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "slipway",
		Short: "Command-line client of Slipway, the Keptn v1 control plane on Knative",
		Long: `slipway drives a Slipway installation through its Keptn-compatible REST API.
Verbs and flags follow Keptn's CLI. Authenticate once with
  slipway auth --endpoint=http://127.0.0.1:8080 --api-token=<token>
(stored in ` + "`<user config dir>/slipway/config.yaml`" + `, mode 0600), or set
SLIPWAY_API_URL and SLIPWAY_API_TOKEN.

Exit codes: 0 success, 1 error (the API's message is printed), 2 usage error;
watch: 0 pass, 1 fail, 2 warning, 3 aborted or timed out.`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &codeError{code: exitUsage, err: err, usage: true}
	})
	root.AddCommand(a.authCmd(), a.statusCmd(), a.createCmd(), a.updateCmd(), a.deleteCmd(),
		a.addResourceCmd(), a.triggerCmd(), a.sendCmd(), a.getCmd(),
		a.approvalCmd("approve", "pass"), a.approvalCmd("decline", "fail"),
		a.controlCmd("abort"), a.controlCmd("pause"), a.controlCmd("resume"),
		a.finishCmd(), a.watchCmd())
	return root
}

// runE wraps a command body: its errors exit 1 unless they carry a code.
func runE(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := f(cmd, args)
		if err == nil {
			return nil
		}
		var ce *codeError
		if errors.As(err, &ce) {
			return err
		}
		return &codeError{code: exitError, err: err}
	}
}

func (a *app) configPath() (string, error) { return config.Path(a.env.configDir) }

// api returns a client from the environment or the config file.
func (a *app) api() (*client.Client, error) {
	endpoint, token := a.env.getenv(envURL), a.env.getenv(envToken)
	if endpoint == "" {
		path, err := a.configPath()
		if err != nil {
			return nil, err
		}
		c, err := config.Load(path)
		if err != nil {
			return nil, err
		}
		endpoint = c.Endpoint
		if token == "" {
			token = c.APIToken
		}
	}
	ep, err := client.NormalizeEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	return client.New(ep, token), nil
}

func (a *app) printf(format string, args ...any) { fmt.Fprintf(a.out, format, args...) }

// print writes a JSON answer in the -o format, or calls table.
func (a *app) print(format string, raw []byte, table func() error) error {
	if format == output.Table {
		return table()
	}
	return output.Raw(a.out, format, raw)
}

// printValue marshals v and prints it in the -o format.
func (a *app) printValue(format string, v any, table func() error) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return a.print(format, raw, table)
}

func addOutputFlag(c *cobra.Command, p *string) {
	c.Flags().StringVarP(p, "output", "o", "", "output format: json or yaml (default: a table)")
}

// checkOutput is a PreRunE that refuses unknown -o values as usage errors.
func checkOutput(p *string) func(*cobra.Command, []string) error {
	return func(*cobra.Command, []string) error {
		if err := output.Check(*p); err != nil {
			return &codeError{code: exitUsage, err: err, usage: true}
		}
		return nil
	}
}

func readFile(path string) ([]byte, error) {
	if path == "-" {
		return nil, errors.New("reading from stdin is not supported; pass a file")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// eventType expands a short type (evaluation.finished) to a Keptn type.
func eventType(t string) string {
	if strings.HasPrefix(t, "sh.keptn.") {
		return t
	}
	return "sh.keptn.event." + t
}
