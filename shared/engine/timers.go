package engine

import (
	"fmt"
	"time"

	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/shipyard"
)

// Tick fires the run's due timers: a task held back by triggeredAfter, the
// started-timeout, the task finished-timeout and the sequence timeout. Paused
// runs have no timers (their clocks are shifted by the pause on resume).
func (e *Engine) Tick(w World, r *Run, now time.Time) error {
	if r.Status.State.Terminal() || r.Status.State == StatePaused {
		return nil
	}
	s := e.step(w, now)
	if dl, ok := e.sequenceDeadline(r); ok && !s.now.Before(dl) {
		s.timeout(r, fmt.Sprintf("sequence %s timed out after %s", r.Sequence.Name, r.Sequence.Timeout))
		return s.err
	}
	if ct := r.Status.CurrentTask; ct != nil {
		if dl, ok := e.startedDeadline(r); ok && !s.now.Before(dl) {
			s.timeout(r, fmt.Sprintf("sequence timed out while waiting for task %s to receive a correlating .started or .finished event",
				keptn.TaskType(ct.Name, keptn.KindTriggered)))
			return s.err
		}
		if dl, d, ok := e.finishedDeadline(r); ok && !s.now.Before(dl) {
			s.timeout(r, fmt.Sprintf("sequence timed out: task %s did not finish within %s", ct.Name, d))
			return s.err
		}
		return nil
	}
	if r.Status.State == StateStarted && !r.NextTaskAt.IsZero() && !s.now.Before(r.NextTaskAt) {
		s.proceed(r)
	}
	return s.err
}

// Due is when the run next needs the sweeper: its earliest timer or the retry
// time of its oldest unconfirmed outbox entry; zero when nothing is pending.
func (e *Engine) Due(r *Run) time.Time {
	var due time.Time
	add := func(t time.Time) {
		if !t.IsZero() && (due.IsZero() || t.Before(due)) {
			due = t
		}
	}
	if len(r.Outbox) > 0 {
		add(r.Outbox[0].At.Add(e.cfg.OutboxRetry))
	}
	if r.Status.State.Terminal() || r.Status.State == StatePaused {
		return due
	}
	if dl, ok := e.sequenceDeadline(r); ok {
		add(dl)
	}
	if r.Status.CurrentTask != nil {
		if dl, ok := e.startedDeadline(r); ok {
			add(dl)
		}
		if dl, _, ok := e.finishedDeadline(r); ok {
			add(dl)
		}
	} else if r.Status.State == StateStarted {
		add(r.NextTaskAt)
	}
	return due
}

func (e *Engine) sequenceDeadline(r *Run) (time.Time, bool) {
	d := shipyard.Duration(r.Sequence.Timeout)
	if d <= 0 || r.StartedAt.IsZero() {
		return time.Time{}, false
	}
	return r.StartedAt.Add(d), true
}

// startedDeadline applies while the current task has had no response at all.
func (e *Engine) startedDeadline(r *Run) (time.Time, bool) {
	ct := r.Status.CurrentTask
	if ct == nil || len(ct.Events) > 0 {
		return time.Time{}, false
	}
	return ct.SentAt.Add(ct.Paused + e.cfg.StartedTimeout), true
}

func (e *Engine) finishedDeadline(r *Run) (time.Time, time.Duration, bool) {
	ct := r.Status.CurrentTask
	if ct == nil || ct.Index >= len(r.Sequence.Tasks) {
		return time.Time{}, 0, false
	}
	d := shipyard.Duration(r.Sequence.Tasks[ct.Index].Timeout)
	if d <= 0 && ct.Name != "approval" {
		d = e.cfg.FinishedTimeout
	}
	if d <= 0 {
		return time.Time{}, 0, false
	}
	return ct.SentAt.Add(ct.Paused + d), d, true
}

// timeout ends a run as timedOut (errored/fail), tells the executor of an
// open task to stop, and triggers no follow-ups (Keptn's rule).
func (s *step) timeout(r *Run, msg string) {
	s.notifyAbort(r, msg)
	s.finishWith(r, string(keptn.ResultFail), string(keptn.StatusErrored), msg, false)
	r.Status.State = StateTimedOut
}

// notifyAbort tells the executors of the run's open task to stop its work
// (Slipway's sh.keptn.event.<task>.aborted, decision 8).
func (s *step) notifyAbort(r *Run, msg string) {
	ct := r.Status.CurrentTask
	if ct == nil {
		return
	}
	s.emit(r, keptn.TaskType(ct.Name, keptn.KindAborted),
		keptn.Meta{ID: DeterministicID(r.ID, "abort", ct.TriggeredID), TriggeredID: ct.TriggeredID},
		keptn.Data{Project: r.Scope.Project, Stage: r.Scope.Stage, Service: r.Scope.Service,
			Labels: r.Scope.Labels, Status: keptn.StatusAborted, Message: msg})
}
