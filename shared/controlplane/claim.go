package controlplane

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/slipwayhq/slipway/shared/store"
)

// MaxClaims bounds the workers that may claim one task (a task is answered
// by one executor, a few at most).
const MaxClaims = 16

// ClaimOutcome is the answer to a claim.
type ClaimOutcome string

// Claim outcomes.
const (
	// Claimed: the worker is the first to claim the task; it runs the work.
	Claimed ClaimOutcome = "claimed"
	// AlreadyClaimed: an instance of the worker claimed it before (a
	// redelivery, another instance, or before a restart); it must not run
	// the work again.
	AlreadyClaimed ClaimOutcome = "alreadyClaimed"
	// Done: the task was a run's and is over (finished, aborted, timed
	// out); a redelivered .triggered must not run it again.
	Done ClaimOutcome = "done"
	// NotOpen: no run knows the task: a .triggered a client sent itself,
	// which Keptn's executors always ran (the claim cannot help there).
	NotOpen ClaimOutcome = "notOpen"
)

// ClaimTask records that worker takes on the task whose .triggered event is
// triggeredID, in the run's document and in the same transaction that reads
// it, so exactly one claim per worker and task succeeds across executor
// instances and restarts (the in-memory dedupe of each executor only covers
// its own lifetime).
func (s *Service) ClaimTask(ctx context.Context, project, triggeredID, worker string) (ClaimOutcome, error) {
	var out ClaimOutcome
	err := s.store.Update(ctx, func(tx store.Tx) error {
		out = NotOpen
		rec, err := tx.RunByTask(project, triggeredID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		u := newUnit(tx, s.eng, s.runs)
		r, err := u.adopt(rec)
		if err != nil {
			return err
		}
		ct := r.Status.CurrentTask
		if ct == nil || ct.TriggeredID != triggeredID {
			return nil
		}
		if slices.Contains(ct.Claims, worker) {
			out = AlreadyClaimed
			return nil
		}
		if len(ct.Claims) >= MaxClaims {
			return fmt.Errorf("%w: task %s has %d claims already", ErrInvalid, triggeredID, len(ct.Claims))
		}
		ct.Claims = append(ct.Claims, worker)
		out = Claimed
		_, err = s.finish(u) // writes the run; a claim adds no events
		return err
	})
	if err != nil {
		return "", fmt.Errorf("claim task %s for %s: %w", triggeredID, worker, err)
	}
	if out == NotOpen {
		done, err := s.taskDone(ctx, project, triggeredID)
		if err != nil {
			return "", fmt.Errorf("claim task %s for %s: %w", triggeredID, worker, err)
		}
		if done {
			out = Done
		}
	}
	return out, nil
}

// taskDone reports whether triggeredID was a task of one of its context's
// runs that is no longer current: the history gives the context, the runs
// their completed tasks.
func (s *Service) taskDone(ctx context.Context, project, triggeredID string) (bool, error) {
	evs, _, err := s.store.ListEvents(ctx, store.EventQuery{Project: project, ID: triggeredID}, store.Page{Size: 1})
	if err != nil || len(evs) == 0 {
		return false, err
	}
	recs, _, err := s.store.ListRuns(ctx, store.RunQuery{Project: project, KeptnContext: evs[0].KeptnContext}, store.Page{Size: 100})
	if err != nil {
		return false, err
	}
	for _, rec := range recs {
		r, err := decodeRun(rec)
		if err != nil {
			return false, err
		}
		for _, t := range r.Status.PreviousTasks {
			if t.TriggeredID == triggeredID {
				return true, nil
			}
		}
		if ct := r.Status.CurrentTask; ct != nil && ct.TriggeredID == triggeredID {
			return true, nil // moved on since the transaction read it
		}
	}
	return false, nil
}
