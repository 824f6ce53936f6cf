package engine

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/keptn"
)

// SequenceExecution is a run in the shape of Keptn's
// GET /controlPlane/v1/sequence-execution items.
type SequenceExecution struct {
	ID              string         `json:"_id"`
	SchemaVersion   string         `json:"schemaVersion"`
	Sequence        Sequence       `json:"sequence"`
	Status          RunStatus      `json:"status"`
	Scope           Scope          `json:"scope"`
	InputProperties map[string]any `json:"inputProperties"`
	TriggeredAt     time.Time      `json:"triggeredAt"`
}

// SequenceExecution returns the run's Keptn API view.
func (r *Run) SequenceExecution() SequenceExecution {
	return SequenceExecution{ID: r.ID, SchemaVersion: "1", Sequence: r.Sequence, Status: r.Status,
		Scope: r.Scope, InputProperties: r.InputProperties, TriggeredAt: r.TriggeredAt}
}

// View states of a keptnContext (Keptn's SequenceState.state).
const (
	ViewTriggered = "triggered"
	ViewWaiting   = "waiting"
	ViewStarted   = "started"
	ViewPaused    = "paused"
	ViewFinished  = "finished"
	ViewAborted   = "aborted"
	ViewTimedOut  = "timedOut"
)

// SequenceState is Keptn's per-context view (GET /controlPlane/v1/sequence/{project}).
type SequenceState struct {
	Name           string       `json:"name"`
	Service        string       `json:"service"`
	Project        string       `json:"project"`
	Time           time.Time    `json:"time"`
	ShKeptnContext string       `json:"shkeptncontext"`
	State          string       `json:"state"`
	ProblemTitle   string       `json:"problemTitle,omitempty"`
	Stages         []StageState `json:"stages"`
}

// StageState is one stage of a context view.
type StageState struct {
	Name              string     `json:"name"`
	Image             string     `json:"image,omitempty"`
	State             string     `json:"state"`
	LatestEvaluation  *EvalScore `json:"latestEvaluation,omitempty"`
	LatestEvent       *EventRef  `json:"latestEvent,omitempty"`
	LatestFailedEvent *EventRef  `json:"latestFailedEvent,omitempty"`
}

// ContextView derives the view of one keptnContext from its runs (any
// order). Nothing is materialised: the view is always consistent with runs.
func ContextView(runs []*Run) SequenceState {
	rs := append([]*Run(nil), runs...)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].TriggeredAt.Before(rs[j].TriggeredAt) })
	if len(rs) == 0 {
		return SequenceState{}
	}
	root := rs[0]
	v := SequenceState{Name: root.Sequence.Name, Service: root.Scope.Service, Project: root.Scope.Project,
		Time: root.TriggeredAt, ShKeptnContext: root.Scope.KeptnContext}
	if p, ok := root.InputProperties["problem"].(map[string]any); ok {
		v.ProblemTitle, _ = p["problemTitle"].(string)
	}
	var aborted, timedOut, paused, started, waiting, triggered bool
	byStage := map[string]int{}
	for _, r := range rs {
		st := StageState{Name: r.Scope.Stage, LatestEvent: r.Latest, LatestFailedEvent: r.LatestFail,
			LatestEvaluation: r.Evaluation, State: ViewTriggered}
		if cc, ok := r.InputProperties["configurationChange"].(map[string]any); ok {
			if vals, ok := cc["values"].(map[string]any); ok {
				st.Image, _ = vals["image"].(string)
			}
		}
		switch r.Status.State {
		case StateFinished:
			st.State = r.Outcome
			aborted = aborted || r.Aborted
		case StateTimedOut:
			st.State = r.Outcome
			timedOut = true
		case StatePaused:
			// A stage pause marks the stage, a context pause the context;
			// each leaves the other's state as it was.
			switch {
			case r.ContextPaused:
				paused = true
			case !r.StartedAt.IsZero():
				started = true
			default:
				triggered = true
			}
		case StateStarted, StateWaitingForApproval:
			started = true
		case StateTriggered:
			if r.Queued {
				waiting = true
			} else if r.StartedAt.IsZero() {
				triggered = true
			} else {
				started = true
			}
		}
		if r.ControlView != "" && !r.Status.State.Terminal() {
			st.State = r.ControlView // set by a stage-scoped pause or resume
		}
		// A stage runs again when a loop re-triggers it; the newest run wins.
		if i, ok := byStage[st.Name]; ok {
			v.Stages[i] = st
		} else {
			byStage[st.Name] = len(v.Stages)
			v.Stages = append(v.Stages, st)
		}
	}
	switch {
	case aborted:
		v.State = ViewAborted
	case timedOut:
		v.State = ViewTimedOut
	case paused:
		v.State = ViewPaused
	case started:
		v.State = ViewStarted
	case waiting:
		v.State = ViewWaiting
	case triggered:
		v.State = ViewTriggered
	default:
		v.State = ViewFinished
	}
	return v
}

// OpenEvent rebuilds the .triggered event of the run's current task, exactly
// as it was published (same id, data and time), for executors that poll.
func (e *Engine) OpenEvent(r *Run) (*event.Event, error) {
	ct := r.OpenTask()
	if ct == nil || ct.Index >= len(r.Sequence.Tasks) {
		return nil, nil
	}
	s := e.step(nil, ct.SentAt)
	probe := *r
	probe.Outbox, probe.OutboxSeq = nil, 0
	s.emit(&probe, keptn.TaskType(ct.Name, keptn.KindTriggered), taskMeta(ct.TriggeredID), r.taskPayload(r.Sequence.Tasks[ct.Index]))
	if s.err != nil {
		return nil, s.err
	}
	var ev event.Event
	if err := json.Unmarshal(probe.Outbox[0].Event, &ev); err != nil {
		return nil, fmt.Errorf("decode open event of run %s: %w", r.ID, err)
	}
	return &ev, nil
}
