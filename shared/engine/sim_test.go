package engine_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/shipyard"
)

// world is an in-memory engine.World.
type world struct {
	runs  map[string]*engine.Run
	order []string
	lanes map[engine.LaneKey]*engine.Lane
}

func (w *world) Run(id string) (*engine.Run, error) {
	r, ok := w.runs[id]
	if !ok {
		return nil, engine.ErrNotFound
	}
	return r, nil
}

func (w *world) Lane(k engine.LaneKey) (*engine.Lane, error) {
	l, ok := w.lanes[k]
	if !ok {
		l = &engine.Lane{}
		w.lanes[k] = l
	}
	return l, nil
}

// sim drives the engine like the control plane and broker would: it applies
// events, collects outboxes, and feeds chained sequence triggers back.
type sim struct {
	t         *testing.T
	eng       *engine.Engine
	w         *world
	sy        *shipyard.Shipyard
	syErr     error
	now       time.Time
	published []event.Event
	controls  map[string]*engine.ContextControl
	noChain   bool
}

const project = "sockshop"

func newSim(t *testing.T, shipyardYAML string) *sim {
	t.Helper()
	sy, err := shipyard.Parse([]byte(shipyardYAML))
	if err != nil {
		t.Fatalf("shipyard: %v", err)
	}
	return &sim{t: t, eng: engine.New(engine.Config{StartedTimeout: 10 * time.Minute}), sy: sy,
		w:   &world{runs: map[string]*engine.Run{}, lanes: map[engine.LaneKey]*engine.Lane{}},
		now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), controls: map[string]*engine.ContextControl{}}
}

func (s *sim) control(kctx string) *engine.ContextControl {
	c, ok := s.controls[kctx]
	if !ok {
		c = &engine.ContextControl{}
		s.controls[kctx] = c
	}
	return c
}

func (s *sim) mkEvent(typ, kctx, triggeredID string, data any) event.Event {
	s.t.Helper()
	ev, err := keptn.NewEvent(typ, keptn.Meta{ID: uuid.NewString(), Source: "test", Time: s.now, Context: kctx, TriggeredID: triggeredID}, data)
	if err != nil {
		s.t.Fatal(err)
	}
	return ev
}

// trigger sends <stage>.<seq>.triggered in a new context and returns it.
func (s *sim) trigger(stage, seq, service string, extra map[string]any) string {
	kctx := uuid.NewString()
	s.triggerIn(kctx, stage, seq, service, extra)
	return kctx
}

func (s *sim) triggerIn(kctx, stage, seq, service string, extra map[string]any) {
	s.t.Helper()
	data := map[string]any{"project": project, "stage": stage, "service": service}
	for k, v := range extra {
		data[k] = v
	}
	s.apply(s.mkEvent(keptn.SequenceType(stage, seq, keptn.KindTriggered), kctx, "", data))
}

func (s *sim) apply(ev event.Event) {
	s.t.Helper()
	if _, ok := s.w.runs[engine.RunID(project, ev.ID())]; ok {
		return // duplicate trigger
	}
	stage := ""
	if t, err := keptn.ParseType(ev.Type()); err == nil {
		stage = t.Stage
	}
	r, err := s.eng.Trigger(s.w, engine.TriggerInput{Event: ev, Shipyard: s.sy, ShipyardErr: s.syErr,
		Paused: s.control(keptn.Context(ev)).IsPaused(stage), PausedStage: s.control(keptn.Context(ev)).IsStagePaused(stage)}, s.now)
	if err != nil {
		s.t.Fatalf("trigger %s: %v", ev.Type(), err)
	}
	s.w.runs[r.ID] = r
	s.w.order = append(s.w.order, r.ID)
	s.drain()
}

// drain moves every outbox entry to published and feeds chained triggers back.
func (s *sim) drain() {
	s.t.Helper()
	var chained []event.Event
	for _, id := range s.w.order {
		r := s.w.runs[id]
		for _, o := range r.Outbox {
			var ev event.Event
			if err := json.Unmarshal(o.Event, &ev); err != nil {
				s.t.Fatal(err)
			}
			s.published = append(s.published, ev)
			if t, _ := keptn.ParseType(ev.Type()); t.IsSequence() && t.Kind == keptn.KindTriggered {
				chained = append(chained, ev)
			}
		}
		r.Outbox = nil
	}
	if s.noChain {
		return
	}
	for _, ev := range chained {
		s.apply(ev)
	}
}

// last returns the newest published event of a type in a context.
func (s *sim) last(typ, kctx string) (event.Event, bool) {
	for i := len(s.published) - 1; i >= 0; i-- {
		if e := s.published[i]; e.Type() == typ && (kctx == "" || keptn.Context(e) == kctx) {
			return e, true
		}
	}
	return event.Event{}, false
}

func (s *sim) count(typ, kctx string) int {
	n := 0
	for _, e := range s.published {
		if e.Type() == typ && (kctx == "" || keptn.Context(e) == kctx) {
			n++
		}
	}
	return n
}

func (s *sim) mustLast(typ, kctx string) event.Event {
	s.t.Helper()
	e, ok := s.last(typ, kctx)
	if !ok {
		s.t.Fatalf("no %s published in context %s; published: %v", typ, kctx, s.types())
	}
	return e
}

func (s *sim) types() []string {
	var out []string
	for _, e := range s.published {
		out = append(out, e.Type())
	}
	return out
}

// respond answers a task .triggered like an executor and returns the event.
func (s *sim) respond(triggered event.Event, kind keptn.Kind, source string, d keptn.Data, payload any) event.Event {
	s.t.Helper()
	ev, err := keptn.Respond(triggered, kind, keptn.Meta{ID: uuid.NewString(), Source: source, Time: s.now}, d, payload)
	if err != nil {
		s.t.Fatal(err)
	}
	s.deliver(ev)
	return ev
}

// deliver applies a task event the way the control plane routes it.
func (s *sim) deliver(ev event.Event) error {
	s.t.Helper()
	for _, id := range s.w.order {
		r := s.w.runs[id]
		if ct := r.OpenTask(); ct != nil && ct.TriggeredID == keptn.TriggeredID(ev) {
			err := s.eng.TaskEvent(s.w, r, ev, s.now)
			s.drain()
			return err
		}
	}
	return engine.ErrStale
}

// run completes a task with one executor: started then finished.
func (s *sim) run(triggered event.Event, result keptn.Result, payload any) {
	s.t.Helper()
	s.respond(triggered, keptn.KindStarted, "exec", keptn.Data{Status: keptn.StatusSucceeded}, nil)
	s.respond(triggered, keptn.KindFinished, "exec", keptn.Data{Status: keptn.StatusSucceeded, Result: result}, payload)
}

// advance moves the clock and ticks due runs, like the sweeper.
func (s *sim) advance(d time.Duration) {
	s.t.Helper()
	s.now = s.now.Add(d)
	for _, id := range s.w.order {
		r := s.w.runs[id]
		if due := s.eng.Due(r); !due.IsZero() && !s.now.Before(due) {
			if err := s.eng.Tick(s.w, r, s.now); err != nil {
				s.t.Fatal(err)
			}
		}
	}
	s.drain()
}

func (s *sim) ctl(kctx string, a engine.Action, stage string) {
	s.t.Helper()
	s.control(kctx).Apply(a, stage)
	for _, id := range s.w.order {
		r := s.w.runs[id]
		if r.Scope.KeptnContext != kctx || (stage != "" && r.Scope.Stage != stage) {
			continue
		}
		if err := s.eng.ControlScoped(s.w, r, a, stage != "", s.now); err != nil {
			s.t.Fatal(err)
		}
	}
	s.drain()
}

func (s *sim) runs(kctx string) []*engine.Run {
	var out []*engine.Run
	for _, id := range s.w.order {
		if r := s.w.runs[id]; r.Scope.KeptnContext == kctx {
			out = append(out, r)
		}
	}
	return out
}

func (s *sim) view(kctx string) engine.SequenceState { return engine.ContextView(s.runs(kctx)) }

func (s *sim) wantState(kctx, want string) {
	s.t.Helper()
	if got := s.view(kctx).State; got != want {
		s.t.Fatalf("context state = %q, want %q (published %v)", got, want, s.types())
	}
}

// open lists the visible open .triggered events of a task type.
func (s *sim) open(task string) []string {
	var ids []string
	for _, id := range s.w.order {
		if ct := s.w.runs[id].OpenTask(); ct != nil && ct.Name == task {
			ids = append(ids, ct.TriggeredID)
		}
	}
	return ids
}

func dataOf(t *testing.T, e event.Event) map[string]any {
	t.Helper()
	_, m, err := keptn.DecodeData(e)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func path(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func tt(task string) string          { return keptn.TaskType(task, keptn.KindTriggered) }
func sf(stage, seq string) string    { return keptn.SequenceType(stage, seq, keptn.KindFinished) }
func strig(stage, seq string) string { return keptn.SequenceType(stage, seq, keptn.KindTriggered) }

var _ = fmt.Sprint

type eventAlias = event.Event

// openEventOf rebuilds the open .triggered of a run as the API would.
func (s *sim) openEventOf(r *engine.Run) event.Event {
	s.t.Helper()
	ev, err := s.eng.OpenEvent(r)
	if err != nil || ev == nil {
		s.t.Fatalf("run %s has no open event: %v", r.ID, err)
	}
	return *ev
}
