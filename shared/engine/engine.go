// Package engine holds every sequence rule of the control plane and no I/O:
// given runs and lanes (through World), an incoming event or a tick and the
// time, it changes the runs and lanes and appends the events to publish to
// each run's outbox. Store drivers and functions load, call, persist and
// publish; they never decide sequence semantics.
package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/cejson"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/shipyard"
)

// Errors the control plane tells apart.
var (
	// ErrInvalidEvent: the event can never be applied (answer 400, do not retry).
	ErrInvalidEvent = errors.New("invalid event")
	// ErrDuplicate: the event was applied before; republish the outbox.
	ErrDuplicate = errors.New("event already applied")
	// ErrStale: the event belongs to no open task (late, unknown or for a
	// finished task); it is acknowledged and ignored.
	ErrStale = errors.New("event matches no open task")
	// ErrNotFound is what World returns for a missing run.
	ErrNotFound = errors.New("not found")
)

// World gives a transition the documents it touches. The control plane
// implements it on a store transaction, tests on maps. Lane returns an empty
// lane when none is stored. Changes are made in place on the returned values.
type World interface {
	Run(id string) (*Run, error)
	Lane(key LaneKey) (*Lane, error)
}

// Config holds the engine's tunables; the tags let functions read it from
// the environment with envconfig (every function must use the same values,
// since timer due times are derived from them).
type Config struct {
	// StartedTimeout ends a run whose task got no .started/.finished in time
	// (Keptn's TASK_STARTED_WAIT_DURATION).
	StartedTimeout time.Duration `envconfig:"TASK_STARTED_WAIT_DURATION" default:"10m"`
	// FinishedTimeout is the default time a task may take from its .triggered
	// to its .finished when the shipyard sets none; 0 disables it. It never
	// applies to approval tasks, which wait for people. The default (2h, above
	// the executors' own caps: generic-executor 1h, task-runner 5m) ends a run
	// whose executor died mid-script, which would otherwise wait forever.
	FinishedTimeout time.Duration `envconfig:"TASK_FINISHED_TIMEOUT" default:"2h"`
	// OutboxRetry is how long an unconfirmed outbox entry waits before the
	// sweeper publishes it again.
	OutboxRetry time.Duration `envconfig:"OUTBOX_RETRY" default:"30s"`
	// MaxApplied bounds the remembered incoming event ids per run.
	MaxApplied int `envconfig:"ENGINE_MAX_APPLIED" default:"512"`
	// MaxProperties caps the stored data of one .finished event (bytes); larger
	// payloads are replaced by a marker so run documents stay under 1 MiB.
	MaxProperties int `envconfig:"ENGINE_MAX_PROPERTIES" default:"131072"`
}

// Engine applies transitions.
type Engine struct{ cfg Config }

// New returns an engine with defaults filled in.
func New(cfg Config) *Engine {
	if cfg.StartedTimeout <= 0 {
		cfg.StartedTimeout = 10 * time.Minute
	}
	if cfg.OutboxRetry <= 0 {
		cfg.OutboxRetry = 30 * time.Second
	}
	if cfg.MaxApplied <= 0 {
		cfg.MaxApplied = 512
	}
	if cfg.MaxProperties <= 0 {
		cfg.MaxProperties = 128 << 10
	}
	return &Engine{cfg: cfg}
}

// step carries one transition's inputs and its first error.
type step struct {
	e   *Engine
	w   World
	now time.Time
	err error
}

func (e *Engine) step(w World, now time.Time) *step { return &step{e: e, w: w, now: now.UTC()} }

func (s *step) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// TriggerInput is a <stage>.<seq>.triggered event with what the control plane
// knows about its project.
type TriggerInput struct {
	Event event.Event
	// Shipyard is the project's shipyard, nil when it could not be loaded;
	// ShipyardErr then says why.
	Shipyard    *shipyard.Shipyard
	ShipyardErr error
	// Paused is true when the event's context (or its stage) is paused.
	Paused bool
	// PausedStage is true when only the event's stage is paused (not the
	// whole context): the view then marks the stage paused, as Keptn does.
	PausedStage bool
}

// Trigger creates the run for a sequence .triggered event. The returned run is
// new; the caller must have checked that no run with RunID exists (dedupe).
// Runs that cannot start (unknown stage or sequence, no tasks, no shipyard)
// are created finished with an errored .finished event, as Keptn does.
func (e *Engine) Trigger(w World, in TriggerInput, now time.Time) (*Run, error) {
	t, err := keptn.ParseType(in.Event.Type())
	if err != nil || !t.IsSequence() || t.Kind != keptn.KindTriggered {
		return nil, fmt.Errorf("%w: %s is not a <stage>.<sequence>.triggered event", ErrInvalidEvent, in.Event.Type())
	}
	d, data, err := keptn.DecodeData(in.Event)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	if d.Project == "" || d.Stage == "" || d.Service == "" {
		return nil, fmt.Errorf("%w: event %s lacks data.project, data.stage or data.service", ErrInvalidEvent, in.Event.ID())
	}
	s := e.step(w, now)
	at := in.Event.Time().UTC()
	if at.IsZero() || at.After(s.now) {
		at = s.now
	}
	r := &Run{
		ID:       RunID(d.Project, in.Event.ID()),
		Sequence: Sequence{Name: t.Sequence},
		Status:   RunStatus{State: StateTriggered, PreviousTasks: []TaskResult{}},
		Scope: Scope{
			Project: d.Project, Stage: d.Stage, Service: d.Service, Labels: d.Labels,
			KeptnContext: keptn.Context(in.Event), TriggeredID: in.Event.ID(),
			GitCommitID: keptn.GitCommitID(in.Event), EventType: in.Event.Type(),
		},
		InputProperties: data,
		TriggeredAt:     at,
		Latest:          &EventRef{Type: in.Event.Type(), ID: in.Event.ID(), Time: s.now},
	}
	if reason := resolve(r, in, t); reason != "" {
		s.finishWith(r, string(keptn.ResultFail), string(keptn.StatusErrored), reason, false)
		return r, s.err
	}
	if in.Paused {
		r.Status.State, r.Status.StateBeforePause, r.PausedAt = StatePaused, StateTriggered, s.now
		if in.PausedStage {
			r.ControlView = ViewPaused
		} else {
			r.ContextPaused = true
		}
		return r, s.err
	}
	s.acquire(r)
	return r, s.err
}

// resolve fills the run's sequence and follow-ups from the shipyard, or
// returns why the sequence cannot start (Keptn's messages).
func resolve(r *Run, in TriggerInput, t keptn.Type) string {
	if in.Shipyard == nil {
		msg := "shipyard not found"
		if in.ShipyardErr != nil {
			msg = in.ShipyardErr.Error()
		}
		return "Unable to retrieve Shipyard file: " + msg
	}
	st, ok := in.Shipyard.Stage(t.Stage)
	if !ok {
		return fmt.Sprintf("Unable to start sequence %s: no stage with name %s", t.Sequence, t.Stage)
	}
	seq, ok := st.Sequence(t.Sequence)
	if !ok {
		return fmt.Sprintf("Unable to start sequence %s: no task sequence with name %s found in stage %s", t.Sequence, t.Sequence, t.Stage)
	}
	if len(seq.Tasks) == 0 {
		return fmt.Sprintf("Unable to start sequence %s: task sequence %s does not contain any tasks", t.Sequence, t.Sequence)
	}
	r.Sequence = Sequence{Name: seq.Name, Tasks: seq.Tasks, Timeout: seq.Timeout}
	want := t.Stage + "." + t.Sequence + ".finished"
	for _, stg := range in.Shipyard.Spec.Stages {
		for _, sq := range stg.Sequences {
			for _, trg := range sq.TriggeredOn {
				if trg.Event == want {
					r.FollowUps = append(r.FollowUps, FollowUpRule{Stage: stg.Name, Sequence: sq.Name, Match: trg.Selector.Match})
					break
				}
			}
		}
	}
	return ""
}

// TaskEvent applies a task .started or .finished to the run whose current task
// it answers (found by the caller through the event's triggeredid).
func (e *Engine) TaskEvent(w World, r *Run, ev event.Event, now time.Time) error {
	t, err := keptn.ParseType(ev.Type())
	if err != nil || !t.IsTask() || (t.Kind != keptn.KindStarted && t.Kind != keptn.KindFinished) {
		return fmt.Errorf("%w: %s is not a task .started or .finished event", ErrInvalidEvent, ev.Type())
	}
	for _, id := range r.Applied {
		if id == ev.ID() {
			return ErrDuplicate
		}
	}
	ct := r.Status.CurrentTask
	if r.Status.State.Terminal() || ct == nil || ct.TriggeredID != keptn.TriggeredID(ev) || ct.Name != t.Task {
		return ErrStale
	}
	d, data, err := keptn.DecodeData(ev)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	s := e.step(w, now)
	r.Applied = append(r.Applied, ev.ID())
	if n := len(r.Applied) - e.cfg.MaxApplied; n > 0 {
		r.Applied = r.Applied[n:]
	}
	te := TaskEvent{ID: ev.ID(), EventType: ev.Type(), Source: ev.Source(), Result: string(d.Result),
		Status: string(d.Status), Message: d.Message, Time: s.now}
	if t.Kind == keptn.KindFinished {
		te.Properties = data
		if len(ev.Data()) > e.cfg.MaxProperties {
			te.Properties = map[string]any{"slipwayTruncated": fmt.Sprintf("data of %d bytes exceeded the %d byte limit", len(ev.Data()), e.cfg.MaxProperties)}
		}
	}
	ct.Events = append(ct.Events, te)
	ref := &EventRef{Type: ev.Type(), ID: ev.ID(), Time: s.now}
	r.Latest = ref
	if t.Kind == keptn.KindFinished && (d.Status == keptn.StatusErrored || (d.Result != keptn.ResultPass && d.Result != keptn.ResultWarning)) {
		r.LatestFail = ref
	}
	if t.Kind == keptn.KindFinished && t.Task == "evaluation" {
		if ev, ok := data["evaluation"].(map[string]any); ok {
			score, _ := ev["score"].(float64)
			r.Evaluation = &EvalScore{Result: string(d.Result), Score: score}
		}
	}
	if !completes(ct.Events) {
		return nil
	}
	s.completeTask(r)
	return s.err
}

// completeTask moves the current task to the previous tasks and carries on.
func (s *step) completeTask(r *Run) {
	ct := r.Status.CurrentTask
	result, status := taskOutcome(ct.Events)
	props := map[string]any{}
	msg := ""
	for _, ev := range ct.Events {
		if ev.Properties != nil {
			props = Merge(props, ev.Properties)
		}
		if isFinished(ev.EventType) && ev.Message != "" {
			msg = ev.Message
		}
	}
	r.Status.PreviousTasks = append(r.Status.PreviousTasks, TaskResult{
		Name: ct.Name, TriggeredID: ct.TriggeredID, Result: result, Status: status, Message: msg, Properties: props})
	r.Status.CurrentTask = nil
	switch r.Status.State {
	case StateStarted:
		s.proceed(r)
	case StateWaitingForApproval:
		// The approval is decided; continuing needs the lane again.
		if stops(r) || len(r.Status.PreviousTasks) >= len(r.Sequence.Tasks) {
			s.finish(r)
			return
		}
		r.Status.State = StateTriggered
		s.acquire(r)
	}
	// Paused runs continue on resume; runs waiting for the lane continue
	// when they get it.
}

// stops reports whether the last completed task ends the run early.
func stops(r *Run) bool {
	n := len(r.Status.PreviousTasks)
	if n == 0 {
		return false
	}
	last := r.Status.PreviousTasks[n-1]
	return last.Result == string(keptn.ResultFail) || last.Status == string(keptn.StatusErrored)
}

// acquire asks for the run's lane; the run starts at once if it is free, else
// it waits in FIFO order.
func (s *step) acquire(r *Run) {
	l, err := s.w.Lane(r.LaneKey())
	if err != nil {
		s.fail(err)
		return
	}
	if l.admit(Waiter{RunID: r.ID, TriggeredAt: r.TriggeredAt}) {
		s.promote(r)
		return
	}
	r.Status.State, r.Queued = StateTriggered, true
}

// promote runs when r got its lane.
func (s *step) promote(r *Run) {
	r.Queued = false
	r.Status.State = StateStarted
	if r.StartedAt.IsZero() {
		r.StartedAt = s.now
	}
	if r.Status.CurrentTask == nil {
		s.proceed(r)
	}
}

// leaveLane takes r out of its lane (holder or queue) and starts the next
// waiter if r held it.
func (s *step) leaveLane(r *Run) {
	wasHolder := r.Status.State == StateStarted
	if !wasHolder && !r.Queued {
		return
	}
	r.Queued = false
	l, err := s.w.Lane(r.LaneKey())
	if err != nil {
		s.fail(err)
		return
	}
	for next := l.leave(r.ID); next != ""; next = l.leave(next) {
		nr, err := s.w.Run(next)
		if errors.Is(err, ErrNotFound) {
			continue // a waiter whose run is gone must not block the lane
		}
		if err != nil {
			s.fail(err)
			return
		}
		if nr.Status.State != StateTriggered {
			continue
		}
		s.promote(nr)
		return
	}
}

// proceed triggers the next task of a run that holds its lane, or finishes it.
func (s *step) proceed(r *Run) {
	idx := len(r.Status.PreviousTasks)
	if stops(r) || idx >= len(r.Sequence.Tasks) {
		s.finish(r)
		return
	}
	task := r.Sequence.Tasks[idx]
	if d := shipyard.Duration(task.TriggeredAfter); d > 0 {
		if r.NextTaskAt.IsZero() {
			r.NextTaskAt = s.now.Add(d)
		}
		if s.now.Before(r.NextTaskAt) {
			return // the sweeper releases it when due
		}
	}
	r.NextTaskAt = time.Time{}
	s.triggerTask(r, idx)
	if task.Name == "approval" {
		// Waiting for a decision holds no lane (Keptn's rule).
		s.leaveLane(r)
		r.Status.State = StateWaitingForApproval
	}
}

func (s *step) triggerTask(r *Run, idx int) {
	task := r.Sequence.Tasks[idx]
	id := DeterministicID(r.ID, "task", fmt.Sprint(idx))
	typ := keptn.TaskType(task.Name, keptn.KindTriggered)
	s.emit(r, typ, taskMeta(id), r.taskPayload(task))
	r.Status.CurrentTask = &CurrentTask{Name: task.Name, Index: idx, TriggeredID: id, SentAt: s.now}
	r.Latest = &EventRef{Type: typ, ID: id, Time: s.now}
}

// taskMeta marks a task .triggered so Triggers can tell it from a sequence
// .triggered (keptn.ExtSlipwayKind).
func taskMeta(id string) keptn.Meta {
	return keptn.Meta{ID: id, Extra: map[string]string{keptn.ExtSlipwayKind: keptn.SlipwayKindTask}}
}

// finish ends a run normally and triggers the follow-up sequences.
func (s *step) finish(r *Run) {
	result, status := Worst(r.Status.PreviousTasks)
	msg := ""
	if n := len(r.Status.PreviousTasks); n > 0 {
		msg = r.Status.PreviousTasks[n-1].Message
	}
	s.finishWith(r, result, status, msg, true)
}

// finishWith ends a run with the given outcome and publishes its .finished.
func (s *step) finishWith(r *Run, result, status, msg string, followUps bool) {
	s.leaveLane(r)
	r.Status.State, r.Result, r.Outcome, r.Message = StateFinished, result, status, msg
	r.Status.CurrentTask, r.NextTaskAt, r.FinishedAt = nil, time.Time{}, s.now
	typ := keptn.SequenceType(r.Scope.Stage, r.Sequence.Name, keptn.KindFinished)
	s.emit(r, typ, keptn.Meta{ID: DeterministicID(r.ID, "finished"), TriggeredID: r.Scope.TriggeredID}, keptn.Data{
		Project: r.Scope.Project, Stage: r.Scope.Stage, Service: r.Scope.Service, Labels: r.Scope.Labels,
		Status: keptn.Status(status), Result: keptn.Result(result), Message: msg,
	})
	r.Latest = &EventRef{Type: typ, ID: DeterministicID(r.ID, "finished"), Time: s.now}
	if !followUps {
		return
	}
	for _, f := range r.FollowUps {
		if !f.matches(r) {
			continue
		}
		p := r.payload()
		p["stage"], p["result"], p["status"] = f.Stage, result, status
		delete(p, "message")
		s.emit(r, keptn.SequenceType(f.Stage, f.Sequence, keptn.KindTriggered),
			keptn.Meta{ID: DeterministicID(r.ID, "follow-up", f.Stage, f.Sequence)}, p)
	}
}

// matches applies a triggeredOn selector (decision 5: "<task>.result" looks at
// that task's result wherever it ran in the sequence; its last run wins).
func (f FollowUpRule) matches(r *Run) bool {
	return shipyard.Selector{Match: f.Match}.Matches(r.Result, func(task string) string {
		for i := len(r.Status.PreviousTasks) - 1; i >= 0; i-- {
			if r.Status.PreviousTasks[i].Name == task {
				return r.Status.PreviousTasks[i].Result
			}
		}
		return ""
	})
}

// emit appends an event to the run's outbox.
func (s *step) emit(r *Run, typ string, m keptn.Meta, data any) {
	m.Source, m.Time, m.Context = keptn.ControlPlaneSource, s.now, r.Scope.KeptnContext
	if m.GitCommitID == "" {
		m.GitCommitID = r.Scope.GitCommitID
	}
	ev, err := keptn.NewEvent(typ, m, data)
	if err != nil {
		s.fail(err)
		return
	}
	// Not json.Marshal: it would scan and compact the output once more (the
	// data is already compact JSON from SetData). cejson, not ceio: the
	// engine imports no HTTP code.
	raw, err := cejson.Marshal(ev)
	if err != nil {
		s.fail(fmt.Errorf("encode %s: %w", typ, err))
		return
	}
	r.OutboxSeq++
	r.Outbox = append(r.Outbox, Outgoing{Seq: r.OutboxSeq, ID: m.ID, At: s.now, Event: raw, built: &ev})
}

// payload is the run's data so far: the trigger's data with the scope forced
// and every completed task's output merged in, result/status of the last task.
func (r *Run) payload() map[string]any {
	p := Merge(nil, r.InputProperties)
	p["project"], p["stage"], p["service"] = r.Scope.Project, r.Scope.Stage, r.Scope.Service
	for _, t := range r.Status.PreviousTasks {
		p = Merge(p, t.Properties)
	}
	if n := len(r.Status.PreviousTasks); n > 0 {
		last := r.Status.PreviousTasks[n-1]
		p["result"], p["status"] = last.Result, last.Status
	}
	return p
}

// taskPayload is the data of a task's .triggered: the run's payload with the
// task's shipyard properties merged under data.<task>.
func (r *Run) taskPayload(task shipyard.Task) map[string]any {
	p := r.payload()
	if len(task.Properties) > 0 {
		own, _ := p[task.Name].(map[string]any)
		p[task.Name] = Merge(own, normalize(task.Properties).(map[string]any))
	}
	if _, ok := p["message"]; ok {
		p["message"] = ""
	}
	return p
}

// normalize turns YAML-decoded values into their JSON-decoded forms so that
// merging treats shipyard properties and event data alike.
func normalize(v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(raw, &out) != nil {
		return v
	}
	return out
}
