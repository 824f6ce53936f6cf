package engine

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/google/uuid"

	"github.com/slipwayhq/slipway/shared/shipyard"
)

// State is a run's (Keptn SequenceExecution's) state.
type State string

// Run states, as Keptn stores them. Slipway uses StateTriggered both for a new
// run waiting for its lane and for a run that must re-acquire its lane to
// continue (after an approval or a resume); the context view shows both as
// "waiting".
const (
	StateTriggered          State = "triggered"
	StateStarted            State = "started"
	StateWaitingForApproval State = "waitingForApproval"
	StatePaused             State = "paused"
	StateFinished           State = "finished"
	StateTimedOut           State = "timedOut"
)

// Terminal reports whether s ends a run.
func (s State) Terminal() bool { return s == StateFinished || s == StateTimedOut }

// Run is one sequence execution. Its JSON is the stored document body; the
// Keptn API shape is produced by SequenceExecution.
type Run struct {
	ID              string         `json:"id"`
	Sequence        Sequence       `json:"sequence"`
	Status          RunStatus      `json:"status"`
	Scope           Scope          `json:"scope"`
	InputProperties map[string]any `json:"inputProperties,omitempty"`
	TriggeredAt     time.Time      `json:"triggeredAt"`

	// StartedAt is when the run first took its lane (sequence timeout base).
	StartedAt time.Time `json:"startedAt,omitzero"`
	// NextTaskAt holds back the next task until its triggeredAfter passed.
	NextTaskAt time.Time `json:"nextTaskAt,omitzero"`
	// PausedAt is when the current pause began; timers stop while paused.
	PausedAt time.Time `json:"pausedAt,omitzero"`
	// Queued is true while the run waits in its lane's queue.
	Queued bool `json:"queued,omitempty"`
	// FollowUps are the shipyard triggers on this sequence's .finished,
	// captured when the run was created.
	FollowUps []FollowUpRule `json:"followUps,omitempty"`

	Result  string `json:"result,omitempty"`
	Outcome string `json:"outcome,omitempty"` // final data.status
	Message string `json:"message,omitempty"`
	Aborted bool   `json:"aborted,omitempty"`
	// ControlView is the stage state a stage-scoped control left in the
	// context view (Keptn's materialised view): "paused" after pausing the
	// stage, "started" after resuming it; "" after a context-wide control,
	// which leaves the stage states alone.
	ControlView string `json:"controlView,omitempty"`
	// ContextPaused is true while the run is paused by a context-wide pause
	// (the view then shows the context paused).
	ContextPaused bool       `json:"contextPaused,omitempty"`
	FinishedAt    time.Time  `json:"finishedAt,omitzero"`
	Latest        *EventRef  `json:"latestEvent,omitempty"`
	LatestFail    *EventRef  `json:"latestFailedEvent,omitempty"`
	Evaluation    *EvalScore `json:"latestEvaluation,omitempty"`

	// Applied lists the ids of incoming events already applied (dedupe).
	Applied []string `json:"applied,omitempty"`
	// Outbox holds the events of transitions not yet confirmed as published.
	Outbox []Outgoing `json:"outbox,omitempty"`
	// OutboxSeq numbers outbox entries; acknowledgements refer to it.
	OutboxSeq int64 `json:"outboxSeq,omitempty"`
}

// Sequence is the shipyard sequence a run executes, captured at trigger time.
type Sequence struct {
	Name    string          `json:"name"`
	Tasks   []shipyard.Task `json:"tasks"`
	Timeout string          `json:"timeout,omitempty"`
}

// RunStatus is the mutable part of a run, in Keptn's shape.
type RunStatus struct {
	State            State        `json:"state"`
	StateBeforePause State        `json:"stateBeforePause,omitempty"`
	PreviousTasks    []TaskResult `json:"previousTasks"`
	CurrentTask      *CurrentTask `json:"currentTask,omitempty"`
}

// Scope identifies a run.
type Scope struct {
	Project      string            `json:"project"`
	Stage        string            `json:"stage"`
	Service      string            `json:"service"`
	Labels       map[string]string `json:"labels,omitempty"`
	KeptnContext string            `json:"keptnContext"`
	TriggeredID  string            `json:"triggeredId"`
	GitCommitID  string            `json:"gitcommitid,omitempty"`
	EventType    string            `json:"eventType"`
}

// TaskResult is a completed task.
type TaskResult struct {
	Name        string         `json:"name"`
	TriggeredID string         `json:"triggeredID"`
	Result      string         `json:"result"`
	Status      string         `json:"status"`
	Message     string         `json:"message,omitempty"`
	Properties  map[string]any `json:"properties,omitempty"`
}

// CurrentTask is the task whose .triggered is out.
type CurrentTask struct {
	Name        string      `json:"name"`
	Index       int         `json:"index"`
	TriggeredID string      `json:"triggeredID"`
	SentAt      time.Time   `json:"sentAt"`
	Events      []TaskEvent `json:"events"`
	// Paused is the time the run spent paused since SentAt; timeouts do not
	// count it.
	Paused time.Duration `json:"paused,omitempty"`
	// Claims are the workers (executor names) that claimed this task's work
	// (ClaimTask), so a redelivered .triggered does not run a script twice
	// across executor instances and restarts.
	Claims []string `json:"claims,omitempty"`
}

// TaskEvent is a .started or .finished received for the current task.
type TaskEvent struct {
	ID         string         `json:"id"`
	EventType  string         `json:"eventType"`
	Source     string         `json:"source"`
	Result     string         `json:"result"`
	Status     string         `json:"status"`
	Message    string         `json:"message,omitempty"`
	Time       time.Time      `json:"time"`
	Properties map[string]any `json:"properties,omitempty"`
}

// FollowUpRule is a shipyard trigger naming this run's sequence.
type FollowUpRule struct {
	Stage    string            `json:"stage"`
	Sequence string            `json:"sequence"`
	Match    map[string]string `json:"match,omitempty"`
}

// EventRef points at an event (Keptn's latestEvent).
type EventRef struct {
	Type string    `json:"type"`
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
}

// EvalScore is the latest evaluation result of a run.
type EvalScore struct {
	Result string  `json:"result"`
	Score  float64 `json:"score"`
}

// Outgoing is an outbox entry: one event to publish.
type Outgoing struct {
	Seq   int64     `json:"seq"`
	ID    string    `json:"id"`
	At    time.Time `json:"at"`
	Event []byte    `json:"event"` // structured CloudEvent JSON

	// built is the event Event encodes, kept by the transition that emitted
	// it so publishing does not decode it again (not stored).
	built *event.Event
}

// CloudEvent returns the entry's event: a copy of the one emitted when this
// process made the entry, else decoded from Event.
func (o *Outgoing) CloudEvent() (event.Event, error) {
	if o.built != nil {
		return o.built.Clone(), nil
	}
	var ev event.Event
	if err := json.Unmarshal(o.Event, &ev); err != nil {
		return event.Event{}, fmt.Errorf("decode outbox entry %s: %w", o.ID, err)
	}
	return ev, nil
}

// LaneKey returns the lane the run belongs to.
func (r *Run) LaneKey() LaneKey {
	return LaneKey{Project: r.Scope.Project, Stage: r.Scope.Stage, Service: r.Scope.Service}
}

// OpenTask returns the current task when its .triggered is visible to
// executors (released and not yet complete).
func (r *Run) OpenTask() *CurrentTask {
	if r.Status.State.Terminal() || r.Status.CurrentTask == nil {
		return nil
	}
	return r.Status.CurrentTask
}

// namespace for deterministic ids (UUIDv5); fixed forever: ids must not change
// between versions or redeliveries would create duplicates.
var namespace = uuid.MustParse("6f2a4c1e-5b0d-4f43-9a53-1c9e8e0b7d21")

// DeterministicID derives a UUID from its parts.
func DeterministicID(parts ...string) string {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = append(b, p...)
		b = append(b, 0)
	}
	return uuid.NewSHA1(namespace, b).String()
}

// RunID is the id of the run started by a <stage>.<seq>.triggered event, so
// a redelivered trigger finds the run it already created.
func RunID(project, triggerEventID string) string {
	return DeterministicID("run", project, triggerEventID)
}
