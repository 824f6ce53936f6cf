package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/slipwayhq/slipway/shared/keptn"
)

// eventView is one event as the page shows it.
type eventView struct {
	ID, Type, Source string
	Time             time.Time
	JSON             string // indented
}

func newEventView(e cloudEvent) eventView {
	var buf bytes.Buffer
	if json.Indent(&buf, e.Raw, "", "  ") != nil {
		buf.Reset()
		buf.Write(e.Raw)
	}
	return eventView{ID: e.ID, Type: e.Type, Source: e.Source, Time: e.Time, JSON: buf.String()}
}

// taskLine is one task execution in a stage (one .triggered and its answers).
type taskLine struct {
	Name, TriggeredID            string
	Triggered, Started, Finished time.Time
	Sources                      []string
	Result, Status, Message      string
	Aborted                      bool
	Events                       []eventView
	Open                         bool // the run's current task, not yet finished
}

func (t *taskLine) Running() bool { return t.Finished.IsZero() && !t.Aborted }

// Duration is triggered → finished, or → now while running.
func (t *taskLine) Duration(now time.Time) time.Duration {
	end := t.Finished
	if end.IsZero() {
		end = now
	}
	return end.Sub(t.Triggered)
}

// stageLine is one stage of a context: its run, tasks and events.
type stageLine struct {
	Name, Sequence                 string
	Triggered, FirstTask, Finished time.Time
	Result, Status                 string
	Tasks                          []*taskLine
	Events                         []eventView // the stage's own sequence events
	View                           *stageState // the API's stage state
	Run                            *execution
	Queue                          *queueInfo
	Approval                       *eventView // the open approval, if any
}

// QueueWait is trigger → first task (the time the run waited for its lane).
func (s *stageLine) QueueWait() time.Duration {
	if s.Triggered.IsZero() || s.FirstTask.IsZero() {
		return 0
	}
	return s.FirstTask.Sub(s.Triggered)
}

// noticeableWait is the queue wait worth a sentence (a free lane takes a
// few milliseconds).
const noticeableWait = 500 * time.Millisecond

// WaitNote is the queue wait when it is worth mentioning, else 0.
func (s *stageLine) WaitNote() time.Duration {
	if w := s.QueueWait(); w >= noticeableWait {
		return w
	}
	return 0
}

// queueInfo says where a waiting run stands in its lane.
type queueInfo struct {
	Position, Length int
	Blocker          *execution
}

// timeline is a context's stages in trigger order.
type timeline struct {
	Stages     []*stageLine
	Start, End time.Time
}

// buildTimeline groups a context's history by stage and task. order lists
// stage names as the API's view orders them; stages seen only in events follow.
func buildTimeline(events []cloudEvent, order []string, now time.Time) *timeline {
	tl := &timeline{}
	byName := map[string]*stageLine{}
	stage := func(name string) *stageLine {
		if s, ok := byName[name]; ok {
			return s
		}
		s := &stageLine{Name: name}
		byName[name] = s
		tl.Stages = append(tl.Stages, s)
		return s
	}
	for _, n := range order {
		stage(n)
	}
	tasks := map[string]*taskLine{}
	running := false
	for _, e := range events {
		t, err := keptn.ParseType(e.Type)
		if err != nil {
			continue
		}
		if tl.Start.IsZero() || e.Time.Before(tl.Start) {
			tl.Start = e.Time
		}
		if e.Time.After(tl.End) {
			tl.End = e.Time
		}
		ev := newEventView(e)
		if !t.IsTask() {
			if t.Stage == "" {
				continue
			}
			st := stage(t.Stage)
			st.Events = append(st.Events, ev)
			switch t.Kind {
			case keptn.KindTriggered:
				if st.Triggered.IsZero() {
					st.Triggered, st.Sequence = e.Time, t.Sequence
				}
			case keptn.KindFinished:
				st.Finished, st.Result, st.Status = e.Time, e.Data.Result, e.Data.Status
			}
			continue
		}
		if t.Kind == keptn.KindTriggered {
			if e.Data.Stage == "" {
				continue
			}
			st := stage(e.Data.Stage)
			tk := &taskLine{Name: t.Task, TriggeredID: e.ID, Triggered: e.Time, Events: []eventView{ev}}
			tasks[e.ID] = tk
			st.Tasks = append(st.Tasks, tk)
			if st.FirstTask.IsZero() {
				st.FirstTask = e.Time
			}
			continue
		}
		tk := tasks[e.Triggeredid]
		if tk == nil {
			continue
		}
		tk.Events = append(tk.Events, ev)
		switch t.Kind {
		case keptn.KindStarted:
			if tk.Started.IsZero() {
				tk.Started = e.Time
			}
			tk.addSource(e.Source)
		case keptn.KindFinished:
			if tk.Finished.IsZero() {
				tk.Finished, tk.Result, tk.Status, tk.Message = e.Time, e.Data.Result, e.Data.Status, e.Data.Message
			}
			tk.addSource(e.Source)
		case keptn.KindAborted:
			tk.Aborted = true
			if tk.Finished.IsZero() {
				tk.Finished, tk.Status = e.Time, "aborted"
			}
		}
	}
	for _, st := range tl.Stages {
		for _, tk := range st.Tasks {
			running = running || tk.Running()
		}
		running = running || (!st.Triggered.IsZero() && st.Finished.IsZero())
	}
	if running && now.After(tl.End) {
		tl.End = now
	}
	return tl
}

func (t *taskLine) addSource(src string) {
	for _, s := range t.Sources {
		if s == src {
			return
		}
	}
	t.Sources = append(t.Sources, src)
}

// Gantt geometry: a 1000-unit wide picture, labels in the first 220.

const (
	ganttWidth  = 1000
	ganttLabel  = 220
	ganttRowH   = 22
	ganttTop    = 24
	chartWidth  = 1000
	chartHeight = 160
)

type bar struct {
	X, W         float64
	Class, Title string
}

type ganttRow struct {
	Y     int
	Label string
	Href  string
	Stage bool
	Bars  []bar
}

type tick struct {
	X      float64
	Label  string
	Anchor string // SVG text-anchor: the last label ends at its line
}

type gantt struct {
	Height int
	Rows   []ganttRow
	Ticks  []tick
	NowX   float64
	HasNow bool
}

// ganttOf lays the timeline out: per stage a row (queue wait, then the
// stage's run) and per task a row (triggered → started pending, started →
// finished coloured by result, running to now).
func ganttOf(tl *timeline, now time.Time, href func(stage string) string) gantt {
	g := gantt{}
	span := tl.End.Sub(tl.Start)
	if span <= 0 {
		span = time.Second
	}
	x := func(t time.Time) float64 {
		if t.IsZero() {
			return ganttLabel
		}
		return ganttLabel + float64(t.Sub(tl.Start))/float64(span)*float64(ganttWidth-ganttLabel-8)
	}
	mk := func(a, b time.Time, class, title string) bar {
		xa, xb := x(a), x(b)
		w := xb - xa
		if w < 2 {
			w = 2 // an instant stays visible
		}
		return bar{X: xa, W: w, Class: class, Title: title}
	}
	y := ganttTop
	for _, st := range tl.Stages {
		row := ganttRow{Y: y, Label: st.Name, Href: href(st.Name), Stage: true}
		if !st.Triggered.IsZero() {
			end := st.Finished
			if end.IsZero() {
				end = tl.End
			}
			if st.FirstTask.IsZero() && st.Finished.IsZero() {
				row.Bars = append(row.Bars, mk(st.Triggered, end, "wait",
					fmt.Sprintf("%s: waiting for its lane for %s", st.Name, fmtDur(end.Sub(st.Triggered)))))
			} else if w := st.QueueWait(); w > 0 {
				row.Bars = append(row.Bars, mk(st.Triggered, st.FirstTask, "wait",
					fmt.Sprintf("%s: waited %s for its lane", st.Name, fmtDur(w))))
				row.Bars = append(row.Bars, mk(st.FirstTask, end, "stage "+resultClass(st.Result, st.Status, st.Finished.IsZero()),
					fmt.Sprintf("%s %s: %s", st.Name, st.Sequence, fmtDur(end.Sub(st.FirstTask)))))
			} else {
				row.Bars = append(row.Bars, mk(st.Triggered, end, "stage "+resultClass(st.Result, st.Status, st.Finished.IsZero()),
					fmt.Sprintf("%s %s: %s", st.Name, st.Sequence, fmtDur(end.Sub(st.Triggered)))))
			}
		}
		g.Rows = append(g.Rows, row)
		y += ganttRowH
		for _, tk := range st.Tasks {
			r := ganttRow{Y: y, Label: tk.Name}
			end := tk.Finished
			if end.IsZero() {
				end = tl.End
			}
			cls := resultClass(tk.Result, tk.Status, tk.Running())
			if !tk.Started.IsZero() && tk.Started.After(tk.Triggered) {
				r.Bars = append(r.Bars, mk(tk.Triggered, tk.Started, "pending",
					fmt.Sprintf("%s: %s until started", tk.Name, fmtDur(tk.Started.Sub(tk.Triggered)))))
				r.Bars = append(r.Bars, mk(tk.Started, end, cls,
					fmt.Sprintf("%s: %s %s", tk.Name, fmtDur(end.Sub(tk.Started)), label(tk))))
			} else {
				r.Bars = append(r.Bars, mk(tk.Triggered, end, cls,
					fmt.Sprintf("%s: %s %s", tk.Name, fmtDur(end.Sub(tk.Triggered)), label(tk))))
			}
			g.Rows = append(g.Rows, r)
			y += ganttRowH
		}
	}
	g.Height = y + 4
	for i := 0; i <= 4; i++ {
		at := tl.Start.Add(span / 4 * time.Duration(i))
		anchor := "start"
		if i == 4 {
			anchor = "end"
		}
		g.Ticks = append(g.Ticks, tick{X: x(at), Label: "+" + fmtDur(at.Sub(tl.Start)), Anchor: anchor})
	}
	if !now.Before(tl.Start) && !now.After(tl.End) {
		g.NowX, g.HasNow = x(now), true
	}
	return g
}

func label(tk *taskLine) string {
	switch {
	case tk.Aborted:
		return "aborted"
	case tk.Running():
		return "running"
	}
	return tk.Result + " / " + tk.Status
}

// resultClass names the colour of a result.
func resultClass(result, status string, running bool) string {
	switch {
	case running:
		return "running"
	case status == "aborted":
		return "aborted"
	case result == "fail" || status == "errored":
		return "fail"
	case result == "warning":
		return "warning"
	case result == "pass":
		return "pass"
	}
	return "unknown"
}

// runBar is one run in the per-service chart.
type runBar struct {
	X, Y, W, H   float64
	Class, Title string
	Href         string
	Label        string // under the bar: the stage
}

type durationChart struct {
	Bars  []runBar
	Max   string
	Empty bool
}

// runPoint is one run's duration and result.
type runPoint struct {
	Label    string
	Stage    string
	Href     string
	Duration time.Duration
	Class    string
}

// chartOf draws runs (oldest first) as bars whose height is the duration.
func chartOf(points []runPoint) durationChart {
	c := durationChart{Empty: len(points) == 0}
	if c.Empty {
		return c
	}
	var maxD time.Duration
	for _, p := range points {
		maxD = max(maxD, p.Duration)
	}
	if maxD <= 0 {
		maxD = time.Second
	}
	c.Max = fmtDur(maxD)
	slot := float64(chartWidth-60) / float64(len(points))
	plot := float64(chartHeight - 30)
	for i, p := range points {
		h := float64(p.Duration) / float64(maxD) * plot
		if h < 2 {
			h = 2
		}
		c.Bars = append(c.Bars, runBar{X: 50 + float64(i)*slot + slot*0.15, W: slot * 0.7, Y: 10 + plot - h, H: h,
			Class: p.Class, Title: p.Label + ": " + fmtDur(p.Duration), Href: p.Href, Label: p.Stage})
	}
	return c
}

// fmtDur prints a duration the way people read them (850ms, 12.3s, 4m05s, 2h10m).
func fmtDur(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// sortRunsOldestFirst orders executions by trigger time.
func sortRunsOldestFirst(runs []execution) {
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].TriggeredAt.Before(runs[j].TriggeredAt) })
}
