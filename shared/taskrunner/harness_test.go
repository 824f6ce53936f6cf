package taskrunner

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/secrets"
)

// memResources is an in-memory Resources keyed by "stage/service/uri"
// ("" parts for project and stage level).
type memResources struct {
	mu    sync.Mutex
	files map[string]string
	reads []string
}

func (m *memResources) Get(_ context.Context, project, stage, service, uri, commit string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := stage + "/" + service + "/" + uri
	m.reads = append(m.reads, key+"@"+commit)
	if v, ok := m.files[key]; ok {
		return []byte(v), nil
	}
	return nil, executor.ErrNotFound
}

// events collects sent events.
type events struct {
	mu  sync.Mutex
	all []event.Event
}

func (s *events) Send(_ context.Context, e event.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, e)
	return nil
}

func (s *events) list() []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event.Event(nil), s.all...)
}

type harness struct {
	t       *testing.T
	res     *memResources
	sent    *events
	runner  *Runner
	secrets string
}

type option func(*Config, *Deps)

func newHarness(t *testing.T, files map[string]string, opts ...option) *harness {
	t.Helper()
	h := &harness{t: t, res: &memResources{files: files}, sent: &events{}, secrets: t.TempDir()}
	work := t.TempDir() // the task's slot uid must reach it, as /tmp
	for _, d := range []string{work, filepath.Dir(work)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{WorkDir: work, SecretsDir: h.secrets, RetryDelay: time.Millisecond, DenoPath: FindDeno(), MaxOutput: 8 << 10}
	deps := Deps{Resources: h.res, Sender: h.sent, Secrets: secrets.Dir(h.secrets)}
	for _, o := range opts {
		o(&cfg, &deps)
	}
	r, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = r.Shutdown(ctx)
	})
	h.runner = r
	return h
}

func (h *harness) secret(name, value string) {
	h.t.Helper()
	dir := filepath.Join(h.secrets, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "SECURE_DATA"), []byte(value), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// needDeno fails in CI (CI=true) and skips elsewhere when deno is missing.
func needDeno(t *testing.T) {
	t.Helper()
	if FindDeno() != "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("deno not found: run hack/deno/install.sh or set SLIPWAY_DENO")
	}
	t.Skip("deno not found: run hack/deno/install.sh or set SLIPWAY_DENO")
}

func triggered(t *testing.T, task string, taskData map[string]any) event.Event {
	t.Helper()
	data := map[string]any{"project": "sockshop", "stage": "dev", "service": "carts", "labels": map[string]string{"owner": "team-a"}}
	if taskData != nil {
		data[task] = taskData
	}
	e, err := keptn.NewEvent(keptn.TaskType(task, keptn.KindTriggered), keptn.Meta{
		ID: "trig-" + strings.ReplaceAll(t.Name(), "/", "-"), Source: "shipyard-controller", Time: time.Now(), Context: "ctx-1234", GitCommitID: "abc123",
	}, data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// finished is the decoded .finished event.
type finished struct {
	Data keptn.Data
	Defs map[string]DefinitionStatus
	Raw  map[string]any
}

// run handles e, waits, and checks the event contract: exactly one .started
// then one .finished, both answering e.
func (h *harness) run(e event.Event) finished {
	h.t.Helper()
	if err := h.runner.Handle(context.Background(), e); err != nil {
		h.t.Fatalf("Handle: %v", err)
	}
	h.runner.Wait()
	return h.check(e)
}

func (h *harness) check(e event.Event) finished {
	h.t.Helper()
	sent := h.sent.list()
	if len(sent) != 2 {
		h.t.Fatalf("sent %d events, want .started and .finished", len(sent))
	}
	task, _ := keptn.ParseType(e.Type())
	for i, kind := range []keptn.Kind{keptn.KindStarted, keptn.KindFinished} {
		got := sent[i]
		if got.Type() != keptn.TaskType(task.Task, kind) || keptn.TriggeredID(got) != e.ID() || keptn.Context(got) != keptn.Context(e) || got.Source() != "task-runner" {
			h.t.Fatalf("event %d: type %s triggeredid %s context %s source %s", i, got.Type(), keptn.TriggeredID(got), keptn.Context(got), got.Source())
		}
	}
	d, m, err := keptn.DecodeData(sent[1])
	if err != nil {
		h.t.Fatal(err)
	}
	if d.Project != "sockshop" || d.Stage != "dev" || d.Service != "carts" || d.Labels["owner"] != "team-a" {
		h.t.Fatalf("finished data lost project/stage/service/labels: %+v", d)
	}
	var payload struct {
		Definitions []DefinitionStatus `json:"definitions"`
	}
	raw, _ := json.Marshal(m[task.Task])
	if err := json.Unmarshal(raw, &payload); err != nil {
		h.t.Fatal(err)
	}
	f := finished{Data: d, Defs: map[string]DefinitionStatus{}, Raw: m}
	for _, s := range payload.Definitions {
		if s.Status == StateSucceeded || s.Status == StateFailed {
			if s.StartTime == nil || s.EndTime == nil || s.EndTime.Before(*s.StartTime) {
				h.t.Fatalf("definition %s: bad times %v %v", s.Name, s.StartTime, s.EndTime)
			}
		}
		f.Defs[s.Name] = s
	}
	return f
}

func (f finished) def(t *testing.T, name string) DefinitionStatus {
	t.Helper()
	s, ok := f.Defs[name]
	if !ok {
		t.Fatalf("no status for definition %s in %+v (message %q)", name, f.Defs, f.Data.Message)
	}
	return s
}

func (f finished) want(t *testing.T, status keptn.Status, result keptn.Result) {
	t.Helper()
	if f.Data.Status != status || f.Data.Result != result {
		t.Fatalf("finished %s/%s, want %s/%s; message:\n%s", f.Data.Status, f.Data.Result, status, result, f.Data.Message)
	}
}

// def renders a KeptnTaskDefinition manifest.
func def(name, spec string) string {
	return "apiVersion: lifecycle.keptn.sh/v1\nkind: KeptnTaskDefinition\nmetadata:\n  name: " + name + "\nspec:\n" + spec
}

// indent indents code for a YAML block scalar.
func indent(code string, n int) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(strings.TrimSpace(code), "\n", "\n"+pad)
}
