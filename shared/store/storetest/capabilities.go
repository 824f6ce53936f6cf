package storetest

import (
	"testing"

	"github.com/slipwayhq/slipway/shared/store"
)

// testCapabilities checks each capability through Store.Capabilities:
// the driver's own where its flag says it declares one, else the portable
// one the layer fills in, which must behave alike; PurgeHistory and Stats
// have no portable stand-in and must stay nil without their flag.
func testCapabilities(t *testing.T, h Harness) {
	newStore := h.newStore
	t.Run("HasProject", func(t *testing.T) {
		s := newStore(t)
		c := s.Capabilities()
		ctx := t.Context()
		if ok, err := c.HasProject(ctx, "p"); err != nil || ok {
			t.Fatalf("HasProject of a missing project = %v, %v", ok, err)
		}
		if err := s.CreateProject(ctx, &store.Project{Name: "p", CreatedAt: t0, Body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		if ok, err := c.HasProject(ctx, "p"); err != nil || !ok {
			t.Fatalf("HasProject of a project = %v, %v (declared: %v)", ok, err, h.Flags.HasProject)
		}
	})
	t.Run("AppendEventLazy", func(t *testing.T) {
		s := newStore(t)
		c := s.Capabilities()
		ctx := t.Context()
		e := &store.Event{ID: "e1", Project: "p", KeptnContext: "k", Type: "sh.keptn.event.a.triggered", Time: t0, Body: []byte(`{}`)}
		for range 2 { // the second keeps the first
			if err := c.AppendEventLazy(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		evs, _, err := s.ListEvents(ctx, store.EventQuery{Project: "p", KeptnContext: "k"}, store.Page{})
		if err != nil || len(evs) != 1 {
			t.Fatalf("after a lazy append: %d events, %v (declared: %v)", len(evs), err, h.Flags.AppendEventLazy)
		}
	})
	t.Run("AckOutboxLazy", func(t *testing.T) {
		s := newStore(t)
		c := s.Capabilities()
		ctx := t.Context()
		putRuns(t, s, &store.Run{ID: "r1", Project: "p", TriggeredAt: t0, Body: []byte(`{}`)})
		if err := c.AckOutboxLazy(ctx, "r1", 3); err != nil {
			t.Fatal(err)
		}
		if err := c.AckOutboxLazy(ctx, "missing", 3); err != nil {
			t.Fatalf("lazy ack of a missing run: %v", err)
		}
		r, err := s.GetRun(ctx, "r1")
		if err != nil || r.AckedSeq != 3 {
			t.Fatalf("after a lazy ack: %+v, %v (declared: %v)", r, err, h.Flags.AckOutboxLazy)
		}
	})
	t.Run("Health", func(t *testing.T) {
		s := newStore(t)
		if err := s.Capabilities().Health(t.Context()); err != nil {
			t.Fatalf("health of a new store: %v", err)
		}
	})
	t.Run("PurgeHistory", func(t *testing.T) {
		s := newStore(t)
		purge := s.Capabilities().PurgeHistory
		if !h.Flags.PurgeHistory {
			// Not declared: the layers above must see that, not a portable
			// stand-in (there is none: deletion is the driver's business).
			if purge != nil {
				t.Fatal("the store has a PurgeHistory its driver does not declare")
			}
			return
		}
		ctx := t.Context()
		putRuns(t, s, &store.Run{ID: "r-open", Project: "p", KeptnContext: "open", State: "started", TriggeredAt: t0},
			&store.Run{ID: "r-done", Project: "p", KeptnContext: "done", State: "finished", TriggeredAt: t0})
		for _, kc := range []string{"open", "done"} {
			e := &store.Event{ID: "e-" + kc, Project: "p", KeptnContext: kc, Type: "sh.keptn.event.a.triggered", Time: t0, Body: []byte(`{}`)}
			if err := s.AppendEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		n, err := purge(ctx, store.HistoryPurge{Before: at(1), Unfinished: func(st string) bool { return st == "started" }})
		if err != nil || n != 1 {
			t.Fatalf("purge = %d, %v; want 1 (the finished context's event)", n, err)
		}
		evs, _, err := s.ListEvents(ctx, store.EventQuery{Project: "p"}, store.Page{})
		if err != nil || len(evs) != 1 || evs[0].KeptnContext != "open" {
			t.Fatalf("left after purge: %+v, %v", evs, err)
		}
	})
	t.Run("Stats", func(t *testing.T) {
		s := newStore(t)
		stats := s.Capabilities().Stats
		if !h.Flags.Stats {
			if stats != nil {
				t.Fatal("the store has Stats its driver does not declare")
			}
			return
		}
		r0, w0 := stats()
		putRuns(t, s, &store.Run{ID: "r1", Project: "p", TriggeredAt: t0, Body: []byte(`{}`)})
		if _, err := s.GetRun(t.Context(), "r1"); err != nil {
			t.Fatal(err)
		}
		if r1, w1 := stats(); r1 <= r0 || w1 <= w0 {
			t.Fatalf("stats after a write and a read: reads %d->%d, writes %d->%d", r0, r1, w0, w1)
		}
	})
}
