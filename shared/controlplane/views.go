package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/store"
)

// decodeRun decodes a run record, dropping the outbox entries the record
// says were confirmed (AckOutbox writes only that field).
func decodeRun(rec *store.Run) (*engine.Run, error) {
	var r engine.Run
	if err := json.Unmarshal(rec.Body, &r); err != nil {
		return nil, fmt.Errorf("decode run %s: %w", rec.ID, err)
	}
	dropAcked(&r, rec.AckedSeq)
	return &r, nil
}

// dropAcked removes the outbox entries up to acked.
func dropAcked(r *engine.Run, acked int64) {
	n := 0
	for n < len(r.Outbox) && r.Outbox[n].Seq <= acked {
		n++
	}
	if n > 0 {
		r.Outbox = r.Outbox[n:]
		if len(r.Outbox) == 0 {
			r.Outbox = nil
		}
	}
}

// Executions lists runs in Keptn's sequence-execution shape, newest first.
func (s *Service) Executions(ctx context.Context, q store.RunQuery, p store.Page) ([]engine.SequenceExecution, string, error) {
	recs, next, err := s.store.ListRuns(ctx, q, p)
	if err != nil {
		return nil, "", fmt.Errorf("list runs: %w", err)
	}
	out := make([]engine.SequenceExecution, 0, len(recs))
	for _, rec := range recs {
		r, err := decodeRun(rec)
		if err != nil {
			return nil, "", err
		}
		out = append(out, r.SequenceExecution())
	}
	return out, next, nil
}

// Contexts returns the per-keptnContext views of a project, newest first,
// limited to the given contexts when any are named.
func (s *Service) Contexts(ctx context.Context, project string, contexts []string) ([]engine.SequenceState, error) {
	byCtx := map[string][]*engine.Run{}
	collect := func(q store.RunQuery) error {
		page := store.Page{}
		for {
			recs, next, err := s.store.ListRuns(ctx, q, page)
			if err != nil {
				return fmt.Errorf("list runs: %w", err)
			}
			for _, rec := range recs {
				r, err := decodeRun(rec)
				if err != nil {
					return err
				}
				byCtx[r.Scope.KeptnContext] = append(byCtx[r.Scope.KeptnContext], r)
			}
			if next == "" {
				return nil
			}
			page.Token = next
		}
	}
	if len(contexts) == 0 {
		if err := collect(store.RunQuery{Project: project}); err != nil {
			return nil, err
		}
	}
	for _, c := range contexts {
		if err := collect(store.RunQuery{Project: project, KeptnContext: c}); err != nil {
			return nil, err
		}
	}
	views := make([]engine.SequenceState, 0, len(byCtx))
	for _, runs := range byCtx {
		views = append(views, engine.ContextView(runs))
	}
	sort.SliceStable(views, func(i, j int) bool {
		if !views[i].Time.Equal(views[j].Time) {
			return views[i].Time.After(views[j].Time)
		}
		return views[i].ShKeptnContext < views[j].ShKeptnContext
	})
	return views, nil
}

// OpenTriggered lists the open task .triggered events, rebuilt from runs.
func (s *Service) OpenTriggered(ctx context.Context, q store.OpenQuery, p store.Page) ([]event.Event, string, error) {
	if q.Until.IsZero() {
		q.Until = s.now()
	}
	recs, next, err := s.store.ListOpen(ctx, q, p)
	if err != nil {
		return nil, "", fmt.Errorf("list open events: %w", err)
	}
	out := make([]event.Event, 0, len(recs))
	for _, rec := range recs {
		r, err := decodeRun(rec)
		if err != nil {
			return nil, "", err
		}
		ev, err := s.eng.OpenEvent(r)
		if err != nil {
			return nil, "", err
		}
		if ev != nil {
			out = append(out, *ev)
		}
	}
	return out, next, nil
}
