// Package proc runs a subprocess the way executors need: in its own process
// group, with an explicit environment (never the parent's), a working
// directory, a timeout and context cancellation that kill the whole group,
// and combined stdout+stderr captured up to a cap, with secrets masked
// before the cap applies.
package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/slipwayhq/slipway/shared/redact"
)

// DefaultMaxOutput is the output cap when Cmd.MaxOutput is 0.
const DefaultMaxOutput = 64 << 10

// Cmd describes one run.
type Cmd struct {
	Path string   // program; looked up in the parent's PATH if it has no slash
	Args []string // arguments after the program name
	// Env is the complete environment of the child (nil means empty, never
	// the parent's). See BaseEnv.
	Env []string
	Dir string // working directory ("" = the parent's; avoid)
	// Timeout kills the process group after this long (0 = no timeout).
	Timeout time.Duration
	// MaxOutput caps the captured output (0 = DefaultMaxOutput, <0 = none).
	// When exceeded, the head and the tail are kept around a marker, so a
	// result on the last line survives.
	MaxOutput int
	// Redact masks its secrets in the output as it is read, before the
	// cap: the cap counts masked bytes, and where it cuts the output no
	// part of a secret can be left (redacting the capped output afterwards
	// would miss a secret cut in two). nil masks nothing.
	Redact *redact.Redactor

	jail *jail // set by Sandbox.Run
}

// Result of a run. A process killed by timeout or cancellation has
// ExitCode -1.
type Result struct {
	ExitCode  int
	Output    []byte // combined stdout and stderr
	Truncated bool
	TimedOut  bool
	Canceled  bool
	Duration  time.Duration
}

// Run starts c and waits for it. The error is non-nil only when the process
// could not be started; a non-zero exit, timeout or cancellation is reported
// in Result. After the main process ends, whatever is left of its process
// group is killed too.
func Run(ctx context.Context, c Cmd) (Result, error) {
	path := c.Path
	cmd := exec.Command(path, c.Args...)
	if cmd.Err != nil {
		return Result{ExitCode: -1}, fmt.Errorf("run %s: %w", c.Path, cmd.Err)
	}
	cmd.Env = c.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Dir = c.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.jail != nil {
		c.jail.apply(cmd)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return Result{ExitCode: -1}, fmt.Errorf("run %s: pipe: %w", c.Path, err)
	}
	defer r.Close()
	cmd.Stdout, cmd.Stderr, cmd.Stdin = w, w, nil
	max := c.MaxOutput
	if max == 0 {
		max = DefaultMaxOutput
	}
	buf := newCapped(max)
	out := redact.NewWriter(buf, c.Redact)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		w.Close()
		return Result{ExitCode: -1}, fmt.Errorf("run %s: %w", c.Path, err)
	}
	w.Close()
	pgid := cmd.Process.Pid
	kill := func() { killGroup(pgid) }
	if c.jail != nil {
		kill = func() { killGroup(pgid); c.jail.killAll() }
		if err := c.jail.late(pgid); err != nil {
			kill()
			_ = cmd.Wait()
			return Result{ExitCode: -1}, fmt.Errorf("run %s: %w", c.Path, err)
		}
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		b := make([]byte, 32<<10)
		for {
			n, err := r.Read(b)
			_, _ = out.Write(b[:n]) // buf never fails
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				// Abandoned while an escaped process still writes: the
				// held-back tail may be a secret's start.
				_ = out.CloseCut()
				return
			case err != nil:
				_ = out.Close()
				return
			}
		}
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	var timeout <-chan time.Time
	if c.Timeout > 0 {
		t := time.NewTimer(c.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var res Result
	var werr error
	select {
	case werr = <-waited:
	case <-timeout:
		res.TimedOut = true
		kill()
		werr = <-waited
	case <-ctx.Done():
		res.Canceled = true
		kill()
		werr = <-waited
	}
	res.Duration = time.Since(start)
	kill() // stragglers the script left behind (in a Sandbox: also those that left the group)
	// Everything in the group is dead, so the pipe reaches EOF; a process
	// that escaped the group (setsid) could hold it open, hence a deadline.
	_ = r.SetReadDeadline(time.Now().Add(2 * time.Second))
	<-copied
	res.Output, res.Truncated = buf.Bytes()
	res.ExitCode = -1
	var ee *exec.ExitError
	switch {
	case werr == nil:
		res.ExitCode = 0
	case errors.As(werr, &ee):
		res.ExitCode = ee.ExitCode()
	}
	if res.TimedOut || res.Canceled {
		res.ExitCode = -1
	}
	return res, nil
}

func killGroup(pgid int) {
	if pgid > 0 {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
}

// TruncationMarker is inserted where output was dropped.
func TruncationMarker(dropped int64) string {
	return "\n[... output truncated: " + strconv.FormatInt(dropped, 10) + " bytes omitted ...]\n"
}

// capped keeps the first half and the last half of max bytes.
type capped struct {
	mu      sync.Mutex
	max     int
	head    []byte
	tail    []byte // ring buffer once full
	tailPos int
	tailLen int
	dropped int64
}

func newCapped(max int) *capped { return &capped{max: max} }

// Write never fails.
func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := len(p)
	if c.max < 0 {
		c.head = append(c.head, p...)
		return total, nil
	}
	headMax := c.max - c.max/2
	if n := headMax - len(c.head); n > 0 {
		if n > len(p) {
			n = len(p)
		}
		c.head = append(c.head, p[:n]...)
		p = p[n:]
	}
	tailMax := c.max / 2
	for _, b := range p {
		if tailMax == 0 {
			c.dropped++
			continue
		}
		if c.tail == nil {
			c.tail = make([]byte, tailMax)
		}
		if c.tailLen == tailMax {
			c.dropped++
		} else {
			c.tailLen++
		}
		c.tail[c.tailPos] = b
		c.tailPos = (c.tailPos + 1) % tailMax
	}
	return total, nil
}

func (c *capped) Bytes() ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]byte(nil), c.head...)
	if c.dropped > 0 {
		out = append(out, TruncationMarker(c.dropped)...)
	}
	if c.tailLen > 0 {
		start := (c.tailPos - c.tailLen + len(c.tail)) % len(c.tail)
		for i := 0; i < c.tailLen; i++ {
			out = append(out, c.tail[(start+i)%len(c.tail)])
		}
	}
	return out, c.dropped > 0
}

// BaseEnv is the minimal environment for a child: the parent's PATH (or a
// standard one), HOME set to the work dir, and LANG (the parent's or
// C.UTF-8). Nothing else of the parent's environment is passed.
func BaseEnv(workdir string) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	lang := os.Getenv("LANG")
	if lang == "" {
		lang = "C.UTF-8"
	}
	return []string{"PATH=" + path, "HOME=" + workdir, "LANG=" + lang}
}
