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

func TestRunAppendJSONMatchesEncodingJSON(t *testing.T) {
	for name, r := range map[string]*engine.Run{
		"full":               sampleRun(),
		"zero":               {},
		"minimal":            {ID: "r", Status: engine.RunStatus{State: engine.StateTriggered, PreviousTasks: []engine.TaskResult{}}, Sequence: engine.Sequence{Tasks: []shipyard.Task{}}},
		"nil current events": {Status: engine.RunStatus{CurrentTask: &engine.CurrentTask{Name: "x"}}, Evaluation: &engine.EvalScore{Score: 1e-9}},
	} {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.AppendJSON([]byte("prefix"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got[len("prefix"):], want) || string(got[:len("prefix")]) != "prefix" {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

func TestRunAppendJSONErrorsWhereEncodingJSONDoes(t *testing.T) {
	for name, r := range map[string]*engine.Run{
		"NaN":          {Evaluation: &engine.EvalScore{Score: math.NaN()}},
		"Inf in a map": {InputProperties: map[string]any{"x": math.Inf(1)}},
		"year 10000":   {TriggeredAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"unencodable":  {InputProperties: map[string]any{"c": make(chan int)}},
	} {
		if _, err := json.Marshal(r); err == nil {
			t.Fatalf("%s: encoding/json took it", name)
		}
		if _, err := r.AppendJSON(nil); err == nil {
			t.Errorf("%s: AppendJSON took it", name)
		}
	}
}

func TestLaneAppendJSONMatchesEncodingJSON(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 1, 2, 3, 4, time.UTC)
	for _, l := range []*engine.Lane{{}, {Holder: "h"}, {Waiting: []engine.Waiter{{RunID: "a", TriggeredAt: t0}}},
		{Holder: "h<", Waiting: []engine.Waiter{{RunID: "a", TriggeredAt: t0}, {RunID: "b"}}}} {
		want, _ := json.Marshal(l)
		got, err := l.AppendJSON(nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("got %s, %v\nwant %s", got, err, want)
		}
	}
}

// FuzzRunJSON decodes arbitrary JSON into a run and holds AppendJSON equal
// to json.Marshal on it.
func FuzzRunJSON(f *testing.F) {
	seed, _ := json.Marshal(sampleRun())
	f.Add(seed)
	f.Add([]byte(`{"inputProperties":{"a":[1e-7,1e21,-0,"\u2028<>&\ufffd"]},"evaluation":{"score":123456789012345678901234}}`))
	f.Add([]byte(`{"status":{"currentTask":{"events":[{"time":"2026-01-01T00:00:00.5+01:30"}]}},"outbox":[{"event":"AAEC"}]}`))
	f.Add([]byte(`{"sequence":{"tasks":[{"properties":{"x":{"y":null}}}]},"scope":{"labels":{"":""}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r engine.Run
		if json.Unmarshal(data, &r) != nil {
			return
		}
		want, werr := json.Marshal(&r)
		got, gerr := r.AppendJSON(nil)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("errors differ: encoding/json %v, AppendJSON %v", werr, gerr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
		var l engine.Lane
		if json.Unmarshal(data, &l) != nil {
			return
		}
		want, werr = json.Marshal(&l)
		got, gerr = l.AppendJSON(nil)
		if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("lane:\n got %s %v\nwant %s %v", got, gerr, want, werr)
		}
	})
}

func BenchmarkRunEncode(b *testing.B) {
	r := sampleRun()
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(r)
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = r.AppendJSON(nil)
		}
	})
}
