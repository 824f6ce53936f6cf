package engine_test

import (
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/keptn"
)

const testShipyard = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: test}
spec:
  stages:
    - name: dev
      sequences:
        - name: artifact-delivery
          tasks:
            - name: deployment
              properties: {deploymentstrategy: direct}
            - name: test
              properties: {teststrategy: functional}
            - name: evaluation
            - name: release
        - name: rollback
          triggeredOn:
            - event: dev.artifact-delivery.finished
              selector: {match: {result: fail}}
          tasks: [{name: rollback}]
        - name: delivery
          tasks:
            - name: mytask
              properties: {strategy: direct}
        - name: delivery-with-approval
          tasks:
            - name: approval
              properties: {pass: manual, warning: manual}
            - name: mytask
        - name: dup
          tasks: [{name: deployment}, {name: deployment}, {name: evaluation}]
        - name: single
          tasks: [{name: unknown}]
        - name: delayed
          tasks: [{name: unknown, triggeredAfter: 10s}]
        - name: twotasks
          tasks: [{name: task1}, {name: task2}]
        - name: empty
          tasks: []
    - name: hardening
      sequences:
        - name: artifact-delivery
          triggeredOn: [{event: dev.artifact-delivery.finished}]
          tasks: [{name: deployment}, {name: test}, {name: evaluation}, {name: release}]
`

var ok = keptn.Data{Status: keptn.StatusSucceeded, Result: keptn.ResultPass}

// Scenario1: dev → hardening happy path with payload merging and chaining.
func TestScenario1HappyPath(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := s.trigger("dev", "artifact-delivery", "carts", map[string]any{
		"configurationChange": map[string]any{"values": map[string]any{"image": "carts"}},
		"deployment":          map[string]any{"deploymentURIsPublic": []any{"uri"}},
	})
	s.wantState(kctx, engine.ViewStarted)
	dep := s.mustLast(tt("deployment"), kctx)
	if keptn.Ext(dep, keptn.ExtSlipwayKind) != keptn.SlipwayKindTask {
		t.Fatal("task .triggered must carry slipwaykind=task for Trigger filters")
	}
	if got := path(dataOf(t, dep), "deployment", "deploymentstrategy"); got != "direct" {
		t.Fatalf("deploymentstrategy = %v", got)
	}
	s.run(dep, keptn.ResultPass, map[string]any{"deploymentURIsPublic": []any{"public-uri-1", "public-uri-2"},
		"deploymentURIsLocal": []any{"l1", "l2"}, "deploymentNames": []any{"canary"}})
	test := s.mustLast(tt("test"), kctx)
	d := dataOf(t, test)
	if n := len(path(d, "deployment", "deploymentURIsPublic").([]any)); n != 3 {
		t.Fatalf("merged public URIs = %d, want 3 (newer prepended to older)", n)
	}
	if path(d, "configurationChange", "values", "image") != "carts" || path(d, "test", "teststrategy") != "functional" {
		t.Fatalf("test.triggered data = %v", d)
	}
	s.run(test, keptn.ResultPass, map[string]any{"start": "start", "end": "end"})
	ev := s.mustLast(tt("evaluation"), kctx)
	if d := dataOf(t, ev); path(d, "test", "start") != "start" || len(path(d, "deployment", "deploymentNames").([]any)) != 1 {
		t.Fatalf("evaluation.triggered data = %v", d)
	}
	s.run(ev, keptn.ResultWarning, nil) // warning does not stop
	s.run(s.mustLast(tt("release"), kctx), keptn.ResultPass, nil)
	fin := s.mustLast(sf("dev", "artifact-delivery"), kctx)
	if keptn.TriggeredID(fin) != s.runs(kctx)[0].Scope.TriggeredID {
		t.Fatal("sequence .finished must reference the trigger")
	}
	if d := dataOf(t, fin); d["result"] != "warning" || d["status"] != "succeeded" {
		t.Fatalf("run result = %v/%v, want warning/succeeded (worst task)", d["result"], d["status"])
	}
	h := s.mustLast(strig("hardening", "artifact-delivery"), kctx)
	if d := dataOf(t, h); d["stage"] != "hardening" || d["configurationChange"] == nil || d["deployment"] == nil {
		t.Fatalf("hardening trigger data = %v", d)
	}
	if s.count(strig("dev", "rollback"), kctx) != 0 {
		t.Fatal("rollback must not fire on success")
	}
	hdep := s.mustLast(tt("deployment"), kctx)
	if d := dataOf(t, hdep); d["stage"] != "hardening" || d["test"] == nil {
		t.Fatalf("hardening deployment data = %v", d)
	}
	// two executors: the task completes only after both finished
	s.respond(hdep, keptn.KindStarted, "a", keptn.Data{Status: keptn.StatusSucceeded}, nil)
	s.respond(hdep, keptn.KindStarted, "b", keptn.Data{Status: keptn.StatusSucceeded}, nil)
	s.respond(hdep, keptn.KindFinished, "a", ok, nil)
	if s.count(tt("test"), kctx) != 1 {
		t.Fatal("test.triggered sent before the second executor finished")
	}
	s.respond(hdep, keptn.KindFinished, "b", ok, nil)
	if s.count(tt("test"), kctx) != 2 {
		t.Fatal("test.triggered not sent after both executors finished")
	}
	dev := s.runs(kctx)[0]
	if dev.Status.CurrentTask != nil || len(dev.Status.PreviousTasks) != 4 {
		t.Fatalf("dev run: current %v, previous %d", dev.Status.CurrentTask, len(dev.Status.PreviousTasks))
	}
}

// Scenario2: a .finished arriving before its .started; decision 1 makes the
// finished alone complete the task, and the late started is ignored.
func TestScenario2FinishedBeforeStarted(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := s.trigger("dev", "artifact-delivery", "carts", nil)
	dep := s.mustLast(tt("deployment"), kctx)
	fin, _ := keptn.Respond(dep, keptn.KindFinished, keptn.Meta{ID: "f1", Source: "x", Time: s.now}, ok, nil)
	st, _ := keptn.Respond(dep, keptn.KindStarted, keptn.Meta{ID: "s1", Source: "x", Time: s.now}, keptn.Data{Status: keptn.StatusSucceeded}, nil)
	if err := s.deliver(fin); err != nil {
		t.Fatal(err)
	}
	if s.count(tt("test"), kctx) != 1 {
		t.Fatal("finished without started should complete the task")
	}
	if err := s.deliver(st); err != engine.ErrStale {
		t.Fatalf("late started: %v, want ErrStale", err)
	}
}

// Scenario3: errored deployment → run errored/fail → rollback follow-up.
func TestScenario3ErroredTriggersRollback(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := s.trigger("dev", "artifact-delivery", "carts", nil)
	dep := s.mustLast(tt("deployment"), kctx)
	s.respond(dep, keptn.KindStarted, "x", keptn.Data{Status: keptn.StatusSucceeded}, nil)
	s.respond(dep, keptn.KindFinished, "x", keptn.Data{Status: keptn.StatusErrored, Result: keptn.ResultFail}, nil)
	fin := s.mustLast(sf("dev", "artifact-delivery"), kctx)
	if d := dataOf(t, fin); d["status"] != "errored" || d["result"] != "fail" {
		t.Fatalf("finished data = %v", d)
	}
	s.mustLast(strig("dev", "rollback"), kctx)
	s.mustLast(tt("rollback"), kctx)
	if len(s.open("deployment")) != 0 || s.count(strig("hardening", "artifact-delivery"), kctx) != 0 {
		t.Fatal("deployment still open or hardening triggered after failure")
	}
}

// Scenario4 / TriggerOnFail: evaluation fail stops the run and triggers rollback.
func TestScenario4EvaluationFail(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := s.trigger("dev", "artifact-delivery", "carts", nil)
	s.run(s.mustLast(tt("deployment"), kctx), keptn.ResultPass, nil)
	s.run(s.mustLast(tt("test"), kctx), keptn.ResultPass, nil)
	s.run(s.mustLast(tt("evaluation"), kctx), keptn.ResultFail, nil)
	if d := dataOf(t, s.mustLast(sf("dev", "artifact-delivery"), kctx)); d["status"] != "succeeded" || d["result"] != "fail" {
		t.Fatalf("finished data = %v", d)
	}
	if s.count(tt("release"), kctx) != 0 {
		t.Fatal("release triggered after failed evaluation")
	}
	s.mustLast(tt("rollback"), kctx)
	if s.count(strig("hardening", "artifact-delivery"), kctx) != 0 {
		t.Fatal("hardening must not be triggered on fail")
	}
}

// Scenario4a: two executors, one fails → task fails.
func TestScenario4aTwoExecutorsOneFails(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := s.trigger("dev", "artifact-delivery", "carts", nil)
	dep := s.mustLast(tt("deployment"), kctx)
	s.respond(dep, keptn.KindStarted, "a", keptn.Data{Status: keptn.StatusSucceeded}, nil)
	s.respond(dep, keptn.KindStarted, "b", keptn.Data{Status: keptn.StatusSucceeded}, nil)
	s.respond(dep, keptn.KindFinished, "a", keptn.Data{Status: keptn.StatusSucceeded, Result: keptn.ResultFail}, nil)
	s.respond(dep, keptn.KindFinished, "b", ok, nil)
	if d := dataOf(t, s.mustLast(sf("dev", "artifact-delivery"), kctx)); d["result"] != "fail" || d["status"] != "succeeded" {
		t.Fatalf("finished = %v", d)
	}
	s.mustLast(tt("rollback"), kctx)
}

// Scenario5: invalid shipyard → exactly one errored .finished.
func TestScenario5InvalidShipyard(t *testing.T) {
	s := newSim(t, testShipyard)
	s.sy, s.syErr = nil, errString("Invalid shipyard APIVersion")
	kctx := s.trigger("dev", "artifact-delivery", "carts", nil)
	if len(s.published) != 1 {
		t.Fatalf("published %v, want only the .finished", s.types())
	}
	d := dataOf(t, s.mustLast(sf("dev", "artifact-delivery"), kctx))
	if d["status"] != "errored" || d["result"] != "fail" || d["message"] == "" {
		t.Fatalf("finished = %v", d)
	}
	s.wantState(kctx, engine.ViewFinished)
}

type errString string

func (e errString) Error() string { return string(e) }

// Scenario6: finished with an unknown triggeredid changes nothing.
func TestScenario6UnknownTriggeredID(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := s.trigger("dev", "artifact-delivery", "carts", nil)
	n := len(s.published)
	ev := s.mkEvent(keptn.TaskType("deployment", keptn.KindFinished), kctx, "no-such-id",
		map[string]any{"project": project, "stage": "dev", "service": "carts", "result": "pass", "status": "succeeded"})
	if err := s.deliver(ev); err != engine.ErrStale {
		t.Fatalf("err = %v, want ErrStale", err)
	}
	if len(s.published) != n {
		t.Fatal("unknown triggeredid published events")
	}
}

// Scenario7 / UpdateServiceShouldNotBeCalledForEmptyService: a trigger
// without stage or service is invalid and creates nothing.
func TestScenario7InvalidScope(t *testing.T) {
	s := newSim(t, testShipyard)
	for _, data := range []map[string]any{
		{"project": project, "service": "carts"},
		{"project": project, "stage": "dev"},
	} {
		ev := s.mkEvent(strig("dev", "artifact-delivery"), "c", "", data)
		if _, err := s.eng.Trigger(s.w, engine.TriggerInput{Event: ev, Shipyard: s.sy}, s.now); err == nil {
			t.Fatalf("trigger with data %v accepted", data)
		}
	}
}

func TestSequenceForUnavailableStage(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := s.trigger("unknown", "artifact-delivery", "carts", nil)
	d := dataOf(t, s.mustLast(sf("unknown", "artifact-delivery"), kctx))
	if d["status"] != "errored" || d["message"] != "Unable to start sequence artifact-delivery: no stage with name unknown" {
		t.Fatalf("finished = %v", d)
	}
	if len(s.published) != 1 {
		t.Fatalf("published %v", s.types())
	}
}

func TestSequenceNotFoundAndEmpty(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := s.trigger("dev", "unknown", "carts", nil)
	s.wantState(kctx, engine.ViewFinished)
	if d := dataOf(t, s.mustLast(sf("dev", "unknown"), kctx)); d["status"] != "errored" || d["result"] != "fail" {
		t.Fatalf("finished = %v", d)
	}
	kctx = s.trigger("dev", "empty", "carts", nil)
	if d := dataOf(t, s.mustLast(sf("dev", "empty"), kctx)); d["message"] != "Unable to start sequence empty: task sequence empty does not contain any tasks" {
		t.Fatalf("finished = %v", d)
	}
}

func TestBuiltInEvaluationSequence(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := s.trigger("hardening", "evaluation", "carts", nil)
	s.run(s.mustLast(tt("evaluation"), kctx), keptn.ResultPass, map[string]any{"score": 100.0})
	if d := dataOf(t, s.mustLast(sf("hardening", "evaluation"), kctx)); d["result"] != "pass" {
		t.Fatalf("finished = %v", d)
	}
	if ev := s.view(kctx).Stages[0].LatestEvaluation; ev == nil || ev.Score != 100 {
		t.Fatalf("latestEvaluation = %+v", ev)
	}
}

func TestDuplicateTask(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := s.trigger("dev", "dup", "carts", nil)
	s.run(s.mustLast(tt("deployment"), kctx), keptn.ResultPass, nil)
	if s.count(tt("deployment"), kctx) != 2 {
		t.Fatal("second deployment not triggered")
	}
	first, second := s.published[0], s.mustLast(tt("deployment"), kctx)
	if first.ID() == second.ID() {
		t.Fatal("duplicate task names need distinct triggered ids")
	}
	s.run(second, keptn.ResultPass, nil)
	s.mustLast(tt("evaluation"), kctx)
}

// Duplicate deliveries are applied once (decision 2).
func TestDuplicateEventsCountedOnce(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := s.trigger("dev", "artifact-delivery", "carts", nil)
	dep := s.mustLast(tt("deployment"), kctx)
	st := s.respond(dep, keptn.KindStarted, "x", keptn.Data{Status: keptn.StatusSucceeded}, nil)
	if err := s.deliver(st); err != engine.ErrDuplicate {
		t.Fatalf("redelivered started: %v, want ErrDuplicate", err)
	}
	s.respond(dep, keptn.KindFinished, "x", ok, nil)
	if s.count(tt("test"), kctx) != 1 {
		t.Fatal("a duplicated started must not hold the task open")
	}
}

// Test__main_TriggerNextSequenceOnSuccess / OnFailure.
func TestTriggerNextSequence(t *testing.T) {
	const sy = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: x}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          tasks: [{name: delivery}]
        - name: notify-failure
          triggeredOn: [{event: dev.delivery.finished, selector: {match: {result: fail}}}]
          tasks: [{name: notify}]
        - name: notify-success
          triggeredOn: [{event: dev.delivery.finished}]
          tasks: [{name: notify}]
`
	for name, tc := range map[string]struct {
		result     keptn.Result
		want, dont string
	}{
		"OnSuccess": {keptn.ResultPass, "notify-success", "notify-failure"},
		"OnWarning": {keptn.ResultWarning, "notify-success", "notify-failure"},
		"OnFailure": {keptn.ResultFail, "notify-failure", "notify-success"},
	} {
		t.Run(name, func(t *testing.T) {
			s := newSim(t, sy)
			kctx := s.trigger("dev", "delivery", "carts", nil)
			s.run(s.mustLast(tt("delivery"), kctx), tc.result, nil)
			s.mustLast(strig("dev", tc.want), kctx)
			if s.count(strig("dev", tc.dont), kctx) != 0 {
				t.Fatalf("%s triggered", tc.dont)
			}
		})
	}
}

// Test__main_SequenceQueue.
func TestSequenceQueue(t *testing.T) {
	s := newSim(t, testShipyard)
	a := s.trigger("dev", "delivery", "carts", nil)
	s.now = s.now.Add(time.Second)
	b := s.trigger("dev", "delivery", "carts", nil)
	s.wantState(a, engine.ViewStarted)
	s.wantState(b, engine.ViewWaiting)
	if s.count(tt("mytask"), b) != 0 {
		t.Fatal("queued run B got a task")
	}
	s.run(s.mustLast(tt("mytask"), a), keptn.ResultFail, nil)
	s.wantState(b, engine.ViewStarted)
	s.mustLast(tt("mytask"), b)
	// another service is never blocked
	c := s.trigger("dev", "delivery", "orders", nil)
	s.wantState(c, engine.ViewStarted)
}

// FIFO across many queued runs, aborting the running one each time
// (test_sequencequeue.go Test_SequenceQueue_TriggerMultiple).
func TestSequenceQueueFIFOAbortEach(t *testing.T) {
	s := newSim(t, testShipyard)
	var ctxs []string
	for i := 0; i < 10; i++ {
		ctxs = append(ctxs, s.trigger("dev", "twotasks", "carts", nil))
		s.now = s.now.Add(2 * time.Second)
	}
	for i, c := range ctxs {
		if len(s.open("task1")) != 1 {
			t.Fatalf("step %d: %d open task1 events, want 1", i, len(s.open("task1")))
		}
		s.wantState(c, engine.ViewStarted)
		for _, later := range ctxs[i+1:] {
			s.wantState(later, engine.ViewWaiting)
		}
		s.ctl(c, engine.Abort, "")
		s.wantState(c, engine.ViewAborted)
	}
	if len(s.open("task1")) != 0 {
		t.Fatal("open task1 after all aborted")
	}
}

// Test__main_SequenceQueueWithTimeout.
func TestSequenceQueueWithTimeout(t *testing.T) {
	s := newSim(t, testShipyard)
	a := s.trigger("dev", "delivery", "carts", nil)
	b := s.trigger("dev", "delivery", "carts", nil)
	s.advance(10*time.Minute + time.Second)
	s.wantState(a, engine.ViewTimedOut)
	s.wantState(b, engine.ViewStarted)
	s.mustLast(tt("mytask"), b)
	if d := dataOf(t, s.mustLast(sf("dev", "delivery"), a)); d["status"] != "errored" || d["result"] != "fail" {
		t.Fatalf("timed out finished = %v", d)
	}
}

// Test__main_SequenceQueueApproval.
func TestSequenceQueueApproval(t *testing.T) {
	s := newSim(t, testShipyard)
	a := s.trigger("dev", "delivery-with-approval", "carts", nil)
	appr := s.mustLast(tt("approval"), a)
	s.respond(appr, keptn.KindStarted, "approval-service", keptn.Data{Status: keptn.StatusSucceeded}, nil)
	if st := s.runs(a)[0].Status.State; st != engine.StateWaitingForApproval {
		t.Fatalf("A state %s", st)
	}
	b := s.trigger("dev", "delivery", "carts", nil)
	s.wantState(b, engine.ViewStarted) // waiting for approval holds no lane
	bt := s.mustLast(tt("mytask"), b)
	s.respond(bt, keptn.KindStarted, "x", keptn.Data{Status: keptn.StatusSucceeded}, nil)
	s.respond(appr, keptn.KindFinished, "approval-service", ok, nil)
	if s.count(tt("mytask"), a) != 0 {
		t.Fatal("A continued while B holds the lane")
	}
	s.wantState(a, engine.ViewWaiting)
	s.respond(bt, keptn.KindFinished, "x", ok, nil)
	s.wantState(b, engine.ViewFinished)
	s.mustLast(tt("mytask"), a)
	s.wantState(a, engine.ViewStarted)
}

func TestApprovalDeclinedStopsRun(t *testing.T) {
	s := newSim(t, testShipyard)
	a := s.trigger("dev", "delivery-with-approval", "carts", nil)
	s.run(s.mustLast(tt("approval"), a), keptn.ResultFail, nil)
	if s.count(tt("mytask"), a) != 0 {
		t.Fatal("declined approval continued")
	}
	if d := dataOf(t, s.mustLast(sf("dev", "delivery-with-approval"), a)); d["result"] != "fail" {
		t.Fatalf("finished %v", d)
	}
}

// Test__main_SequenceStateParallelStages.
func TestSequenceStateParallelStages(t *testing.T) {
	const sy = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: x}
spec:
  stages:
    - name: dev
      sequences: [{name: delivery, tasks: [{name: delivery}]}]
    - name: staging-1
      sequences: [{name: delivery, triggeredOn: [{event: dev.delivery.finished}], tasks: [{name: delivery}]}]
    - name: staging-2
      sequences: [{name: delivery, triggeredOn: [{event: dev.delivery.finished}], tasks: [{name: delivery}]}]
`
	s := newSim(t, sy)
	kctx := s.trigger("dev", "delivery", "carts", nil)
	v := s.view(kctx)
	if len(v.Stages) != 1 || v.Stages[0].LatestEvent.Type != tt("delivery") || v.State != engine.ViewStarted {
		t.Fatalf("view = %+v", v)
	}
	s.run(s.mustLast(tt("delivery"), kctx), keptn.ResultPass, nil)
	v = s.view(kctx)
	if len(v.Stages) != 3 || v.Stages[1].LatestEvent.Type != tt("delivery") || v.Stages[2].LatestEvent.Type != tt("delivery") {
		t.Fatalf("view = %+v", v)
	}
	var s1, s2 *engine.Run
	for _, r := range s.runs(kctx) {
		switch r.Scope.Stage {
		case "staging-1":
			s1 = r
		case "staging-2":
			s2 = r
		}
	}
	open := func(r *engine.Run) keptnEvent { return s.openEventOf(r) }
	s.run(open(s1), keptn.ResultPass, nil)
	v = s.view(kctx)
	if v.Stages[1].LatestEvent.Type != sf("staging-1", "delivery") || v.Stages[2].LatestEvent.Type != tt("delivery") || v.State != engine.ViewStarted {
		t.Fatalf("after staging-1: %+v", v)
	}
	s.run(open(s2), keptn.ResultPass, nil)
	v = s.view(kctx)
	if v.State != engine.ViewFinished || v.Stages[2].LatestEvent.Type != sf("staging-2", "delivery") {
		t.Fatalf("after staging-2: %+v", v)
	}
}

// Test__main_SequenceTimeout, TimeoutSequence.
func TestSequenceTimeout(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := s.trigger("dev", "single", "carts", nil)
	s.advance(9 * time.Minute)
	s.wantState(kctx, engine.ViewStarted)
	s.advance(time.Minute)
	s.wantState(kctx, engine.ViewTimedOut)
	if s.count(sf("dev", "single"), kctx) != 1 {
		t.Fatal("want exactly one .finished")
	}
	d := dataOf(t, s.mustLast(sf("dev", "single"), kctx))
	if d["status"] != "errored" || d["result"] != "fail" ||
		d["message"] != "sequence timed out while waiting for task sh.keptn.event.unknown.triggered to receive a correlating .started or .finished event" {
		t.Fatalf("finished = %v", d)
	}
	s.mustLast(keptn.TaskType("unknown", keptn.KindAborted), kctx)
}

// A started task that never finishes times out too (decision 3).
func TestFinishedTimeout(t *testing.T) {
	s := newSim(t, `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: x}
spec:
  stages:
    - name: dev
      sequences:
        - name: slow
          tasks: [{name: deploy, timeout: 30m}]
        - name: whole
          timeout: 1h
          tasks: [{name: a}, {name: b}]
`)
	kctx := s.trigger("dev", "slow", "carts", nil)
	s.respond(s.mustLast(tt("deploy"), kctx), keptn.KindStarted, "x", keptn.Data{Status: keptn.StatusSucceeded}, nil)
	s.advance(29 * time.Minute)
	s.wantState(kctx, engine.ViewStarted)
	s.advance(time.Minute)
	s.wantState(kctx, engine.ViewTimedOut)

	k2 := s.trigger("dev", "whole", "carts", nil)
	s.run(s.mustLast(tt("a"), k2), keptn.ResultPass, nil)
	s.respond(s.mustLast(tt("b"), k2), keptn.KindStarted, "x", keptn.Data{Status: keptn.StatusSucceeded}, nil)
	s.advance(time.Hour)
	s.wantState(k2, engine.ViewTimedOut)
}

// Test__main_SequenceTimeoutDelayedTask.
func TestSequenceTimeoutDelayedTask(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := s.trigger("dev", "delayed", "carts", nil)
	s.advance(5 * time.Second)
	if s.count(tt("unknown"), kctx) != 0 || len(s.open("unknown")) != 0 {
		t.Fatal("delayed task sent or listed early (decision 9)")
	}
	s.wantState(kctx, engine.ViewStarted)
	s.advance(5 * time.Second)
	s.mustLast(tt("unknown"), kctx)
	s.advance(10 * time.Minute)
	s.wantState(kctx, engine.ViewTimedOut)
}

// Test__main_SequenceTimeoutDelayedTaskCancelSequence.
func TestSequenceTimeoutDelayedTaskCancelSequence(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := s.trigger("dev", "delayed", "carts", nil)
	if due := s.eng.Due(s.runs(kctx)[0]); due.IsZero() {
		t.Fatal("delayed task has no timer")
	}
	s.ctl(kctx, engine.Abort, "")
	s.wantState(kctx, engine.ViewAborted)
	if due := s.eng.Due(s.runs(kctx)[0]); !due.IsZero() {
		t.Fatalf("aborted run still has a timer at %v", due)
	}
	s.advance(time.Minute)
	if s.count(tt("unknown"), kctx) != 0 {
		t.Fatal("aborted delayed task was sent")
	}
}

// Test__main_SequenceControl_Abort, CancelSequence.
func TestSequenceControlAbort(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := s.trigger("dev", "delivery", "carts", nil)
	mt := s.mustLast(tt("mytask"), kctx)
	s.respond(mt, keptn.KindStarted, "x", keptn.Data{Status: keptn.StatusSucceeded}, nil)
	s.ctl(kctx, engine.Abort, "")
	s.wantState(kctx, engine.ViewAborted)
	if len(s.open("mytask")) != 0 {
		t.Fatal("task still open after abort")
	}
	d := dataOf(t, s.mustLast(sf("dev", "delivery"), kctx))
	if d["status"] != "aborted" || d["result"] != "pass" {
		t.Fatalf("finished = %v", d)
	}
	ab := s.mustLast(keptn.TaskType("mytask", keptn.KindAborted), kctx)
	if keptn.TriggeredID(ab) != mt.ID() {
		t.Fatal("abort notification must name the task's triggered id")
	}
	// late finished is ignored
	fin, _ := keptn.Respond(mt, keptn.KindFinished, keptn.Meta{ID: "late", Source: "x", Time: s.now}, ok, nil)
	if err := s.deliver(fin); err != engine.ErrStale {
		t.Fatalf("late finished: %v", err)
	}
	n := len(s.published)
	s.ctl(kctx, engine.Abort, "") // aborting again emits nothing
	if len(s.published) != n {
		t.Fatal("second abort published events")
	}
}

// Test__main_SequenceControl_AbortQueuedSequence.
func TestSequenceControlAbortQueuedSequence(t *testing.T) {
	s := newSim(t, testShipyard)
	a := s.trigger("dev", "delivery", "carts", nil)
	b := s.trigger("dev", "delivery", "carts", nil)
	s.wantState(b, engine.ViewWaiting)
	s.ctl(b, engine.Abort, "")
	s.wantState(b, engine.ViewAborted)
	s.run(s.mustLast(tt("mytask"), a), keptn.ResultPass, nil)
	if s.count(tt("mytask"), b) != 0 {
		t.Fatal("aborted queued run started")
	}
}

// Test__main_SequenceControl_PauseSequence.
func TestSequenceControlPauseSequence(t *testing.T) {
	s := newSim(t, testShipyard)
	a := s.trigger("dev", "delivery", "carts", nil)
	s.respond(s.mustLast(tt("mytask"), a), keptn.KindStarted, "x", keptn.Data{Status: keptn.StatusSucceeded}, nil)
	s.ctl(a, engine.Pause, "")
	s.wantState(a, engine.ViewPaused)
	b := s.trigger("dev", "delivery", "carts", nil)
	s.wantState(b, engine.ViewStarted) // paused runs hold no lane
}

// Test__main_SequenceControl_AbortPausedSequenceTaskPartiallyFinished.
func TestSequenceControlAbortPausedSequenceTaskPartiallyFinished(t *testing.T) {
	s := newSim(t, testShipyard)
	a := s.trigger("dev", "delivery", "carts", nil)
	mt := s.mustLast(tt("mytask"), a)
	s.respond(mt, keptn.KindStarted, "one", keptn.Data{Status: keptn.StatusSucceeded}, nil)
	s.respond(mt, keptn.KindStarted, "two", keptn.Data{Status: keptn.StatusSucceeded}, nil)
	s.respond(mt, keptn.KindFinished, "one", keptn.Data{Status: keptn.StatusSucceeded, Result: keptn.ResultFail}, nil)
	b := s.trigger("dev", "delivery", "carts", nil)
	s.wantState(b, engine.ViewWaiting)
	s.ctl(a, engine.Pause, "")
	s.wantState(a, engine.ViewPaused)
	s.ctl(a, engine.Abort, "")
	s.wantState(a, engine.ViewAborted)
	s.wantState(b, engine.ViewStarted)
	s.mustLast(tt("mytask"), b)
}

// Test__main_SequenceControl_AbortPausedSequenceMultipleStages.
func TestSequenceControlAbortMultipleStages(t *testing.T) {
	const sy = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: x}
spec:
  stages:
    - name: dev
      sequences: [{name: delivery, tasks: [{name: task1}]}]
    - name: prod-a
      sequences: [{name: delivery, triggeredOn: [{event: dev.delivery.finished}], tasks: [{name: task2}]}]
    - name: prod-b
      sequences: [{name: delivery, triggeredOn: [{event: dev.delivery.finished}], tasks: [{name: task2}]}]
`
	s := newSim(t, sy)
	a := s.trigger("dev", "delivery", "carts", nil)
	s.run(s.mustLast(tt("task1"), a), keptn.ResultPass, nil)
	if s.count(tt("task2"), a) != 2 {
		t.Fatalf("A task2 in both prod stages: %v", s.types())
	}
	b := s.trigger("dev", "delivery", "carts", nil)
	s.run(s.mustLast(tt("task1"), b), keptn.ResultPass, nil)
	if s.count(tt("task2"), b) != 0 {
		t.Fatal("B ran in prod while A holds the prod lanes")
	}
	s.ctl(a, engine.Abort, "")
	s.wantState(a, engine.ViewAborted)
	if s.count(tt("task2"), b) != 2 {
		t.Fatalf("B task2 after abort of A: %d", s.count(tt("task2"), b))
	}
}

// Test__main_SequenceControl_PauseAndResume (+ the _2 integration variant).
func TestSequenceControlPauseAndResume(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := s.trigger("dev", "twotasks", "carts", nil)
	t1 := s.mustLast(tt("task1"), kctx)
	s.respond(t1, keptn.KindStarted, "x", keptn.Data{Status: keptn.StatusSucceeded}, nil)
	s.ctl(kctx, engine.Pause, "")
	s.respond(t1, keptn.KindFinished, "x", ok, nil)
	s.wantState(kctx, engine.ViewPaused)
	if s.count(tt("task2"), kctx) != 0 || len(s.open("task2")) != 0 {
		t.Fatal("task2 sent while paused")
	}
	s.advance(time.Hour) // no timeout while paused
	s.ctl(kctx, engine.Resume, "")
	s.wantState(kctx, engine.ViewStarted)
	s.mustLast(tt("task2"), kctx)
}

// Pausing one stage pauses only that stage, including runs created later.
func TestPauseStageScope(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := s.trigger("dev", "artifact-delivery", "carts", nil)
	s.ctl(kctx, engine.Pause, "hardening")
	for _, task := range []string{"deployment", "test", "evaluation", "release"} {
		s.run(s.mustLast(tt(task), kctx), keptn.ResultPass, nil)
	}
	var h *engine.Run
	for _, r := range s.runs(kctx) {
		if r.Scope.Stage == "hardening" {
			h = r
		}
	}
	if h == nil || h.Status.State != engine.StatePaused {
		t.Fatalf("hardening run = %+v", h)
	}
	s.ctl(kctx, engine.Resume, "hardening")
	if h.Status.State != engine.StateStarted || h.Status.CurrentTask == nil {
		t.Fatalf("hardening after resume = %s", h.Status.State)
	}
}

// Test__main_SequenceControl_UnknownStatus.
func TestSequenceControlUnknownStatus(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := s.trigger("dev", "twotasks", "carts", nil)
	t1 := s.mustLast(tt("task1"), kctx)
	s.respond(t1, keptn.KindStarted, "x", keptn.Data{Status: keptn.StatusSucceeded}, nil)
	s.respond(t1, keptn.KindFinished, "x", keptn.Data{Status: "random status", Result: "random result"}, nil)
	s.wantState(kctx, engine.ViewFinished)
	if s.count(tt("task2"), kctx) != 0 {
		t.Fatal("run continued after unknown status")
	}
	if d := dataOf(t, s.mustLast(sf("dev", "twotasks"), kctx)); d["status"] != "unknown" || d["result"] != "fail" {
		t.Fatalf("finished = %v", d)
	}
}

// Test__main_SequenceLoop.
func TestSequenceLoop(t *testing.T) {
	const sy = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: x}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          triggeredOn: [{event: dev.delivery.finished, selector: {match: {mytask.result: fail}}}]
          tasks: [{name: mytask}, {name: othertask}]
`
	s := newSim(t, sy)
	kctx := s.trigger("dev", "delivery", "carts", nil)
	first := s.mustLast(tt("mytask"), kctx)
	s.run(first, keptn.ResultFail, nil)
	second := s.mustLast(tt("mytask"), kctx)
	if second.ID() == first.ID() || s.count(tt("mytask"), kctx) != 2 {
		t.Fatal("loop did not re-trigger mytask")
	}
	s.run(second, keptn.ResultPass, nil)
	s.run(s.mustLast(tt("othertask"), kctx), keptn.ResultFail, nil)
	s.wantState(kctx, engine.ViewFinished)
	if s.count(tt("mytask"), kctx) != 2 {
		t.Fatal("othertask failure must not loop (mytask passed)")
	}
}

// Decision 5: a <task>.result selector matches that task wherever it ran.
func TestSelectorTaskResultAnywhere(t *testing.T) {
	const sy = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: x}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          tasks: [{name: evaluation}, {name: release}]
        - name: report
          triggeredOn: [{event: dev.delivery.finished, selector: {match: {evaluation.result: warning}}}]
          tasks: [{name: report}]
`
	s := newSim(t, sy)
	kctx := s.trigger("dev", "delivery", "carts", nil)
	s.run(s.mustLast(tt("evaluation"), kctx), keptn.ResultWarning, nil)
	s.run(s.mustLast(tt("release"), kctx), keptn.ResultPass, nil)
	s.mustLast(strig("dev", "report"), kctx)
}

// A trigger in a paused context is created paused and starts on resume.
func TestTriggerInPausedContext(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := "paused-ctx"
	s.control(kctx).Apply(engine.Pause, "")
	s.triggerIn(kctx, "dev", "delivery", "carts", nil)
	s.wantState(kctx, engine.ViewPaused)
	if len(s.published) != 0 {
		t.Fatalf("published %v while paused", s.types())
	}
	s.ctl(kctx, engine.Resume, "")
	s.mustLast(tt("mytask"), kctx)
}

type keptnEvent = eventAlias
