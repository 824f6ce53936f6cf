package taskrunner

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/taskrunner/taskdef"
)

const okPy = "  python:\n    inline:\n      code: print('ok')\n"
const failPy = "  python:\n    inline:\n      code: raise SystemExit(1)\n  retries: 1\n"

func TestParallelDefinitionsOneFailing(t *testing.T) {
	h := newHarness(t, map[string]string{
		"//task-definitions/good.yaml":  def("good", okPy),
		"//task-definitions/bad.yaml":   def("bad", failPy),
		"//task-definitions/good2.yaml": def("good2", okPy),
	})
	f := h.run(triggered(t, "test", map[string]any{"taskDefinitions": []any{"good", "bad", "good2"}}))
	f.want(t, keptn.StatusSucceeded, keptn.ResultFail)
	for name, want := range map[string]State{"good": StateSucceeded, "good2": StateSucceeded, "bad": StateFailed} {
		if s := f.def(t, name); s.Status != want {
			t.Errorf("%s: %s, want %s", name, s.Status, want)
		}
	}
	if s := f.def(t, "bad"); s.Attempts != 2 || s.Reason != ReasonBackoffLimitExceeded {
		t.Errorf("bad: %+v", s)
	}
	if !strings.Contains(f.Data.Message, "2 of 3 task definitions succeeded") {
		t.Errorf("message %q", f.Data.Message)
	}
}

func TestParallelDefinitionsAllPass(t *testing.T) {
	h := newHarness(t, map[string]string{
		"//task-definitions/a.yaml": def("a", okPy),
		"//task-definitions/b.yaml": def("b", okPy),
	})
	f := h.run(triggered(t, "test", map[string]any{"taskDefinitions": "a, b"}))
	f.want(t, keptn.StatusSucceeded, keptn.ResultPass)
	if len(f.Defs) != 2 {
		t.Fatalf("defs %+v", f.Defs)
	}
}

// TestParallelRunsConcurrently: two definitions that each wait for the
// other to have started can only both succeed when they run at once.
func TestParallelRunsConcurrently(t *testing.T) {
	dir := t.TempDir()
	// The tasks (on slot uids, as root) meet here.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	script := func(me, other string) string {
		return "  python:\n    inline:\n      code: |\n        import os, time\n        open(" + jsonString(dir+"/"+me) + ", 'w').close()\n        for _ in range(2000):\n            if os.path.exists(" + jsonString(dir+"/"+other) + "):\n                raise SystemExit(0)\n            time.sleep(0.01)\n        raise SystemExit(1)\n  retries: 0\n"
	}
	h := newHarness(t, map[string]string{
		"//task-definitions/a.yaml": def("a", script("a", "b")),
		"//task-definitions/b.yaml": def("b", script("b", "a")),
	})
	h.run(triggered(t, "test", map[string]any{"taskDefinitions": []any{"a", "b"}})).want(t, keptn.StatusSucceeded, keptn.ResultPass)
}

func TestNoDefinitionsNoEvents(t *testing.T) {
	tests := map[string]map[string]any{
		"named after task": nil,
		"explicit list":    {"taskDefinitions": []any{"x", "y"}},
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, map[string]string{"//task-definitions/other.yaml": def("other", okPy)})
			if err := h.runner.Handle(context.Background(), triggered(t, "test", data)); err != nil {
				t.Fatal(err)
			}
			h.runner.Wait()
			if n := len(h.sent.list()); n != 0 {
				t.Fatalf("sent %d events", n)
			}
		})
	}
}

func TestIgnoresOtherEvents(t *testing.T) {
	h := newHarness(t, map[string]string{"//task-definitions/test.yaml": def("test", okPy)})
	for _, typ := range []string{"sh.keptn.event.test.started", "sh.keptn.event.test.finished", "sh.keptn.event.dev.delivery.triggered", "io.example.other"} {
		e := triggered(t, "test", nil)
		e.SetType(typ)
		if err := h.runner.Handle(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	h.runner.Wait()
	if n := len(h.sent.list()); n != 0 {
		t.Fatalf("sent %d events", n)
	}
}

func TestDefinitionProblems(t *testing.T) {
	tests := map[string]struct {
		files  map[string]string
		names  []any
		def    string
		reason string
	}{
		"listed definition missing": {
			files: map[string]string{"//task-definitions/a.yaml": def("a", okPy)},
			names: []any{"a", "missing"}, def: "missing", reason: ReasonNotFound,
		},
		"missing parent": {
			files: map[string]string{"//task-definitions/a.yaml": def("a", "  deno:\n    functionRef: {name: nope}\n")},
			def:   "a", reason: ReasonNotFound,
		},
		"functionRef cycle": {
			files: map[string]string{
				"//task-definitions/a.yaml": def("a", "  python:\n    functionRef: {name: b}\n"),
				"//task-definitions/b.yaml": def("b", "  python:\n    functionRef: {name: a}\n"),
			},
			def: "a", reason: ReasonInvalid,
		},
		"invalid definition": {
			files: map[string]string{"//task-definitions/a.yaml": def("a", "  python: {}\n  deno: {}\n")},
			def:   "a", reason: ReasonInvalid,
		},
		"file without that name": {
			files: map[string]string{"//task-definitions/a.yaml": def("b", okPy)},
			def:   "a", reason: ReasonInvalid,
		},
		"missing secret": {
			files: map[string]string{"//task-definitions/a.yaml": def("a", okPy+"    secureParameters: {secret: absent}\n")},
			def:   "a", reason: ReasonSecretUnavailable,
		},
		"missing configmap": {
			files: map[string]string{"//task-definitions/a.yaml": def("a", "  python:\n    configMapRef: {name: nope}\n")},
			def:   "a", reason: ReasonNotFound,
		},
		"container outside a cluster": {
			files: map[string]string{"//task-definitions/a.yaml": def("a", "  container:\n    image: busybox\n")},
			def:   "a", reason: ReasonRuntimeUnavailable,
		},
		"bad name in list": {
			files: map[string]string{"//task-definitions/a.yaml": def("a", okPy)},
			names: []any{"a", "../etc/passwd"}, def: "../etc/passwd", reason: ReasonInvalid,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, tc.files)
			var data map[string]any
			task := "a"
			if tc.names != nil {
				task, data = "test", map[string]any{"taskDefinitions": tc.names}
			}
			f := h.run(triggered(t, task, data))
			f.want(t, keptn.StatusErrored, keptn.ResultFail)
			if s := f.def(t, tc.def); s.Status != StateFailed || s.Reason != tc.reason {
				t.Fatalf("status %+v", s)
			}
		})
	}
}

// blockingJobs is a JobRunner that records jobs and blocks until released
// or canceled.
type blockingJobs struct {
	mu      sync.Mutex
	jobs    []Job
	started chan struct{}
	result  JobResult
	block   bool
}

func (b *blockingJobs) RunJob(ctx context.Context, j Job) (JobResult, error) {
	b.mu.Lock()
	b.jobs = append(b.jobs, j)
	b.mu.Unlock()
	if b.started != nil {
		b.started <- struct{}{}
	}
	if b.block {
		<-ctx.Done()
		return JobResult{}, ctx.Err()
	}
	return b.result, nil
}

func TestContainerRuntimeJob(t *testing.T) {
	jobs := &blockingJobs{result: JobResult{Succeeded: true, Output: "job says s3cr3t hi"}}
	h := newHarness(t, map[string]string{
		"dev/carts/task-definitions/ctr.yaml": def("ctr", "  container:\n    name: c\n    image: busybox:1.36\n    command: [sh, -c]\n    args: ['echo hi']\n    env: [{name: FOO, value: bar}, {name: DATA, value: overridden}]\n  parameters: {map: {k: v}}\n  secureParameters: {secret: tok}\n  timeout: 2m\n"),
	}, func(c *Config, d *Deps) { d.Jobs = jobs; c.JobNamespace = "tasks" })
	h.secret("tok", "s3cr3t")
	e := triggered(t, "ctr", nil)
	f := h.run(e)
	f.want(t, keptn.StatusSucceeded, keptn.ResultPass)
	if s := f.def(t, "ctr"); s.Output != "job says *** hi" || s.Runtime != "container" {
		t.Fatalf("status %+v", s)
	}
	if len(jobs.jobs) != 1 {
		t.Fatalf("%d jobs", len(jobs.jobs))
	}
	j := jobs.jobs[0]
	if j.Name != JobName(e.ID(), "ctr", 1) || j.Namespace != "tasks" || j.Image != "busybox:1.36" || !reflect.DeepEqual(j.Command, []string{"sh", "-c"}) || !reflect.DeepEqual(j.Args, []string{"echo hi"}) || j.SecureDataSecret != "tok" || j.TTLSecondsAfterFinished != 300 {
		t.Fatalf("job %+v", j)
	}
	if j.Timeout <= 0 || j.Timeout > 2*time.Minute {
		t.Fatalf("timeout %s", j.Timeout)
	}
	env := map[string]string{}
	for _, v := range j.Env {
		env[v.Name] = v.Value
	}
	if env["FOO"] != "bar" || env["DATA"] != `{"k":"v"}` || !strings.Contains(env["KEPTN_CONTEXT"], `"triggeredid":"`+e.ID()+`"`) || len(env) != 3 {
		t.Fatalf("env %v", env)
	}
	if j.Labels["keptn.sh/context"] != "ctx-1234" || j.Labels["keptn.sh/task"] != "ctr" || j.Labels["keptn.sh/event-id"] != e.ID() {
		t.Fatalf("labels %v", j.Labels)
	}
}

// TestContainerOutputCutMidSecret: Job logs arrive capped; a secret the
// cap cut short is masked too.
func TestContainerOutputCutMidSecret(t *testing.T) {
	jobs := &blockingJobs{result: JobResult{Succeeded: true, Output: "job says s3cr3t hi, s3c", Truncated: true}}
	h := newHarness(t, map[string]string{
		"//task-definitions/ctr.yaml": def("ctr", "  container: {image: busybox}\n  secureParameters: {secret: tok}\n"),
	}, func(_ *Config, d *Deps) { d.Jobs = jobs })
	h.secret("tok", "s3cr3t")
	f := h.run(triggered(t, "ctr", nil))
	f.want(t, keptn.StatusSucceeded, keptn.ResultPass)
	if s := f.def(t, "ctr"); s.Output != "job says *** hi, ***" || !s.OutputTruncated {
		t.Fatalf("status %+v", s)
	}
}

func TestContainerJobDeadline(t *testing.T) {
	jobs := &blockingJobs{result: JobResult{Reason: "DeadlineExceeded", Message: "Job was active longer than specified deadline"}}
	h := newHarness(t, map[string]string{"//task-definitions/ctr.yaml": def("ctr", "  container: {image: busybox}\n")}, func(_ *Config, d *Deps) { d.Jobs = jobs })
	f := h.run(triggered(t, "ctr", nil))
	f.want(t, keptn.StatusErrored, keptn.ResultFail)
	if s := f.def(t, "ctr"); s.Reason != ReasonDeadlineExceeded || s.Attempts != 1 {
		t.Fatalf("status %+v", s)
	}
}

func TestAbort(t *testing.T) {
	jobs := &blockingJobs{block: true, started: make(chan struct{}, 1)}
	h := newHarness(t, map[string]string{
		"//task-definitions/slow.yaml": def("slow", "  python:\n    inline:\n      code: |\n        import time\n        time.sleep(60)\n"),
		"//task-definitions/ctr.yaml":  def("ctr", "  container: {image: busybox}\n"),
	}, func(_ *Config, d *Deps) { d.Jobs = jobs })
	e := triggered(t, "test", map[string]any{"taskDefinitions": []any{"slow", "ctr"}})
	if err := h.runner.Handle(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	<-jobs.started
	// Wait until the python definition runs too.
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, ok := h.runner.Status(e.ID())
		if !ok {
			t.Fatal("task not running")
		}
		if st[0].Status == StateProgressing && st[0].Attempts == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slow never started: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	abort, _ := keptn.NewEvent("sh.keptn.event.test.aborted", keptn.Meta{ID: "abort-1", Source: "shipyard-controller", Time: time.Now(), Context: "ctx-1234", TriggeredID: e.ID()}, map[string]any{"project": "sockshop"})
	if err := h.runner.Handle(context.Background(), abort); err != nil {
		t.Fatal(err)
	}
	h.runner.Wait()
	f := h.check(e)
	f.want(t, keptn.StatusErrored, keptn.ResultFail)
	if f.Data.Message != "aborted" {
		t.Fatalf("message %q", f.Data.Message)
	}
	for _, n := range []string{"slow", "ctr"} {
		if s := f.def(t, n); s.Reason != ReasonAborted {
			t.Fatalf("%s: %+v", n, s)
		}
	}
	if _, ok := h.runner.Status(e.ID()); ok {
		t.Fatal("still running")
	}
}

func TestDuplicateTriggeredRunsOnce(t *testing.T) {
	jobs := &blockingJobs{block: true, started: make(chan struct{}, 1)}
	h := newHarness(t, map[string]string{"//task-definitions/ctr.yaml": def("ctr", "  container: {image: busybox}\n")}, func(_ *Config, d *Deps) { d.Jobs = jobs })
	e := triggered(t, "ctr", nil)
	for i := 0; i < 3; i++ {
		if err := h.runner.Handle(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	<-jobs.started
	h.runner.abort(e.ID())
	h.runner.Wait()
	if err := h.runner.Handle(context.Background(), e); err != nil { // after it finished
		t.Fatal(err)
	}
	h.runner.Wait()
	h.check(e)
}

func TestDeterministicEventIDs(t *testing.T) {
	var ids [2][]string
	for i := range ids {
		h := newHarness(t, map[string]string{"//task-definitions/t.yaml": def("t", okPy)})
		h.run(triggered(t, "t", nil))
		for _, e := range h.sent.list() {
			ids[i] = append(ids[i], e.ID())
		}
	}
	if !reflect.DeepEqual(ids[0], ids[1]) || ids[0][0] == ids[0][1] {
		t.Fatalf("ids %v", ids)
	}
}

type failingSender struct{}

func (failingSender) Send(context.Context, event.Event) error { return errors.New("broker down") }

func TestStartedSendFailureIsRetryable(t *testing.T) {
	h := newHarness(t, map[string]string{"//task-definitions/t.yaml": def("t", okPy)}, func(_ *Config, d *Deps) { d.Sender = failingSender{} })
	if err := h.runner.Handle(context.Background(), triggered(t, "t", nil)); err == nil {
		t.Fatal("no error")
	}
	if _, ok := h.runner.Status("trig-TestStartedSendFailureIsRetryable"); ok {
		t.Fatal("task runs although .started was not sent")
	}
}

type brokenResources struct{}

func (brokenResources) Get(context.Context, string, string, string, string, string) ([]byte, error) {
	return nil, errors.New("resource-service: HTTP 503")
}

func TestResourceServiceErrorIsRetryable(t *testing.T) {
	h := newHarness(t, nil, func(_ *Config, d *Deps) { d.Resources = brokenResources{} })
	if err := h.runner.Handle(context.Background(), triggered(t, "t", nil)); err == nil {
		t.Fatal("no error")
	}
	if n := len(h.sent.list()); n != 0 {
		t.Fatalf("sent %d events", n)
	}
}

func TestLookupOrderAndCommit(t *testing.T) {
	h := newHarness(t, map[string]string{
		"//task-definitions/t.yaml":          def("t", "  python:\n    inline:\n      code: print('project')\n"),
		"dev//task-definitions/t.yaml":       def("t", "  python:\n    inline:\n      code: print('stage')\n"),
		"dev/carts/task-definitions/t.yaml":  def("t", "  python:\n    inline:\n      code: print('service')\n"),
		"dev//task-definitions/only.yaml":    def("only", "  python:\n    inline:\n      code: print('stage')\n"),
		"//task-definitions/parent.yaml":     def("parent", "  python:\n    inline:\n      code: print('parent')\n"),
		"dev/carts/task-definitions/ch.yaml": def("ch", "  python:\n    functionRef: {name: parent}\n"),
	})
	f := h.run(triggered(t, "test", map[string]any{"taskDefinitions": []any{"t", "only", "ch"}}))
	for name, want := range map[string]string{"t": "service", "only": "stage", "ch": "parent"} {
		if got := strings.TrimSpace(f.def(t, name).Output); got != want {
			t.Errorf("%s ran %q, want %q", name, got, want)
		}
	}
	for _, r := range h.res.reads {
		stageOrService := !strings.HasPrefix(r, "//")
		if pinned := strings.HasSuffix(r, "@abc123"); pinned != stageOrService {
			t.Errorf("read %s: commit pinning wrong", r)
		}
	}
}

func TestMerge(t *testing.T) {
	fn := func(name string, params map[string]string, secret, cmd string, src taskdef.Source, code string) taskdef.Definition {
		return taskdef.Definition{Name: name, Runtime: taskdef.Python, Retries: len(name), Timeout: time.Duration(len(name)) * time.Second,
			Function: &taskdef.Function{Source: src, Code: code, Ref: "x", Parameters: params, Secret: secret, CmdParameters: cmd}}
	}
	parent := fn("parent", map[string]string{"a": "parent", "b": "parent"}, "parent-secret", "parent-cmd", taskdef.SourceInline, "print(1)")
	parent.Runtime = taskdef.Deno
	tests := map[string]struct {
		chain      []taskdef.Definition
		task       map[string]string
		params     map[string]string
		secret     string
		cmd        string
		code       string
		runtime    taskdef.Runtime
		retries    int
		chainNames []string
	}{
		"no ref": {
			chain:  []taskdef.Definition{fn("solo", map[string]string{"a": "solo"}, "", "", taskdef.SourceInline, "solo()")},
			task:   map[string]string{"a": "task", "t": "task"},
			params: map[string]string{"a": "solo", "t": "task"}, code: "solo()", runtime: taskdef.Python, retries: 4, chainNames: []string{"solo"},
		},
		"child beats parent beats task": {
			chain:  []taskdef.Definition{fn("child", map[string]string{"a": "child"}, "", "", taskdef.SourceFunctionRef, "ignored"), parent},
			task:   map[string]string{"a": "task", "b": "task", "c": "task"},
			params: map[string]string{"a": "child", "b": "parent", "c": "task"}, secret: "parent-secret", cmd: "parent-cmd", code: "print(1)", runtime: taskdef.Deno, retries: 5, chainNames: []string{"child", "parent"},
		},
		"child secret and cmd win": {
			chain:  []taskdef.Definition{fn("child", nil, "child-secret", "child-cmd", taskdef.SourceFunctionRef, ""), parent},
			params: map[string]string{"a": "parent", "b": "parent"}, secret: "child-secret", cmd: "child-cmd", code: "print(1)", runtime: taskdef.Deno, retries: 5, chainNames: []string{"child", "parent"},
		},
		"three levels": {
			chain: []taskdef.Definition{
				fn("kid", map[string]string{"a": "kid"}, "", "", taskdef.SourceFunctionRef, ""),
				fn("mid", map[string]string{"a": "mid", "b": "mid", "m": "mid"}, "mid-secret", "", taskdef.SourceFunctionRef, ""),
				parent,
			},
			params: map[string]string{"a": "kid", "b": "mid", "m": "mid"}, secret: "mid-secret", cmd: "parent-cmd", code: "print(1)", runtime: taskdef.Deno, retries: 3, chainNames: []string{"kid", "mid", "parent"},
		},
		"no parameters anywhere": {
			chain: []taskdef.Definition{fn("solo", nil, "", "", taskdef.SourceInline, "x")},
			code:  "x", runtime: taskdef.Python, retries: 4, chainNames: []string{"solo"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := Merge(tc.chain, tc.task)
			if !reflect.DeepEqual(r.Parameters, tc.params) || r.Secret != tc.secret || r.CmdParameters != tc.cmd || r.Code != tc.code || r.Runtime != tc.runtime || r.Retries != tc.retries || !reflect.DeepEqual(r.Chain, tc.chainNames) || r.Name != tc.chain[0].Name {
				t.Fatalf("got %+v", r)
			}
		})
	}
}

// TestDefinitionsFromResourceService reads a definition through
// executor.ResourceClient (as NewService wires it): a 404 falls through
// from the service to the stage to the project level, the stage and
// service reads are pinned to the commit and the project read is not.
func TestDefinitionsFromResourceService(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.RequestURI()+" token="+r.Header.Get("x-token"))
		mu.Unlock()
		if r.URL.EscapedPath() != "/api/resource-service/v1/project/sockshop/resource/task-definitions%2Ft.yaml" {
			http.Error(w, `{"code":404,"message":"not found"}`, http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"resourceURI": "x", "resourceContent": base64.StdEncoding.EncodeToString([]byte(def("t", okPy)))})
	}))
	defer srv.Close()
	h := newHarness(t, nil, func(_ *Config, d *Deps) {
		d.Resources = &executor.ResourceClient{BaseURL: srv.URL + "/", Token: "tok"}
	})
	h.run(triggered(t, "t", nil)).want(t, keptn.StatusSucceeded, keptn.ResultPass)
	want := []string{
		"/api/resource-service/v1/project/sockshop/stage/dev/service/carts/resource/task-definitions%2Ft.yaml?gitCommitID=abc123 token=tok",
		"/api/resource-service/v1/project/sockshop/stage/dev/resource/task-definitions%2Ft.yaml?gitCommitID=abc123 token=tok",
		"/api/resource-service/v1/project/sockshop/resource/task-definitions%2Ft.yaml token=tok",
	}
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(seen, want) {
		t.Fatalf("requests\n%q\nwant\n%q", seen, want)
	}
}

func TestJobName(t *testing.T) {
	long := strings.Repeat("a", 200) + ".b"
	for _, n := range []string{JobName("id", "t", 1), JobName("id", long, 11), JobName("id", "my.def", 3)} {
		if len(n) > 63 || !dnsLabel(n) {
			t.Errorf("%q is not a DNS-1123 label", n)
		}
	}
	if JobName("id1", "t", 1) == JobName("id2", "t", 1) || JobName("id", "t", 1) == JobName("id", "t", 2) {
		t.Error("names collide")
	}
}

func dnsLabel(s string) bool {
	for i, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0 && i < len(s)-1
		if !ok {
			return false
		}
	}
	return s != ""
}

func TestShutdownAbortsAndRefusesNewWork(t *testing.T) {
	jobs := &blockingJobs{block: true, started: make(chan struct{}, 1)}
	h := newHarness(t, map[string]string{"//task-definitions/ctr.yaml": def("ctr", "  container: {image: busybox}\n")}, func(_ *Config, d *Deps) { d.Jobs = jobs })
	e := triggered(t, "ctr", nil)
	if err := h.runner.Handle(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	<-jobs.started
	if err := h.runner.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := h.check(e)
	f.want(t, keptn.StatusErrored, keptn.ResultFail)
	if s := f.def(t, "ctr"); s.Reason != ReasonAborted {
		t.Fatalf("status %+v", s)
	}
	later := triggered(t, "ctr", nil)
	later.SetID("another")
	if err := h.runner.Handle(context.Background(), later); err == nil {
		t.Fatal("a stopped runner accepted new work")
	}
}
