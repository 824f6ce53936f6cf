package watch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/cmd/slipway/internal/client"
)

// cannedAPI serves one context of three stage runs (five tasks each, the
// last run in its fourth task) and its 60 history events, as the API would.
func cannedAPI(tb testing.TB) *httptest.Server {
	tb.Helper()
	t0 := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	stages := []string{"dev", "hardening", "production"}
	tasks := []string{"deployment", "test", "evaluation", "approval", "release"}
	var execs, events []map[string]any
	for si, st := range stages {
		var prev []map[string]any
		var taskList []map[string]any
		for ti, tk := range tasks {
			taskList = append(taskList, map[string]any{"name": tk})
			id := fmt.Sprintf("%s-%s", st, tk)
			at := t0.Add(time.Duration(si*10+ti) * time.Second)
			events = append(events,
				map[string]any{"id": id, "type": "sh.keptn.event." + tk + ".triggered", "time": at, "data": map[string]any{"stage": st}},
				map[string]any{"id": id + "-s", "type": "sh.keptn.event." + tk + ".started", "triggeredid": id, "time": at.Add(time.Second), "data": map[string]any{"stage": st}},
				map[string]any{"id": id + "-f", "type": "sh.keptn.event." + tk + ".finished", "triggeredid": id, "time": at.Add(2 * time.Second), "data": map[string]any{"stage": st, "result": "pass"}},
				map[string]any{"id": id + "-x", "type": "sh.keptn.event." + tk + ".status.changed", "triggeredid": id, "time": at.Add(2 * time.Second), "data": map[string]any{"stage": st}})
			if si < 2 || ti < 3 {
				prev = append(prev, map[string]any{"name": tk, "triggeredID": id, "result": "pass"})
			}
		}
		x := map[string]any{"sequence": map[string]any{"name": "delivery", "tasks": taskList}, "scope": map[string]any{"stage": st},
			"triggeredAt": t0.Add(time.Duration(si*10) * time.Second), "status": map[string]any{"state": "finished", "previousTasks": prev}}
		if si == 2 {
			x["status"] = map[string]any{"state": "started", "previousTasks": prev,
				"currentTask": map[string]any{"name": "approval", "triggeredID": "production-approval", "sentAt": t0.Add(23 * time.Second)}}
		}
		execs = append([]map[string]any{x}, execs...)
	}
	for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
		events[i], events[j] = events[j], events[i]
	}
	answers := map[string]any{
		"/api/controlPlane/v1/sequence/demo": map[string]any{"states": []map[string]any{{"name": "delivery", "service": "carts", "project": "demo",
			"time": t0, "shkeptncontext": "c1", "state": "started"}}},
		"/api/controlPlane/v1/sequence-execution": map[string]any{"sequenceExecutions": execs},
		"/api/mongodb-datastore/event":            map[string]any{"events": events, "nextPageKey": "0"},
	}
	raw := map[string][]byte{}
	for k, v := range answers {
		b, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		raw[k] = b
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(raw[r.URL.Path])
	}))
	tb.Cleanup(srv.Close)
	return srv
}

func TestAPISourceCanned(t *testing.T) {
	srv := cannedAPI(t)
	src := &APISource{API: client.New(srv.URL+"/api", "tok"), Project: "demo", Context: "c1"}
	s, err := src.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !s.Found || len(s.Runs) != 3 || s.Runs[0].Stage != "dev" || s.Runs[2].Stage != "production" {
		t.Fatalf("snapshot = %+v", s)
	}
	prod := s.Runs[2]
	if done, total := prod.Progress(); done != 3 || total != 5 || prod.Tasks[3].Status != Running || prod.Tasks[4].Status != Pending {
		t.Fatalf("production run = %+v", prod)
	}
	if d := prod.Tasks[0].Ended.Sub(prod.Tasks[0].Started); d != 2*time.Second {
		t.Fatalf("task time from history = %v, want 2s", d)
	}
	if s.Over() {
		t.Fatal("a started context is over")
	}
}

// BenchmarkPoll is one refresh of the watch view: the three API reads of
// a three-stage context, decoding, and the frame.
func BenchmarkPoll(b *testing.B) {
	srv := cannedAPI(b)
	src := &APISource{API: client.New(srv.URL+"/api", "tok"), Project: "demo", Context: "c1"}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		s, err := src.Snapshot(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		_ = Frame(s, now)
	}
}
