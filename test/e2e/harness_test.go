// Package e2e drives a real local runtime process over HTTP, like a Keptn
// client, an executor and an operator would.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
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

	"github.com/google/uuid"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// binary builds hack/local once per test process.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "slipway-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "slipway-local")
		cmd := exec.Command("go", "build", "-race", "-o", binPath, "./hack/local")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build hack/local: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// slipway is a running local runtime.
type slipway struct {
	t       *testing.T
	cmd     *exec.Cmd
	dataDir string
	env     []string
	API     string // http://127.0.0.1:port
	Token   string
	Broker  string
	logs    *bytes.Buffer
	mu      sync.Mutex
}

// start launches the runtime with extra environment; dataDir "" = fresh.
func start(t *testing.T, dataDir string, env ...string) *slipway {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	s := &slipway{t: t, dataDir: dataDir, env: env, logs: &bytes.Buffer{}}
	s.launch()
	t.Cleanup(s.stop)
	return s
}

func (s *slipway) launch() {
	t := s.t
	t.Helper()
	cmd := exec.Command(binary(t))
	cmd.Env = append(os.Environ(),
		"SLIPWAY_DATA_DIR="+s.dataDir,
		"SLIPWAY_API_ADDR=127.0.0.1:0",
		"SLIPWAY_BROKER_ADDR=127.0.0.1:0",
		"SLIPWAY_PROJECT_TRIGGERS="+filepath.Join(repoRoot(), "triggers"),
		"SLIPWAY_SWEEP_INTERVAL=200ms",
	)
	cmd.Env = append(cmd.Env, s.env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &lockedWriter{mu: &s.mu, w: s.logs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd = cmd
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(60 * time.Second)
	for s.API == "" || s.Token == "" || s.Broker == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("runtime exited before it was up:\n%s", s.logText())
			}
			if v, ok := strings.CutPrefix(l, "SLIPWAY_API_URL="); ok {
				s.API = v
			} else if v, ok := strings.CutPrefix(l, "SLIPWAY_API_TOKEN="); ok {
				s.Token = v
			} else if v, ok := strings.CutPrefix(l, "SLIPWAY_BROKER_URL="); ok {
				s.Broker = v
			}
		case <-deadline:
			t.Fatalf("runtime not up after 60s:\n%s", s.logText())
		}
	}
	go func() {
		for range lines {
		}
	}()
}

func (s *slipway) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// stop shuts the runtime down gracefully (SIGTERM) and waits.
func (s *slipway) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
	if s.t.Failed() {
		s.t.Logf("runtime log:\n%s", tail(s.logText(), 60))
	}
}

// restart stops and starts the runtime on the same data directory.
func (s *slipway) restart() {
	s.t.Helper()
	s.stop()
	s.API, s.Token, s.Broker = "", "", ""
	s.launch()
}

// crash kills the runtime (SIGKILL: no shutdown, no flush) and starts it
// again on the same data directory.
func (s *slipway) crash() {
	s.t.Helper()
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
	s.API, s.Token, s.Broker = "", "", ""
	s.launch()
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// do calls the API and decodes a JSON answer into out (if non-nil).
func (s *slipway) do(method, path string, body any, out any) int {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.API+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("x-token", s.Token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return res.StatusCode
}

func (s *slipway) mustDo(method, path string, body any, out any, want ...int) {
	s.t.Helper()
	code := s.do(method, path, body, out)
	for _, w := range want {
		if code == w {
			return
		}
	}
	s.t.Fatalf("%s %s: status %d, want %v", method, path, code, want)
}

// createProject creates a project with the shipyard and services.
func (s *slipway) createProject(name, shipyardYAML string, services ...string) {
	s.t.Helper()
	s.mustDo("POST", "/api/controlPlane/v1/project", map[string]any{
		"name": name, "shipyard": base64.StdEncoding.EncodeToString([]byte(shipyardYAML))}, nil, 200, 201)
	for _, svc := range services {
		s.mustDo("POST", "/api/controlPlane/v1/project/"+name+"/service", map[string]any{"serviceName": svc}, nil, 200, 201)
	}
}

// send posts a Keptn event and returns its keptnContext.
func (s *slipway) send(ev map[string]any) string {
	s.t.Helper()
	if _, ok := ev["specversion"]; !ok {
		ev["specversion"] = "1.0"
	}
	if _, ok := ev["source"]; !ok {
		ev["source"] = "e2e"
	}
	var out struct {
		KeptnContext string `json:"keptnContext"`
	}
	s.mustDo("POST", "/api/v1/event", ev, &out, 200)
	return out.KeptnContext
}

// trigger starts <stage>.<seq> for a service and returns the keptnContext.
func (s *slipway) trigger(project, stage, seq, service string, extra map[string]any) string {
	data := map[string]any{"project": project, "stage": stage, "service": service}
	for k, v := range extra {
		data[k] = v
	}
	return s.send(map[string]any{"type": "sh.keptn.event." + stage + "." + seq + ".triggered", "data": data})
}

type ceEvent struct {
	ID             string         `json:"id"`
	Type           string         `json:"type"`
	Source         string         `json:"source"`
	Shkeptncontext string         `json:"shkeptncontext"`
	Triggeredid    string         `json:"triggeredid"`
	Data           map[string]any `json:"data"`
}

// open lists open .triggered events of a task type in a project.
func (s *slipway) open(project, task string) []ceEvent {
	s.t.Helper()
	var out struct {
		Events []ceEvent `json:"events"`
	}
	s.mustDo("GET", "/api/controlPlane/v1/event/triggered/sh.keptn.event."+task+".triggered?project="+project, nil, &out, 200)
	return out.Events
}

// openIn returns the open .triggered of a task in one context, waiting for it.
func (s *slipway) openIn(project, task, kctx string) ceEvent {
	s.t.Helper()
	var found ceEvent
	s.eventually(fmt.Sprintf("open %s.triggered in %s", task, kctx), func() bool {
		for _, e := range s.open(project, task) {
			if e.Shkeptncontext == kctx {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// answer responds to a task .triggered through the API, as a remote executor.
func (s *slipway) answer(trig ceEvent, kind, result, status string, payload map[string]any) {
	s.t.Helper()
	task := strings.TrimSuffix(strings.TrimPrefix(trig.Type, "sh.keptn.event."), ".triggered")
	data := map[string]any{"project": trig.Data["project"], "stage": trig.Data["stage"], "service": trig.Data["service"]}
	if status != "" {
		data["status"] = status
	}
	if result != "" {
		data["result"] = result
	}
	if payload != nil {
		data[task] = payload
	}
	s.send(map[string]any{"type": "sh.keptn.event." + task + "." + kind, "shkeptncontext": trig.Shkeptncontext,
		"triggeredid": trig.ID, "id": uuid.NewString(), "data": data})
}

// complete runs a task as an executor: started, then finished.
func (s *slipway) complete(trig ceEvent, result string) {
	s.answer(trig, "started", "", "succeeded", nil)
	s.answer(trig, "finished", result, "succeeded", nil)
}

type seqState struct {
	Name           string `json:"name"`
	State          string `json:"state"`
	ShKeptnContext string `json:"shkeptncontext"`
	Stages         []struct {
		Name        string `json:"name"`
		State       string `json:"state"`
		LatestEvent *struct {
			Type string `json:"type"`
		} `json:"latestEvent"`
	} `json:"stages"`
}

func (s *slipway) state(project, kctx string) seqState {
	s.t.Helper()
	var out struct {
		States []seqState `json:"states"`
	}
	s.mustDo("GET", "/api/controlPlane/v1/sequence/"+project+"?keptnContext="+kctx, nil, &out, 200)
	if len(out.States) == 0 {
		return seqState{}
	}
	return out.States[0]
}

func (s *slipway) waitState(project, kctx, want string) {
	s.t.Helper()
	s.eventually(fmt.Sprintf("context %s state %s", kctx, want), func() bool { return s.state(project, kctx).State == want })
}

// history lists stored events of a context, newest first.
func (s *slipway) history(project, kctx, typ string) []ceEvent {
	s.t.Helper()
	var out struct {
		Events []ceEvent `json:"events"`
	}
	q := "/api/mongodb-datastore/event?project=" + project + "&keptnContext=" + kctx + "&pageSize=100"
	if typ != "" {
		q += "&type=" + typ
	}
	s.mustDo("GET", q, nil, &out, 200)
	return out.Events
}

func (s *slipway) waitHistory(project, kctx, typ string) ceEvent {
	s.t.Helper()
	var e ceEvent
	s.eventually("history has "+typ, func() bool {
		evs := s.history(project, kctx, typ)
		if len(evs) > 0 {
			e = evs[0]
			return true
		}
		return false
	})
	return e
}

// eventually polls cond until it holds (a deadline, not a timing assertion).
func (s *slipway) eventually(what string, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("timed out waiting for %s", what)
}

// never checks that cond stays false for a while (used only to show that
// something held back is not sent early).
func (s *slipway) never(what string, d time.Duration, cond func() bool) {
	s.t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			s.t.Fatalf("%s happened", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var _ = context.Background
