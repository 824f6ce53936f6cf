package bridge

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func ev(typ, id, triggeredid, stage string, at time.Duration, data map[string]any) cloudEvent {
	d := map[string]any{"project": "p", "stage": stage, "service": "s"}
	for k, v := range data {
		d[k] = v
	}
	e := map[string]any{"specversion": "1.0", "id": id, "type": "sh.keptn.event." + typ, "source": "src-" + id,
		"time": t0.Add(at), "shkeptncontext": "c", "data": d}
	if triggeredid != "" {
		e["triggeredid"] = triggeredid
	}
	raw, _ := json.Marshal(e)
	var out cloudEvent
	_ = json.Unmarshal(raw, &out)
	out.Raw = raw
	return out
}

func TestBuildTimeline(t *testing.T) {
	fin := map[string]any{"result": "pass", "status": "succeeded"}
	tests := map[string]struct {
		events []cloudEvent
		now    time.Duration
		check  func(t *testing.T, tl *timeline)
	}{
		"queue wait, then tasks": {
			events: []cloudEvent{
				ev("dev.delivery.triggered", "s1", "", "dev", 0, nil),
				ev("deploy.triggered", "t1", "", "dev", 5*time.Second, nil),
				ev("deploy.started", "t1s", "t1", "dev", 6*time.Second, nil),
				ev("deploy.finished", "t1f", "t1", "dev", 9*time.Second, fin),
				ev("dev.delivery.finished", "s1f", "s1", "dev", 9*time.Second, fin),
			},
			now: time.Minute,
			check: func(t *testing.T, tl *timeline) {
				st := tl.Stages[0]
				if st.QueueWait() != 5*time.Second || st.WaitNote() != 5*time.Second || len(st.Tasks) != 1 || st.Result != "pass" {
					t.Fatalf("stage = %+v", st)
				}
				tk := st.Tasks[0]
				if tk.Running() || tk.Duration(t0) != 4*time.Second || tk.Sources[0] != "src-t1s" {
					t.Fatalf("task = %+v", tk)
				}
				if !tl.End.Equal(t0.Add(9 * time.Second)) {
					t.Fatalf("a finished timeline ends at its last event, not now: %v", tl.End)
				}
			},
		},
		"running task runs to now": {
			events: []cloudEvent{
				ev("dev.delivery.triggered", "s1", "", "dev", 0, nil),
				ev("deploy.triggered", "t1", "", "dev", 0, nil),
			},
			now: 10 * time.Second,
			check: func(t *testing.T, tl *timeline) {
				if !tl.Stages[0].Tasks[0].Running() || !tl.End.Equal(t0.Add(10*time.Second)) {
					t.Fatalf("timeline = %+v", tl)
				}
				if tl.Stages[0].WaitNote() != 0 {
					t.Fatal("no wait worth a note")
				}
			},
		},
		"aborted task": {
			events: []cloudEvent{
				ev("deploy.triggered", "t1", "", "dev", 0, nil),
				ev("deploy.aborted", "t1a", "t1", "dev", time.Second, nil),
			},
			check: func(t *testing.T, tl *timeline) {
				tk := tl.Stages[0].Tasks[0]
				if !tk.Aborted || tk.Running() || resultClass(tk.Result, tk.Status, tk.Running()) != "aborted" {
					t.Fatalf("task = %+v", tk)
				}
			},
		},
		"stage order from the view, answers to unknown tasks ignored": {
			events: []cloudEvent{
				ev("prod.delivery.triggered", "s2", "", "prod", 0, nil),
				ev("deploy.finished", "x", "unknown", "prod", time.Second, fin),
				ev("not a keptn type", "y", "", "prod", time.Second, nil),
			},
			check: func(t *testing.T, tl *timeline) {
				if len(tl.Stages) != 2 || tl.Stages[0].Name != "dev" || tl.Stages[1].Name != "prod" || len(tl.Stages[1].Tasks) != 0 {
					t.Fatalf("stages = %+v", tl.Stages)
				}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tl := buildTimeline(tc.events, []string{"dev"}, t0.Add(tc.now))
			tc.check(t, tl)
			g := ganttOf(tl, t0.Add(tc.now), func(s string) string { return "/" + s })
			checkGantt(t, g)
		})
	}
}

func checkGantt(t *testing.T, g gantt) {
	t.Helper()
	for _, r := range g.Rows {
		for _, b := range r.Bars {
			if math.IsNaN(b.X) || math.IsInf(b.X, 0) || b.X < ganttLabel || b.W < 2 || b.X+b.W > ganttWidth+2 {
				t.Fatalf("bar out of the picture: %+v in %+v", b, r)
			}
		}
	}
}

func TestFmtDur(t *testing.T) {
	tests := map[string]struct {
		d    time.Duration
		want string
	}{
		"negative": {-time.Second, "0s"},
		"ms":       {850 * time.Millisecond, "850ms"},
		"seconds":  {12300 * time.Millisecond, "12.3s"},
		"minutes":  {4*time.Minute + 5*time.Second, "4m05s"},
		"hours":    {2*time.Hour + 10*time.Minute, "2h10m"},
	}
	for name, tc := range tests {
		if got := fmtDur(tc.d); got != tc.want {
			t.Errorf("%s: fmtDur(%v) = %q, want %q", name, tc.d, got, tc.want)
		}
	}
}

func TestChart(t *testing.T) {
	c := chartOf([]runPoint{{Duration: time.Second, Class: "pass"}, {Duration: 4 * time.Second, Class: "fail"}, {Duration: 0, Class: "running"}})
	if c.Empty || len(c.Bars) != 3 || c.Max != "4.0s" {
		t.Fatalf("chart = %+v", c)
	}
	if c.Bars[1].H <= c.Bars[0].H || c.Bars[2].H < 2 {
		t.Fatalf("heights do not follow durations: %+v", c.Bars)
	}
	if !chartOf(nil).Empty {
		t.Fatal("no runs is an empty chart")
	}
}

// FuzzTimeline feeds arbitrary history events (the API's JSON) to the
// timeline and the Gantt layout: nothing panics and every bar stays inside
// the picture.
func FuzzTimeline(f *testing.F) {
	f.Add(`[{"type":"sh.keptn.event.dev.delivery.triggered","id":"a","time":"2026-12-01T12:00:00Z","data":{"stage":"dev"}},
{"type":"sh.keptn.event.x.triggered","id":"b","time":"2026-12-01T12:00:01Z","data":{"stage":"dev"}},
{"type":"sh.keptn.event.x.finished","id":"c","triggeredid":"b","time":"2026-12-01T12:00:03Z","data":{"stage":"dev","result":"pass"}}]`)
	f.Add(`[{"type":"sh.keptn.event.x.finished","id":"c","triggeredid":"b","time":"1970-01-01T00:00:00Z"},{"type":"sh.keptn.event.x.triggered","id":"b","time":"9999-01-01T00:00:00Z","data":{"stage":"s"}}]`)
	f.Fuzz(func(t *testing.T, raw string) {
		var list []json.RawMessage
		if json.Unmarshal([]byte(raw), &list) != nil {
			return
		}
		var events []cloudEvent
		for _, r := range list {
			var e cloudEvent
			if json.Unmarshal(r, &e) != nil {
				continue
			}
			e.Raw = r
			events = append(events, e)
		}
		tl := buildTimeline(events, []string{"dev"}, t0)
		g := ganttOf(tl, t0, func(s string) string { return fmt.Sprint("/", s) })
		for _, r := range g.Rows {
			for _, b := range r.Bars {
				if math.IsNaN(b.X) || math.IsNaN(b.W) {
					t.Fatalf("NaN bar %+v", b)
				}
			}
		}
	})
}
