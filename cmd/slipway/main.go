// Command slipway is the command-line client of Slipway's Keptn-compatible
// API: Keptn's CLI verbs and flags (so `keptn …` muscle memory works) plus
// `watch`, a live view of a sequence whose exit code CI can gate on.
//
// It uses cobra, as Keptn's CLI does: nested verbs (`create project`),
// `--flag=value` and `--labels=a=b,c=d` parse the same way, and help and
// usage come for free. It talks only to the API; it never opens a store.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	fd := int(os.Stdout.Fd())
	env := environment{
		getenv: os.Getenv,
		tty:    term.IsTerminal(fd),
		width: func() int {
			w, _, err := term.GetSize(fd)
			if err != nil {
				return 0
			}
			return w
		},
	}
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, env)
	stop()
	os.Exit(code)
}

// Exit codes besides watch's own: 1 for errors (the API's message), 2 for
// usage errors.
const (
	exitError = 1
	exitUsage = 2
)

// environment is what the CLI takes from the process besides its streams.
type environment struct {
	getenv    func(string) string
	tty       bool       // stdout is a terminal
	width     func() int // terminal width
	configDir string     // "" = os.UserConfigDir()
}

// codeError carries an exit code; usage asks for the command's usage too.
type codeError struct {
	code  int
	err   error
	usage bool
}

func (e *codeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *codeError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &codeError{code: exitUsage, err: fmt.Errorf(format, args...), usage: true}
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer, env environment) int {
	a := &app{out: out, errOut: errOut, env: env}
	root := a.root()
	root.SetArgs(args)
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errOut)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	var ce *codeError
	if !errors.As(err, &ce) {
		// Everything cobra refuses before a command runs (unknown flags or
		// commands, missing required flags, wrong arguments) is usage.
		ce = &codeError{code: exitUsage, err: err, usage: true}
	}
	if ce.err != nil {
		fmt.Fprintln(errOut, "Error: "+ce.err.Error())
	}
	if ce.usage && cmd != nil {
		fmt.Fprintln(errOut)
		fmt.Fprint(errOut, cmd.UsageString())
	}
	return ce.code
}
