package keptnclient

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The runtime is started the way test/e2e starts it: hack/local built
// once, on free loopback ports, its URL and token read from its stdout.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "slipway-keptnclient-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "slipway-local")
		cmd := exec.Command("go", "build", "-race", "-o", binPath, "./hack/local")
		cmd.Dir = repoRoot()
		// hack/local is the root module's: build it as test/e2e does, in
		// the repository's workspace, although this module runs with
		// GOWORK=off (go-utils' dependencies stay out of go.work).
		cmd.Env = append(os.Environ(), "GOWORK=")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build hack/local: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type slipway struct {
	t     *testing.T
	cmd   *exec.Cmd
	URL   string // http://127.0.0.1:port (no /api)
	Token string
	mu    sync.Mutex
	logs  bytes.Buffer
}

func (s *slipway) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.Write(p)
}

func start(t *testing.T) *slipway {
	t.Helper()
	s := &slipway{t: t}
	cmd := exec.Command(binary(t))
	cmd.Env = append(os.Environ(),
		"SLIPWAY_DATA_DIR="+t.TempDir(),
		"SLIPWAY_API_ADDR=127.0.0.1:0",
		"SLIPWAY_BROKER_ADDR=127.0.0.1:0",
		"SLIPWAY_PROJECT_TRIGGERS="+filepath.Join(repoRoot(), "triggers"),
		"SLIPWAY_SWEEP_INTERVAL=200ms",
	)
	cmd.Dir = repoRoot()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = s
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd = cmd
	t.Cleanup(s.stop)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(60 * time.Second)
	for s.URL == "" || s.Token == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("runtime exited before it was up:\n%s", s.logs.String())
			}
			if v, ok := strings.CutPrefix(l, "SLIPWAY_API_URL="); ok {
				s.URL = v
			} else if v, ok := strings.CutPrefix(l, "SLIPWAY_API_TOKEN="); ok {
				s.Token = v
			}
		case <-deadline:
			t.Fatalf("runtime not up after 60s")
		}
	}
	go func() {
		for range lines {
		}
	}()
	return s
}

func (s *slipway) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	if s.t.Failed() {
		s.mu.Lock()
		l := strings.Split(s.logs.String(), "\n")
		s.mu.Unlock()
		s.t.Logf("runtime log (tail):\n%s", strings.Join(l[max(0, len(l)-40):], "\n"))
	}
}

// get reads an API path with plain HTTP (to check what go-utils wrote).
func (s *slipway) get(path string, out any) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	req.Header.Set("x-token", s.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		s.t.Fatalf("GET %s: %d %s", path, res.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
}

// eventually polls cond until it holds (a deadline, not a timing assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
