package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

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

// ContextPage returns the views of a project's keptnContexts that keep
// accepts, newest first (by the context's first trigger, as Contexts
// orders them), skipping the first offset and returning at most n, and
// whether more follow. Unlike Contexts it reads runs only as far as the
// page needs: runs come newest first, and once n+offset accepted contexts
// started after the run being read, no context not yet seen can come
// before them (its first run is no newer). stopBefore, when set, ends the
// scan at runs triggered at or before it (no context there can match a
// fromTime filter).
func (s *Service) ContextPage(ctx context.Context, project string, keep func(engine.SequenceState) bool,
	offset, n int, stopBefore time.Time) ([]engine.SequenceState, bool, error) {
	need := offset + n + 1 // one more tells whether more follow
	seen := map[string]bool{}
	var found []engine.SequenceState
	less := func(a, b engine.SequenceState) bool {
		if !a.Time.Equal(b.Time) {
			return a.Time.After(b.Time)
		}
		return a.ShKeptnContext < b.ShKeptnContext
	}
	// settled counts the found views that every unseen context follows.
	settled := func(cursor time.Time) int {
		c := 0
		for _, v := range found {
			if v.Time.After(cursor) {
				c++
			}
		}
		return c
	}
	page := store.Page{Size: 200}
scan:
	for {
		recs, next, err := s.store.ListRuns(ctx, store.RunQuery{Project: project}, page)
		if err != nil {
			return nil, false, fmt.Errorf("list runs: %w", err)
		}
		for _, rec := range recs {
			if !stopBefore.IsZero() && !rec.TriggeredAt.After(stopBefore) {
				break scan
			}
			if settled(rec.TriggeredAt) >= need {
				break scan
			}
			if seen[rec.KeptnContext] {
				continue
			}
			seen[rec.KeptnContext] = true
			v, err := s.contextView(ctx, project, rec.KeptnContext)
			if err != nil {
				return nil, false, err
			}
			if keep(v) {
				found = append(found, v)
			}
		}
		if next == "" {
			break
		}
		page.Token = next
	}
	sort.SliceStable(found, func(i, j int) bool { return less(found[i], found[j]) })
	if offset >= len(found) {
		return nil, false, nil
	}
	found = found[offset:]
	more := len(found) > n
	if more {
		found = found[:n]
	}
	return found, more, nil
}

// contextView reads every run of one context and derives its view.
func (s *Service) contextView(ctx context.Context, project, kctx string) (engine.SequenceState, error) {
	var runs []*engine.Run
	page := store.Page{}
	for {
		recs, next, err := s.store.ListRuns(ctx, store.RunQuery{Project: project, KeptnContext: kctx}, page)
		if err != nil {
			return engine.SequenceState{}, fmt.Errorf("list runs of %s: %w", kctx, err)
		}
		for _, rec := range recs {
			r, err := decodeRun(rec)
			if err != nil {
				return engine.SequenceState{}, err
			}
			runs = append(runs, r)
		}
		if next == "" {
			return engine.ContextView(runs), nil
		}
		page.Token = next
	}
}
