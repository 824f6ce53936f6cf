package controlplane

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/store"
)

// unit is the engine's World on one store transaction: it loads each
// document once, hands the engine pointers, and on flush writes back only
// the documents whose encoding changed.
type unit struct {
	tx    store.Tx
	eng   *engine.Engine
	cache *runCache // the service's decoded runs
	runs  map[string]*loaded[engine.Run]
	order []string // run ids in load order, for deterministic writes
	lanes map[engine.LaneKey]*loaded[engine.Lane]
	ctxs  map[[2]string]*loaded[engine.ContextControl]
}

type loaded[T any] struct {
	v     *T
	orig  []byte // nil for new documents
	body  []byte // runs: the document as flush left it in the store
	acked int64  // runs: the record's AckedSeq, carried into the next write
	seq   int64  // runs: OutboxSeq when loaded, to tell new outbox entries
}

func newUnit(tx store.Tx, eng *engine.Engine, cache *runCache) *unit {
	return &unit{tx: tx, eng: eng, cache: cache, runs: map[string]*loaded[engine.Run]{},
		lanes: map[engine.LaneKey]*loaded[engine.Lane]{}, ctxs: map[[2]string]*loaded[engine.ContextControl]{}}
}

// Run implements engine.World.
func (u *unit) Run(id string) (*engine.Run, error) {
	if l, ok := u.runs[id]; ok {
		return l.v, nil
	}
	rec, err := u.tx.GetRun(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, engine.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return u.adopt(rec)
}

// adopt registers a run record read by a query.
func (u *unit) adopt(rec *store.Run) (*engine.Run, error) {
	if l, ok := u.runs[rec.ID]; ok {
		return l.v, nil
	}
	r := u.cache.take(rec.ID, rec.Body)
	if r != nil {
		dropAcked(r, rec.AckedSeq)
	} else {
		var err error
		if r, err = decodeRun(rec); err != nil {
			return nil, err
		}
	}
	u.runs[rec.ID] = &loaded[engine.Run]{v: r, orig: rec.Body, acked: rec.AckedSeq, seq: r.OutboxSeq}
	u.order = append(u.order, rec.ID)
	return r, nil
}

// add registers a new run.
func (u *unit) add(r *engine.Run) {
	u.runs[r.ID] = &loaded[engine.Run]{v: r}
	u.order = append(u.order, r.ID)
}

// loadDoc decodes a document read with err; a missing one starts as the
// zero value (and is written only if it changes).
func loadDoc[T any](body []byte, err error, what string) (*loaded[T], error) {
	l := &loaded[T]{v: new(T)}
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(body, l.v); err != nil {
			return nil, fmt.Errorf("decode %s: %w", what, err)
		}
		l.orig = body
	}
	return l, nil
}

// Lane implements engine.World.
func (u *unit) Lane(k engine.LaneKey) (*engine.Lane, error) {
	if l, ok := u.lanes[k]; ok {
		return l.v, nil
	}
	rec, err := u.tx.GetLane(store.LaneKey(k))
	var body []byte
	if rec != nil {
		body = rec.Body
	}
	l, err := loadDoc[engine.Lane](body, err, fmt.Sprintf("lane %v", k))
	if err != nil {
		return nil, err
	}
	u.lanes[k] = l
	return l.v, nil
}

func (u *unit) control(project, kctx string) (*engine.ContextControl, error) {
	k := [2]string{project, kctx}
	if l, ok := u.ctxs[k]; ok {
		return l.v, nil
	}
	rec, err := u.tx.GetContext(project, kctx)
	var body []byte
	if rec != nil {
		body = rec.Body
	}
	l, err := loadDoc[engine.ContextControl](body, err, "context "+kctx)
	if err != nil {
		return nil, err
	}
	u.ctxs[k] = l
	return l.v, nil
}

// emission is a run whose transition added outbox entries: those after seq.
type emission struct {
	run *engine.Run
	seq int64 // entries up to seq were there before this transition
}

// flush writes changed documents and returns the runs whose transition
// added outbox entries: those the caller publishes.
func (u *unit) flush() ([]emission, error) {
	var emitted []emission
	for _, id := range u.order {
		l := u.runs[id]
		body, err := json.Marshal(l.v)
		if err != nil {
			return nil, fmt.Errorf("encode run %s: %w", id, err)
		}
		if l.orig != nil && bytes.Equal(body, l.orig) {
			l.body = l.orig
			continue
		}
		l.body = body
		if err := u.tx.PutRun(record(u.eng, l.v, body, l.acked)); err != nil {
			return nil, err
		}
		if l.v.OutboxSeq > l.seq {
			emitted = append(emitted, emission{run: l.v, seq: l.seq})
		}
	}
	for k, l := range u.lanes {
		body, err := json.Marshal(l.v)
		if err != nil {
			return nil, fmt.Errorf("encode lane %v: %w", k, err)
		}
		if l.orig != nil && bytes.Equal(body, l.orig) {
			continue
		}
		if l.v.Empty() {
			if l.orig != nil {
				if err := u.tx.DeleteLane(store.LaneKey(k)); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err := u.tx.PutLane(&store.Lane{Key: store.LaneKey(k), Body: body}); err != nil {
			return nil, err
		}
	}
	for k, l := range u.ctxs {
		body, err := json.Marshal(l.v)
		if err != nil {
			return nil, fmt.Errorf("encode context %s: %w", k[1], err)
		}
		if l.orig != nil && bytes.Equal(body, l.orig) {
			continue
		}
		if err := u.tx.PutContext(&store.Context{Project: k[0], KeptnContext: k[1], Body: body}); err != nil {
			return nil, err
		}
	}
	return emitted, nil
}

// keep returns the flushed runs with their documents, for the run cache
// (see Service.finish).
func (u *unit) keep() []cachedRun {
	out := make([]cachedRun, 0, len(u.order))
	for _, id := range u.order {
		if l := u.runs[id]; l.body != nil {
			out = append(out, cachedRun{body: l.body, run: l.v})
		}
	}
	return out
}

// record derives a run's store record: the index fields queries use.
func record(eng *engine.Engine, r *engine.Run, body []byte, acked int64) *store.Run {
	rec := &store.Run{ID: r.ID, Project: r.Scope.Project, Stage: r.Scope.Stage, Service: r.Scope.Service,
		Sequence: r.Sequence.Name, KeptnContext: r.Scope.KeptnContext, State: string(r.Status.State),
		TriggeredAt: r.TriggeredAt, Due: eng.Due(r), AckedSeq: acked, Body: body}
	if ct := r.OpenTask(); ct != nil {
		rec.TaskTriggeredID = ct.TriggeredID
		rec.OpenType = keptn.TaskType(ct.Name, keptn.KindTriggered)
		rec.OpenSince = ct.SentAt
	}
	if !rec.Due.IsZero() {
		rec.Due = rec.Due.Truncate(time.Millisecond)
	}
	return rec
}
