package proc

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// needRoot: these tests switch uids for real. CI runs as root, as this
// machine does; elsewhere they are skipped unless CI is set.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("the sandbox tests need root (uid switching) in CI")
		}
		t.Skip("needs root")
	}
}

// workDir is a fresh run directory, as the executors make them.
func workDir(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	// Executors make run dirs under /tmp; t.TempDir and its parent are
	// private to root, so open them as /tmp is.
	for _, d := range []string{base, filepath.Dir(base)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	d, err := os.MkdirTemp(base, "run-")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func newSandbox(t *testing.T, cfg SandboxConfig) *Sandbox {
	t.Helper()
	s, err := NewSandbox(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitDead polls until pid is dead (gone or a zombie), failing at the deadline.
func waitDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for live(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d survived the end of its run", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitFile(t *testing.T, p string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(p)
		if err == nil && strings.HasSuffix(string(b), "\n") {
			return strings.TrimSpace(string(b))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not written", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A script's setsid child leaves the process group; abort and timeout must
// still kill it, with a uid of its own (root) and by marker (same uid).
func TestSandboxKillsEscapedChild(t *testing.T) {
	needRoot(t)
	for name, tc := range map[string]struct {
		noUID   bool
		timeout bool
	}{
		"own uid, timeout":  {timeout: true},
		"own uid, abort":    {},
		"same uid, timeout": {noUID: true, timeout: true},
		"same uid, abort":   {noUID: true},
	} {
		t.Run(name, func(t *testing.T) {
			s := newSandbox(t, SandboxConfig{Slots: 1, NoUIDSwitch: tc.noUID})
			dir := workDir(t)
			pidFile := filepath.Join(dir, "pid")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := Cmd{Path: "bash", Args: []string{"-c", "setsid sleep 300 & echo $! > " + pidFile + "; sleep 300"},
				Env: BaseEnv(dir), Dir: dir}
			if tc.timeout {
				c.Timeout = 200 * time.Millisecond
			}
			done := make(chan Result, 1)
			go func() {
				res, err := s.Run(ctx, c)
				if err != nil {
					t.Error(err)
				}
				done <- res
			}()
			pid, err := strconv.Atoi(waitFile(t, pidFile))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.timeout {
				cancel()
			}
			res := <-done
			if res.TimedOut != tc.timeout || res.Canceled == tc.timeout {
				t.Fatalf("result %+v", res)
			}
			waitDead(t, pid)
		})
	}
}

// A child on a slot uid cannot read the executor's environment, a root-only
// file, or anything but its own work dir, which it owns.
func TestSandboxChildCannotReadParent(t *testing.T) {
	needRoot(t)
	s := newSandbox(t, SandboxConfig{})
	if !s.SwitchesUID() {
		t.Fatal("root sandbox does not switch uids")
	}
	secretDir := t.TempDir()
	secret := filepath.Join(secretDir, "token")
	if err := os.WriteFile(secret, []byte("s3cr3t-value"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := workDir(t)
	script := `id -u; cat /proc/$PPID/environ && echo READ-ENVIRON; cat ` + secret + ` && echo READ-SECRET
touch "$HOME/mine" && echo WROTE-HOME`
	res, err := s.Run(context.Background(), Cmd{Path: "bash", Args: []string{"-c", script}, Env: BaseEnv(dir), Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.Output)
	if strings.Contains(out, "READ-ENVIRON") || strings.Contains(out, "READ-SECRET") || strings.Contains(out, "s3cr3t") {
		t.Fatalf("child read what it must not:\n%s", out)
	}
	if !strings.Contains(out, "WROTE-HOME") {
		t.Fatalf("child cannot use its own work dir:\n%s", out)
	}
	if uid, _, _ := strings.Cut(out, "\n"); uid == "0" {
		t.Fatalf("child ran as root:\n%s", out)
	}
}

// Without a uid switch (the executor on a non-root uid, as in a Knative
// pod), PR_SET_DUMPABLE still keeps /proc/<executor>/environ from a child
// of the same uid. The executor here is this test binary re-run as nobody.
func TestSandboxSameUIDCannotReadEnviron(t *testing.T) {
	if os.Getenv("SLIPWAY_PROC_HELPER") == "1" {
		sameUIDHelper()
		return
	}
	needRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A copy any uid may run (go test's build dir is private).
	dir, err := os.MkdirTemp("", "proc-helper-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "proc.test")
	src, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	src.Close()
	dst.Close()
	cmd := exec.Command(bin, "-test.run=^TestSandboxSameUIDCannotReadEnviron$")
	cmd.Dir = dir
	cmd.Env = []string{"SLIPWAY_PROC_HELPER=1", "HELPER_SECRET=hunter2-in-environ", "PATH=/usr/bin:/bin", "TMPDIR=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "HELPER-RAN uid=65534") {
		t.Fatalf("helper did not run its child:\n%s", out)
	}
	if strings.Contains(string(out), "hunter2") {
		t.Fatalf("a same-uid child read the executor's environment:\n%s", out)
	}
}

func sameUIDHelper() {
	s, err := NewSandbox(SandboxConfig{})
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	if s.SwitchesUID() {
		fmt.Println("non-root sandbox claims to switch uids")
		os.Exit(1)
	}
	dir, _ := os.MkdirTemp("", "run-")
	res, err := s.Run(context.Background(), Cmd{Path: "bash",
		Args: []string{"-c", `echo "HELPER-RAN uid=$(id -u)"; cat /proc/$PPID/environ; tr '\0' '\n' < /proc/$PPID/environ`},
		Env:  BaseEnv(dir), Dir: dir})
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	os.Stdout.Write(res.Output)
	os.Exit(0)
}

// More runs than slots wait their turn: all finish, never more than Slots at once.
func TestSandboxQueuesBeyondSlots(t *testing.T) {
	needRoot(t)
	s := newSandbox(t, SandboxConfig{Slots: 2})
	shared := t.TempDir()
	if err := os.Chmod(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]Result, 6)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dir := workDir(t)
			// Count the runs inside at the same moment, then leave.
			script := fmt.Sprintf(`touch %[1]s/$$; sleep 0.2; ls %[1]s | wc -l; rm %[1]s/$$`, shared)
			res, err := s.Run(context.Background(), Cmd{Path: "bash", Args: []string{"-c", script}, Env: BaseEnv(dir), Dir: dir})
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		}()
	}
	wg.Wait()
	for i, r := range results {
		n, err := strconv.Atoi(strings.TrimSpace(string(r.Output)))
		if r.ExitCode != 0 || err != nil {
			t.Fatalf("run %d: %+v %s", i, r, r.Output)
		}
		if n > 2 {
			t.Fatalf("run %d saw %d runs at once, slots are 2", i, n)
		}
	}
}

// A run queued behind a full sandbox is cancelled by its context.
func TestSandboxQueuedRunCancels(t *testing.T) {
	s := newSandbox(t, SandboxConfig{Slots: 1, NoUIDSwitch: true})
	dir := workDir(t)
	started := filepath.Join(dir, "started")
	hold, release := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = s.Run(hold, Cmd{Path: "bash", Args: []string{"-c", "echo > " + started + "; sleep 300"}, Env: BaseEnv(dir), Dir: dir})
	}()
	waitFile(t, started)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := s.Run(ctx, Cmd{Path: "true", Env: BaseEnv(dir)})
	if err != nil || !res.Canceled {
		t.Fatalf("queued run: %+v %v", res, err)
	}
	release()
	<-done
}

// The limits reach the child.
func TestSandboxLimits(t *testing.T) {
	needRoot(t)
	s := newSandbox(t, SandboxConfig{Limits: Limits{Processes: 7, DataBytes: 512 << 20, FileBytes: 1 << 20, OpenFiles: 64, CPUSeconds: 30}})
	dir := workDir(t)
	res, err := s.Run(context.Background(), Cmd{Path: "bash", Args: []string{"-c", "ulimit -u; ulimit -d; ulimit -f; ulimit -n; ulimit -t; ulimit -c"},
		Env: BaseEnv(dir), Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// bash reports -d and -f in KiB (-f in 1024-byte blocks under bash).
	want := "7\n524288\n1024\n64\n30\n0"
	if got := strings.TrimSpace(string(res.Output)); got != want {
		t.Fatalf("limits:\n%s\nwant\n%s", got, want)
	}
	// A fork bomb meets RLIMIT_NPROC (bash reports the failed forks and
	// retries until the timeout), and the timeout kills what it made.
	res, err = s.Run(context.Background(), Cmd{Path: "bash", Args: []string{"-c", "for i in $(seq 50); do sleep 300 & done; wait"},
		Env: BaseEnv(dir), Dir: dir, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res.Output), "Resource temporarily unavailable") {
		t.Fatalf("50 background processes under RLIMIT_NPROC 7 all started:\n%s", res.Output)
	}
}

func TestLookPathForSkipsPrivatePrograms(t *testing.T) {
	root := t.TempDir()
	private := filepath.Join(root, "private")
	public := filepath.Join(root, "public")
	for _, d := range []string{private, public} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	// t.TempDir and its parent are private to root: open them up.
	for _, d := range []string{root, filepath.Dir(root)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := private + ":" + public
	for name, tc := range map[string]struct {
		others bool
		want   string
	}{
		"any uid":        {others: true, want: filepath.Join(public, "tool")},
		"executor's uid": {others: false, want: filepath.Join(private, "tool")},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := lookPathFor("tool", path, tc.others)
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// Without prlimit(1) the limits are set on the started child (prlimit64);
// the script waits until they have arrived, within its run's timeout. On
// the executor's own uid (a Knative pod) that needs no capability.
func TestSandboxLimitsWithoutPrlimitBinary(t *testing.T) {
	s := newSandbox(t, SandboxConfig{NoUIDSwitch: true, Limits: Limits{Processes: 9, OpenFiles: 77}})
	s.prlimit = ""
	dir := workDir(t)
	res, err := s.Run(context.Background(), Cmd{Path: "bash",
		Args: []string{"-c", `while [ "$(ulimit -n)" != 77 ]; do sleep 0.01; done; ulimit -c`},
		Env:  BaseEnv(dir), Dir: dir, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.TimedOut || strings.TrimSpace(string(res.Output)) != "0" {
		t.Fatalf("limits never arrived: %+v %q", res, res.Output)
	}
}
