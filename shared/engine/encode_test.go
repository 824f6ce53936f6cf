package engine_test

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/shipyard"
)

// sampleRun has every field set, and strings and values that encoding/json
// escapes or formats in its own way.
func sampleRun() *engine.Run {
	t0 := time.Date(2026, 11, 30, 19, 13, 33, 167449737, time.UTC)
	props := map[string]any{
		"project": "p", "html": "<a href=\"x\">&</a>", "ctl": "a\x00\x1f\b\f\n\r\t\\", "bad": "\xff\xfe", "ls": "\u2028\u2029",
		"n": 1.5, "tiny": 1e-7, "big": 1e21, "neg": -0.0000012, "int": 42.0, "zero": 0.0, "t": true, "f": false, "nil": nil,
		"list": []any{"a", 1.0, map[string]any{"z": 1.0, "a": []any{}}}, "empty": map[string]any{}, "nilList": []any(nil),
		"yamlInt": 3, "strs": map[string]string{"b": "2", "a": "1"},
	}
	return &engine.Run{
		ID: "run-1",
		Sequence: engine.Sequence{Name: "delivery", Timeout: "1h", Tasks: []shipyard.Task{
			{Name: "deployment", TriggeredAfter: "10s", Properties: map[string]any{"deploymentstrategy": "direct", "n": 3}, Timeout: "5m"},
			{Name: "test"},
		}},
		Status: engine.RunStatus{State: engine.StatePaused, StateBeforePause: engine.StateStarted,
			PreviousTasks: []engine.TaskResult{{Name: "deployment", TriggeredID: "t1", Result: "pass", Status: "succeeded", Message: "ok", Properties: props}},
			CurrentTask: &engine.CurrentTask{Name: "test", Index: 1, TriggeredID: "t2", SentAt: t0, Paused: 1500 * time.Millisecond, Claims: []string{"generic-executor", "<w>"},
				Events: []engine.TaskEvent{{ID: "e1", EventType: "sh.keptn.event.test.started", Source: "x", Time: t0.Add(time.Second), Properties: props},
					{ID: "e2", EventType: "sh.keptn.event.test.finished", Source: "x", Result: "fail", Status: "errored", Message: "m", Time: t0.In(time.FixedZone("x", 3600))}}}},
		Scope: engine.Scope{Project: "p", Stage: "dev", Service: "svc", Labels: map[string]string{"z": "1", "a": "<2>"},
			KeptnContext: "ctx", TriggeredID: "tr", GitCommitID: "abc", EventType: "sh.keptn.event.dev.delivery.triggered"},
		InputProperties: props,
		TriggeredAt:     t0, StartedAt: t0, NextTaskAt: t0, PausedAt: t0, Queued: true,
		FollowUps: []engine.FollowUpRule{{Stage: "prod", Sequence: "delivery", Match: map[string]string{"result": "pass"}}, {Stage: "hardening", Sequence: "x"}},
		Result:    "fail", Outcome: "errored", Message: "why", Aborted: true, ControlView: "paused", ContextPaused: true, FinishedAt: t0,
		Latest:     &engine.EventRef{Type: "a", ID: "b", Time: t0},
		LatestFail: &engine.EventRef{Type: "c", ID: "d", Time: t0},
		Evaluation: &engine.EvalScore{Result: "pass", Score: 87.5},
		Applied:    []string{"x-started", "x-finished"},
		Outbox:     []engine.Outgoing{{Seq: 4, ID: "o", At: t0, Event: []byte(`{"specversion":"1.0"}`)}, {Seq: 5, ID: "p", At: t0}},
		OutboxSeq:  5,
	}
}

// The run document the store keeps is encoding/json's (the hand-written
// encoder went on 2026-12-04, docs/benchmarks.md). A stored document read
// back and written again must come out byte for byte the same: the control
// plane skips the write of a run whose document did not change, and its
// run cache is keyed by the exact document.
func TestRunDocumentIsAFixpoint(t *testing.T) {
	for name, r := range map[string]*engine.Run{
		"full":               sampleRun(),
		"zero":               {},
		"minimal":            {ID: "r", Status: engine.RunStatus{State: engine.StateTriggered, PreviousTasks: []engine.TaskResult{}}, Sequence: engine.Sequence{Tasks: []shipyard.Task{}}},
		"nil current events": {Status: engine.RunStatus{CurrentTask: &engine.CurrentTask{Name: "x"}}, Evaluation: &engine.EvalScore{Score: 1e-9}},
	} {
		// The first write replaces invalid UTF-8 with escaped U+FFFD,
		// which reads back as U+FFFD and is written as it is from then
		// on: the fixpoint is the document as read back once.
		first, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		stored, err := reencode(first)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		again, err := reencode(stored)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(again, stored) {
			t.Errorf("%s:\n stored %s\n again  %s", name, stored, again)
		}
	}
}

func reencode(doc []byte) ([]byte, error) {
	var r engine.Run
	if err := json.Unmarshal(doc, &r); err != nil {
		return nil, err
	}
	return json.Marshal(&r)
}

// A run that cannot be stored is an error, not a document that reads back
// as something else.
func TestRunDocumentRefusesUnencodable(t *testing.T) {
	for name, r := range map[string]*engine.Run{
		"NaN":          {Evaluation: &engine.EvalScore{Score: math.NaN()}},
		"Inf in a map": {InputProperties: map[string]any{"x": math.Inf(1)}},
		"year 10000":   {TriggeredAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"unencodable":  {InputProperties: map[string]any{"c": make(chan int)}},
	} {
		if _, err := json.Marshal(r); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
}

func BenchmarkRunEncode(b *testing.B) {
	r := sampleRun()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(r); err != nil {
			b.Fatal(err)
		}
	}
}
