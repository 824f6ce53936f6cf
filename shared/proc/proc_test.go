package proc

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/redact"
)

func bash(script string) Cmd {
	return Cmd{Path: "bash", Args: []string{"-c", script}}
}

func TestExitAndOutput(t *testing.T) {
	tests := map[string]struct {
		script string
		code   int
		out    string
	}{
		"ok":        {"echo hello; echo err >&2", 0, "hello\nerr\n"},
		"exit 3":    {"echo x; exit 3", 3, "x\n"},
		"no output": {"true", 0, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := Run(context.Background(), bash(tc.script))
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tc.code || string(res.Output) != tc.out || res.Truncated {
				t.Fatalf("got code %d output %q truncated %v", res.ExitCode, res.Output, res.Truncated)
			}
		})
	}
}

func TestStartError(t *testing.T) {
	if _, err := Run(context.Background(), Cmd{Path: "/nonexistent/interpreter"}); err == nil {
		t.Fatal("want error for missing program")
	}
}

func TestEnvIsExplicit(t *testing.T) {
	t.Setenv("PROC_TEST_SECRET", "hunter2")
	c := bash("env")
	c.Path = "/usr/bin/bash"
	c.Env = []string{"ONLY=me"}
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(res.Output), "hunter2") || !strings.Contains(string(res.Output), "ONLY=me") {
		t.Fatalf("env leaked or missing: %s", res.Output)
	}
	c.Env = nil
	res, _ = Run(context.Background(), c)
	if strings.Contains(string(res.Output), "hunter2") {
		t.Fatalf("nil Env inherited the parent's: %s", res.Output)
	}
}

func TestDirAndBaseEnv(t *testing.T) {
	dir := t.TempDir()
	c := bash(`pwd; echo "home=$HOME"`)
	c.Dir, c.Env = dir, BaseEnv(dir)
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	if !strings.Contains(string(res.Output), real) || !strings.Contains(string(res.Output), "home="+dir) {
		t.Fatalf("output %q", res.Output)
	}
}

func TestOutputCap(t *testing.T) {
	c := bash(`for i in $(seq 1 2000); do echo "line $i"; done; echo '{"last":true}'`)
	c.MaxOutput = 100
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated || !bytes.Contains(res.Output, []byte("output truncated")) {
		t.Fatalf("want truncation marker: %q", res.Output)
	}
	if !bytes.HasPrefix(res.Output, []byte("line 1\n")) || !bytes.HasSuffix(res.Output, []byte("{\"last\":true}\n")) {
		t.Fatalf("want head and tail kept: %q", res.Output)
	}
	if len(res.Output) > 100+len(TruncationMarker(1<<40)) {
		t.Fatalf("output too long: %d", len(res.Output))
	}
}

// capture is what Run keeps of text printed by a process under cap max
// with secrets r: redacted first, then capped.
func capture(r *redact.Redactor, max int, text string, chunk int) ([]byte, bool) {
	buf := newCapped(max)
	w := redact.NewWriter(buf, r)
	for b := []byte(text); len(b) > 0; {
		n := min(chunk, len(b))
		_, _ = w.Write(b[:n])
		b = b[n:]
	}
	_ = w.Close()
	return buf.Bytes()
}

// TestSecretAtTheCap prints a secret at every offset of an output longer
// than the cap, so it straddles the head cut and the start of the kept tail
// by every number of bytes: no byte of it may be captured. The padding and
// the truncation marker share no byte with the secret.
func TestSecretAtTheCap(t *testing.T) {
	const (
		secret = "XQZJWVKT"
		max    = 40 // head 20, tail 20
		total  = 80
	)
	r := redact.New(secret)
	for off := 0; off+len(secret) <= total; off++ {
		text := strings.Repeat(".", off) + secret + strings.Repeat(".", total-off-len(secret))
		t.Run(strconv.Itoa(off), func(t *testing.T) {
			want, _ := capture(r, max, r.String(text), len(text))
			c := bash(`printf %s "$1"`)
			c.Args = append(c.Args, "printf", text)
			c.MaxOutput, c.Redact = max, r
			res, err := Run(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.ContainsAny(res.Output, secret) || !res.Truncated {
				t.Fatalf("captured %q (truncated %v)", res.Output, res.Truncated)
			}
			if !bytes.Equal(res.Output, want) {
				t.Fatalf("captured %q, want %q", res.Output, want)
			}
			// The pipe decides the chunks; byte by byte is the worst case.
			for _, chunk := range []int{1, 3} {
				if got, _ := capture(r, max, text, chunk); !bytes.Equal(got, want) {
					t.Fatalf("%d-byte writes captured %q, want %q", chunk, got, want)
				}
			}
		})
	}
}

func TestRedactCountsTowardsTheCap(t *testing.T) {
	// 30 secrets of 20 bytes are 600 bytes printed but 90 redacted: no cap
	// at 100 is hit.
	secret := strings.Repeat("S", 20)
	c := bash(`for i in $(seq 1 30); do printf %s "$1"; done`)
	c.Args = append(c.Args, "printf", secret)
	c.MaxOutput, c.Redact = 100, redact.New(secret)
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Truncated || string(res.Output) != strings.Repeat(redact.Mask, 30) {
		t.Fatalf("captured %q (truncated %v)", res.Output, res.Truncated)
	}
}

// pidAlive reports whether pid exists (and is not a zombie we own).
func pidAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// state is the field after the ")" of the command name
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for pidAlive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("child %d still alive", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func childPID(t *testing.T, out []byte) int {
	t.Helper()
	for _, l := range strings.Split(string(out), "\n") {
		if p, ok := strings.CutPrefix(l, "child="); ok {
			pid, err := strconv.Atoi(strings.TrimSpace(p))
			if err == nil {
				return pid
			}
		}
	}
	t.Fatalf("no child pid in %q", out)
	return 0
}

func TestTimeoutKillsGroup(t *testing.T) {
	c := bash(`sleep 300 & echo "child=$!"; wait`)
	c.Timeout = 500 * time.Millisecond
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || res.ExitCode != -1 {
		t.Fatalf("want timeout, got %+v", res)
	}
	waitGone(t, childPID(t, res.Output))
}

func TestCancelKillsGroup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	marker := filepath.Join(dir, "started")
	c := bash(`sleep 300 & echo "child=$!"; touch ` + marker + `; wait`)
	done := make(chan Result, 1)
	go func() {
		res, _ := Run(ctx, c)
		done <- res
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("script did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	res := <-done
	if !res.Canceled {
		t.Fatalf("want canceled, got %+v", res)
	}
	waitGone(t, childPID(t, res.Output))
}

func TestStragglersKilledAfterExit(t *testing.T) {
	// The main process exits at once, leaving a background child holding
	// the output pipe; Run must neither hang nor leave it running.
	res, err := Run(context.Background(), bash(`sleep 300 & echo "child=$!"; exit 0`))
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("exit %d", res.ExitCode)
	}
	waitGone(t, childPID(t, res.Output))
}
