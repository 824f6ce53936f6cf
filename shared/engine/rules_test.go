package engine

import (
	"reflect"
	"testing"
	"time"
)

func TestMerge(t *testing.T) {
	tests := map[string]struct {
		older, newer, want map[string]any
	}{
		"maps merge recursively": {
			older: map[string]any{"a": map[string]any{"x": "1", "y": "2"}},
			newer: map[string]any{"a": map[string]any{"y": "3"}},
			want:  map[string]any{"a": map[string]any{"x": "1", "y": "3"}},
		},
		"arrays prepend newer": {
			older: map[string]any{"u": []any{"a"}},
			newer: map[string]any{"u": []any{"b", "c"}},
			want:  map[string]any{"u": []any{"b", "c", "a"}},
		},
		"numbers and booleans overwrite (decision 4)": {
			older: map[string]any{"n": 1.0, "b": true},
			newer: map[string]any{"n": 2.0, "b": false},
			want:  map[string]any{"n": 2.0, "b": false},
		},
		"null blanks a string": {
			older: map[string]any{"s": "x", "m": map[string]any{"k": "v"}},
			newer: map[string]any{"s": nil, "m": nil},
			want:  map[string]any{"s": "", "m": map[string]any{"k": "v"}},
		},
		"type mismatch: newer wins": {
			older: map[string]any{"v": "str"},
			newer: map[string]any{"v": map[string]any{"k": 1.0}},
			want:  map[string]any{"v": map[string]any{"k": 1.0}},
		},
		"shipyard property overrides empty input": {
			older: map[string]any{"deploymentstrategy": ""},
			newer: map[string]any{"deploymentstrategy": "direct"},
			want:  map[string]any{"deploymentstrategy": "direct"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Merge(tc.older, tc.newer); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Merge = %v, want %v", got, tc.want)
			}
		})
	}
	older := map[string]any{"a": []any{"x"}}
	_ = Merge(older, map[string]any{"a": []any{"y"}})
	if len(older["a"].([]any)) != 1 {
		t.Fatal("Merge modified its input")
	}
}

func TestTaskOutcome(t *testing.T) {
	fin := func(result, status string) TaskEvent {
		return TaskEvent{EventType: "sh.keptn.event.t.finished", Result: result, Status: status}
	}
	st := TaskEvent{EventType: "sh.keptn.event.t.started", Status: "succeeded"}
	tests := map[string]struct {
		events               []TaskEvent
		wantResult, wantStat string
	}{
		"pass":                {[]TaskEvent{st, fin("pass", "succeeded")}, "pass", "succeeded"},
		"warning":             {[]TaskEvent{fin("warning", "succeeded")}, "warning", "succeeded"},
		"any fail":            {[]TaskEvent{fin("pass", "succeeded"), fin("fail", "succeeded")}, "fail", "succeeded"},
		"empty result fails":  {[]TaskEvent{fin("", "succeeded")}, "fail", "succeeded"},
		"unknown result":      {[]TaskEvent{fin("random", "succeeded")}, "fail", "succeeded"},
		"errored wins":        {[]TaskEvent{fin("pass", "aborted"), fin("pass", "errored")}, "pass", "errored"},
		"aborted":             {[]TaskEvent{fin("pass", "aborted")}, "pass", "aborted"},
		"unknown status":      {[]TaskEvent{fin("pass", "random")}, "fail", "unknown"},
		"empty status":        {[]TaskEvent{fin("pass", "")}, "fail", "unknown"},
		"warning beats pass":  {[]TaskEvent{fin("pass", "succeeded"), fin("warning", "succeeded")}, "warning", "succeeded"},
		"started not counted": {[]TaskEvent{{EventType: "sh.keptn.event.t.started", Status: "errored"}, fin("pass", "succeeded")}, "pass", "succeeded"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r, s := taskOutcome(tc.events)
			if r != tc.wantResult || s != tc.wantStat {
				t.Fatalf("got %s/%s, want %s/%s", r, s, tc.wantResult, tc.wantStat)
			}
		})
	}
}

func TestCompletes(t *testing.T) {
	s := TaskEvent{EventType: "sh.keptn.event.t.started"}
	f := TaskEvent{EventType: "sh.keptn.event.t.finished"}
	tests := map[string]struct {
		events []TaskEvent
		want   bool
	}{
		"nothing":                      {nil, false},
		"started only":                 {[]TaskEvent{s}, false},
		"started finished":             {[]TaskEvent{s, f}, true},
		"finished alone (decision 1)":  {[]TaskEvent{f}, true},
		"two started one finished":     {[]TaskEvent{s, s, f}, false},
		"two started two finished":     {[]TaskEvent{s, f, s, f}, true},
		"finished overtakes a started": {[]TaskEvent{f, s}, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := completes(tc.events); got != tc.want {
				t.Fatalf("completes = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWorstResult(t *testing.T) {
	r, s := Worst([]TaskResult{{Result: "warning", Status: "succeeded"}, {Result: "pass", Status: "succeeded"}})
	if r != "warning" || s != "succeeded" {
		t.Fatalf("worst = %s/%s, want warning/succeeded (decision 6)", r, s)
	}
	if r, s := Worst(nil); r != "pass" || s != "succeeded" {
		t.Fatalf("Worst(nil) = %s/%s", r, s)
	}
}

func TestLaneFIFO(t *testing.T) {
	t0 := time.Unix(100, 0)
	var l Lane
	if !l.admit(Waiter{RunID: "a", TriggeredAt: t0}) {
		t.Fatal("free lane not granted")
	}
	if l.admit(Waiter{RunID: "c", TriggeredAt: t0.Add(2)}) || l.admit(Waiter{RunID: "b", TriggeredAt: t0.Add(1)}) {
		t.Fatal("busy lane granted")
	}
	l.admit(Waiter{RunID: "b", TriggeredAt: t0.Add(1)}) // idempotent
	if len(l.Waiting) != 2 {
		t.Fatalf("waiting = %v", l.Waiting)
	}
	if next := l.leave("c"); next != "" || len(l.Waiting) != 1 {
		t.Fatal("a waiter leaving must not promote anyone")
	}
	l.admit(Waiter{RunID: "c", TriggeredAt: t0.Add(2)})
	for _, want := range []string{"b", "c", ""} {
		if next := l.leave(l.Holder); next != want {
			t.Fatalf("next = %q, want %q", next, want)
		}
	}
	if !l.Empty() {
		t.Fatal("lane not empty")
	}
}
