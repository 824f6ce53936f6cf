package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

const twoStage = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: e2e}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          tasks:
            - name: deployment
              properties: {deploymentstrategy: direct}
            - name: test
        - name: rollback
          triggeredOn: [{event: dev.delivery.finished, selector: {match: {result: fail}}}]
          tasks: [{name: rollback}]
        - name: queued
          tasks: [{name: task1}, {name: task2}]
        - name: single
          tasks: [{name: lonely}]
    - name: prod
      sequences:
        - name: delivery
          triggeredOn: [{event: dev.delivery.finished}]
          tasks: [{name: deployment}, {name: release}]
    - name: prod-b
      sequences:
        - name: delivery
          triggeredOn: [{event: dev.delivery.finished}]
          tasks: [{name: deployment}]
`

func TestTwoStageDeliveryWithParallelStages(t *testing.T) {
	s := start(t, "")
	s.createProject("shop", twoStage, "carts")
	kctx := s.trigger("shop", "dev", "delivery", "carts", map[string]any{
		"configurationChange": map[string]any{"values": map[string]any{"image": "carts:1"}}})
	dep := s.openIn("shop", "deployment", kctx)
	if dep.Data["deployment"].(map[string]any)["deploymentstrategy"] != "direct" {
		t.Fatalf("deployment data = %v", dep.Data)
	}
	s.waitState("shop", kctx, "started")
	s.answer(dep, "started", "", "succeeded", nil)
	s.answer(dep, "finished", "pass", "succeeded", map[string]any{"deploymentURIsPublic": []any{"http://carts"}})
	test := s.openIn("shop", "test", kctx)
	if test.Data["deployment"].(map[string]any)["deploymentURIsPublic"] == nil {
		t.Fatalf("test.triggered lacks the deployment output: %v", test.Data)
	}
	s.complete(test, "pass")
	// dev finished → prod and prod-b run in parallel
	s.waitHistory("shop", kctx, "sh.keptn.event.dev.delivery.finished")
	var prodDeps []ceEvent
	s.eventually("deployments in prod and prod-b", func() bool {
		prodDeps = nil
		for _, e := range s.open("shop", "deployment") {
			if e.Shkeptncontext == kctx {
				prodDeps = append(prodDeps, e)
			}
		}
		return len(prodDeps) == 2
	})
	for _, e := range prodDeps {
		s.complete(e, "pass")
	}
	s.complete(s.openIn("shop", "release", kctx), "pass")
	s.waitState("shop", kctx, "finished")
	st := s.state("shop", kctx)
	if len(st.Stages) != 3 {
		t.Fatalf("stages = %+v", st.Stages)
	}
	for _, typ := range []string{"sh.keptn.event.prod.delivery.finished", "sh.keptn.event.prod-b.delivery.finished",
		"sh.keptn.event.deployment.started", "sh.keptn.event.test.finished"} {
		s.waitHistory("shop", kctx, typ)
	}
}

func TestFIFOQueueAbortEachRunning(t *testing.T) {
	s := start(t, "")
	s.createProject("q", twoStage, "carts")
	var ctxs []string
	for i := 0; i < 10; i++ {
		ctxs = append(ctxs, s.trigger("q", "dev", "queued", "carts", nil))
		// each trigger is processed before the next, so FIFO order is the send order
		s.eventually("run registered", func() bool { return s.state("q", ctxs[i]).State != "" })
	}
	for i, c := range ctxs {
		s.waitState("q", c, "started")
		if n := len(s.open("q", "task1")); n != 1 {
			t.Fatalf("step %d: %d open task1 events, want 1", i, n)
		}
		if s.openIn("q", "task1", c).Shkeptncontext != c {
			t.Fatal("the open task belongs to another run")
		}
		for _, later := range ctxs[i+1:] {
			if st := s.state("q", later).State; st != "waiting" {
				t.Fatalf("step %d: later run state %s, want waiting", i, st)
			}
		}
		s.mustDo("POST", "/api/controlPlane/v1/sequence/q/"+c+"/control", map[string]any{"state": "abort"}, nil, 200)
		s.waitState("q", c, "aborted")
	}
	s.eventually("no open task1", func() bool { return len(s.open("q", "task1")) == 0 })
}

func TestStartedTimeout(t *testing.T) {
	s := start(t, "", "TASK_STARTED_WAIT_DURATION=2s")
	s.createProject("to", twoStage, "carts")
	kctx := s.trigger("to", "dev", "single", "carts", nil)
	s.waitState("to", kctx, "timedOut")
	fin := s.waitHistory("to", kctx, "sh.keptn.event.dev.single.finished")
	if fin.Data["status"] != "errored" || fin.Data["result"] != "fail" {
		t.Fatalf("finished = %v", fin.Data)
	}
}

func TestPauseAndResume(t *testing.T) {
	s := start(t, "")
	s.createProject("pr", twoStage, "carts")
	kctx := s.trigger("pr", "dev", "queued", "carts", nil)
	t1 := s.openIn("pr", "task1", kctx)
	s.answer(t1, "started", "", "succeeded", nil)
	s.mustDo("POST", "/api/controlPlane/v1/sequence/pr/"+kctx+"/control", map[string]any{"state": "pause"}, nil, 200)
	s.waitState("pr", kctx, "paused")
	s.answer(t1, "finished", "pass", "succeeded", nil)
	s.never("task2 sent while paused", time.Second, func() bool { return len(s.open("pr", "task2")) > 0 })
	s.mustDo("POST", "/api/controlPlane/v1/sequence/pr/"+kctx+"/control", map[string]any{"state": "resume"}, nil, 200)
	s.complete(s.openIn("pr", "task2", kctx), "pass")
	s.waitState("pr", kctx, "finished")
}

func TestRollbackOnFailure(t *testing.T) {
	s := start(t, "")
	s.createProject("rb", twoStage, "carts")
	kctx := s.trigger("rb", "dev", "delivery", "carts", nil)
	dep := s.openIn("rb", "deployment", kctx)
	s.answer(dep, "started", "", "succeeded", nil)
	s.answer(dep, "finished", "fail", "errored", nil)
	s.complete(s.openIn("rb", "rollback", kctx), "pass")
	s.waitHistory("rb", kctx, "sh.keptn.event.dev.rollback.finished")
	for _, e := range s.history("rb", kctx, "") {
		if strings.HasPrefix(e.Type, "sh.keptn.event.prod") {
			t.Fatalf("prod triggered after a failed dev delivery: %s", e.Type)
		}
	}
}

func TestSequenceExecutionFindsBlockingRun(t *testing.T) {
	s := start(t, "")
	s.createProject("blk", twoStage, "carts", "orders")
	a := s.trigger("blk", "dev", "queued", "carts", nil)
	s.waitState("blk", a, "started")
	b := s.trigger("blk", "dev", "queued", "carts", nil)
	s.waitState("blk", b, "waiting")
	s.trigger("blk", "dev", "queued", "orders", nil)
	var out struct {
		SequenceExecutions []struct {
			Scope struct {
				KeptnContext string `json:"keptnContext"`
				Service      string `json:"service"`
			} `json:"scope"`
			Status struct {
				State string `json:"state"`
			} `json:"status"`
		} `json:"sequenceExecutions"`
	}
	s.eventually("blocking run listed", func() bool {
		s.mustDo("GET", "/api/controlPlane/v1/sequence-execution?project=blk&stage=dev&service=carts&status=started", nil, &out, 200)
		return len(out.SequenceExecutions) == 1
	})
	if got := out.SequenceExecutions[0].Scope.KeptnContext; got != a {
		t.Fatalf("blocking run %s, want %s", got, a)
	}
	s.mustDo("GET", "/api/controlPlane/v1/sequence-execution?project=blk&service=carts&status=triggered", nil, &out, 200)
	if len(out.SequenceExecutions) != 1 || out.SequenceExecutions[0].Scope.KeptnContext != b {
		t.Fatalf("queued runs = %+v", out.SequenceExecutions)
	}
}

func TestRestartMidRunThenFinish(t *testing.T) {
	s := start(t, "")
	s.createProject("rs", twoStage, "carts")
	kctx := s.trigger("rs", "dev", "queued", "carts", nil)
	t1 := s.openIn("rs", "task1", kctx)
	s.answer(t1, "started", "", "succeeded", nil)
	s.restart()
	s.answer(t1, "finished", "pass", "succeeded", nil)
	s.complete(s.openIn("rs", "task2", kctx), "pass")
	s.waitState("rs", kctx, "finished")
}

// What a client could see before a crash is on disk: readers only see
// commits that are synced, so the open task survives a SIGKILL and the run
// finishes after the restart. (The dev broker's queue is in memory, so
// deliveries still queued when the process dies are lost; that is why the
// crash comes after the task is visible, not right after an answer.)
func TestCrashMidRunThenFinish(t *testing.T) {
	s := start(t, "")
	s.createProject("cr", twoStage, "carts")
	kctx := s.trigger("cr", "dev", "queued", "carts", nil)
	t1 := s.openIn("cr", "task1", kctx)
	s.crash()
	t1 = s.openIn("cr", "task1", kctx)
	s.answer(t1, "started", "", "succeeded", nil)
	s.answer(t1, "finished", "pass", "succeeded", nil)
	s.complete(s.openIn("cr", "task2", kctx), "pass")
	s.waitState("cr", kctx, "finished")
}

// A SIGKILL while task events are being committed: the store reopens (a
// torn last record is cut), every run seen before the crash is still there,
// and answering the open tasks again (answers still queued in the broker's
// memory died with it) finishes all of them, queued ones included. The
// executor answers again with the same event ids (the API keeps ids that
// are UUIDs), as a retrying executor does: a second .started with a new id would count as a second executor,
// whose .finished the task then waits for (Keptn's rule).
func TestCrashUnderConcurrentCommits(t *testing.T) {
	// A transition committed just before the kill may not have been
	// published: the sweeper sends it again after OUTBOX_RETRY.
	s := start(t, "", "OUTBOX_RETRY=1s")
	const services, runs = 5, 10
	var svcs []string
	for i := range services {
		svcs = append(svcs, fmt.Sprintf("svc%d", i))
	}
	s.createProject("cc", twoStage, svcs...)
	var kctxs []string
	for i := range runs {
		kctxs = append(kctxs, s.trigger("cc", "dev", "single", svcs[i%services], nil))
	}
	s.eventually("a task open on every service", func() bool { return len(s.open("cc", "lonely")) == services })
	complete := func(trig ceEvent) {
		for _, kind := range []string{"started", "finished"} {
			data := map[string]any{"project": trig.Data["project"], "stage": trig.Data["stage"], "service": trig.Data["service"],
				"status": "succeeded", "result": "pass"}
			s.send(map[string]any{"type": "sh.keptn.event.lonely." + kind, "shkeptncontext": trig.Shkeptncontext,
				"triggeredid": trig.ID, "id": uuid.NewSHA1(uuid.NameSpaceOID, []byte(trig.ID+"-"+kind)).String(), "data": data})
		}
	}
	for _, e := range s.open("cc", "lonely") {
		complete(e)
	}
	s.crash()
	for _, k := range kctxs {
		if st := s.state("cc", k); st.State == "" {
			t.Fatalf("context %s is gone after the crash", k)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, e := range s.open("cc", "lonely") {
			complete(e)
		}
		var left []string
		for _, k := range kctxs {
			if st := s.state("cc", k); st.State != "finished" {
				var ex any
				s.do("GET", "/api/controlPlane/v1/sequence-execution?project=cc&keptnContext="+k, nil, &ex)
				raw, _ := json.Marshal(ex)
				left = append(left, string(raw))
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not finished after the crash:\n%s", strings.Join(left, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// An executor subscribed with its own Trigger manifest, answering over HTTP
// by replying to the broker's delivery with events sent to the broker.
func TestExecutorAsTriggerSubscriber(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var brokerURL string
	got := make(chan map[string]any, 10)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var data map[string]any
		_ = json.Unmarshal(raw, &data)
		id := r.Header.Get("Ce-Id")
		ctx := r.Header.Get("Ce-Shkeptncontext")
		w.WriteHeader(http.StatusAccepted)
		mu.Lock()
		b := brokerURL
		mu.Unlock()
		go func() {
			for _, kind := range []string{"started", "finished"} {
				body, _ := json.Marshal(map[string]any{"project": data["project"], "stage": data["stage"], "service": data["service"],
					"status": "succeeded", "result": "pass"})
				req, _ := http.NewRequest("POST", b, strings.NewReader(string(body)))
				req.Header.Set("Ce-Specversion", "1.0")
				req.Header.Set("Ce-Id", id+"-"+kind)
				req.Header.Set("Ce-Source", "e2e-subscriber")
				req.Header.Set("Ce-Type", "sh.keptn.event.lonely."+kind)
				req.Header.Set("Ce-Shkeptncontext", ctx)
				req.Header.Set("Ce-Triggeredid", id)
				req.Header.Set("Content-Type", "application/json")
				if res, err := http.DefaultClient.Do(req); err == nil {
					res.Body.Close()
				}
			}
			got <- data
		}()
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	manifest := fmt.Sprintf(`apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: e2e-lonely}
spec:
  broker: default
  filters: [{exact: {type: sh.keptn.event.lonely.triggered}}]
  subscriber: {uri: "http://%s/"}
`, l.Addr())
	if err := os.WriteFile(filepath.Join(dir, "lonely.yaml"), []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	s := start(t, "", "SLIPWAY_TRIGGER_DIRS="+dir)
	mu.Lock()
	brokerURL = s.Broker
	mu.Unlock()
	s.createProject("sub", twoStage, "carts")
	kctx := s.trigger("sub", "dev", "single", "carts", nil)
	select {
	case <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("subscriber never received lonely.triggered")
	}
	s.waitState("sub", kctx, "finished")
	if fin := s.waitHistory("sub", kctx, "sh.keptn.event.dev.single.finished"); fin.Data["result"] != "pass" {
		t.Fatalf("finished = %v", fin.Data)
	}
}
