package engine

import (
	"slices"
	"time"

	"github.com/slipwayhq/slipway/shared/keptn"
)

// Action is a sequence control action.
type Action string

// Control actions of POST /sequence/{project}/{context}/control.
const (
	Abort  Action = "abort"
	Pause  Action = "pause"
	Resume Action = "resume"
)

// ContextControl is the control state of one keptnContext: pause flags for
// the whole context or single stages, so that runs created later (chained
// stages) start paused too.
type ContextControl struct {
	Paused       bool     `json:"paused,omitempty"`
	PausedStages []string `json:"pausedStages,omitempty"`
	Aborted      bool     `json:"aborted,omitempty"`
}

// IsPaused reports whether new runs in stage start paused.
func (c *ContextControl) IsPaused(stage string) bool {
	return c.Paused || slices.Contains(c.PausedStages, stage)
}

// IsStagePaused reports whether new runs in stage start paused because that
// stage (and not the whole context) is paused.
func (c *ContextControl) IsStagePaused(stage string) bool {
	return !c.Paused && slices.Contains(c.PausedStages, stage)
}

// Apply records an action on the context's flags ("" stage = whole context).
func (c *ContextControl) Apply(a Action, stage string) {
	switch a {
	case Pause:
		if stage == "" {
			c.Paused = true
		} else if !slices.Contains(c.PausedStages, stage) {
			c.PausedStages = append(c.PausedStages, stage)
		}
	case Resume:
		if stage == "" {
			c.Paused, c.PausedStages = false, nil
		} else {
			c.PausedStages = slices.DeleteFunc(c.PausedStages, func(s string) bool { return s == stage })
		}
	case Abort:
		if stage == "" {
			c.Paused, c.PausedStages, c.Aborted = false, nil, true
		}
	}
}

// Control applies abort, pause or resume to one run. Unknown actions and
// actions that do not apply to the run's state change nothing (Keptn answers
// 200 either way).
func (e *Engine) Control(w World, r *Run, a Action, now time.Time) error {
	return e.ControlScoped(w, r, a, false, now)
}

// ControlScoped is Control for a control that named the run's stage
// (stageScoped) or the whole context. The scope changes only the view, as in
// Keptn 1.4.5: a context-wide pause marks the context paused and leaves the
// stages' states; a stage pause marks only that stage; resuming a stage
// shows it started.
func (e *Engine) ControlScoped(w World, r *Run, a Action, stageScoped bool, now time.Time) error {
	s := e.step(w, now)
	switch a {
	case Abort:
		s.abort(r)
	case Pause:
		s.pause(r, stageScoped)
	case Resume:
		s.resume(r, stageScoped)
	}
	return s.err
}

// abort ends an unfinished run as aborted (result pass, status aborted, as in
// Keptn), tells the executor of its open task to stop, and hands the lane on.
func (s *step) abort(r *Run) {
	if r.Status.State.Terminal() {
		return
	}
	msg := "sequence aborted"
	if r.Status.State == StatePaused {
		r.Status.State = r.Status.StateBeforePause // leave the lane from where it was
		if r.Status.State == StateStarted {
			r.Status.State = StateTriggered // a paused run holds no lane
		}
		r.Status.StateBeforePause, r.PausedAt = "", time.Time{}
	}
	s.notifyAbort(r, msg)
	r.Aborted = true
	s.finishWith(r, string(keptn.ResultPass), string(keptn.StatusAborted), msg, false)
}

// pause stops a run from moving on: the current task may finish, but the next
// one waits for resume. A paused run holds no lane.
func (s *step) pause(r *Run, stageScoped bool) {
	switch r.Status.State {
	case StateStarted, StateTriggered, StateWaitingForApproval, StatePaused:
	default:
		return
	}
	if stageScoped {
		r.ControlView = ViewPaused
	} else {
		r.ContextPaused = true
	}
	if r.Status.State == StatePaused {
		return
	}
	s.leaveLane(r)
	r.Status.StateBeforePause, r.Status.State, r.PausedAt = r.Status.State, StatePaused, s.now
}

// resume continues a paused run. Timers are shifted by the pause so a pause
// does not count against timeouts. A run that needs its lane queues for it.
func (s *step) resume(r *Run, stageScoped bool) {
	if r.Status.State != StatePaused {
		return
	}
	r.ContextPaused = false
	switch {
	case stageScoped:
		r.ControlView = ViewStarted
	case r.ControlView == ViewPaused:
		r.ControlView = "" // the context resume resumed the paused stage too
	}
	if !r.PausedAt.IsZero() {
		shift := s.now.Sub(r.PausedAt)
		if ct := r.Status.CurrentTask; ct != nil {
			ct.Paused += shift
		}
		if !r.StartedAt.IsZero() {
			r.StartedAt = r.StartedAt.Add(shift)
		}
		if !r.NextTaskAt.IsZero() {
			r.NextTaskAt = r.NextTaskAt.Add(shift)
		}
	}
	before := r.Status.StateBeforePause
	r.Status.StateBeforePause, r.PausedAt = "", time.Time{}
	if before == StateWaitingForApproval && r.Status.CurrentTask != nil {
		r.Status.State = StateWaitingForApproval
		return
	}
	r.Status.State = StateTriggered
	s.acquire(r)
}
