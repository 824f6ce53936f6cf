package storetest

import (
	"testing"

	"github.com/slipwayhq/slipway/shared/store"
)

// testCapabilities checks the capabilities a driver declares (each only when
// the driver declares it, the flags below) and the portable ones
// store.CapabilitiesOf fills in for the others, which must behave alike.
func testCapabilities(t *testing.T, newStore func(t *testing.T) store.Store) {
	declared := func(s store.Store) store.Capabilities {
		if c, ok := s.(store.Capable); ok {
			return c.Capabilities()
		}
		return store.Capabilities{}
	}
	t.Run("HasProject", func(t *testing.T) {
		s := newStore(t)
		c := store.CapabilitiesOf(s)
		ctx := t.Context()
		if ok, err := c.HasProject(ctx, "p"); err != nil || ok {
			t.Fatalf("HasProject of a missing project = %v, %v", ok, err)
		}
		if err := s.CreateProject(ctx, &store.Project{Name: "p", CreatedAt: t0, Body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		if ok, err := c.HasProject(ctx, "p"); err != nil || !ok {
			t.Fatalf("HasProject of a project = %v, %v (declared: %v)", ok, err, declared(s).HasProject != nil)
		}
	})
	t.Run("AppendEventLazy", func(t *testing.T) {
		s := newStore(t)
		c := store.CapabilitiesOf(s)
		ctx := t.Context()
		e := &store.Event{ID: "e1", Project: "p", KeptnContext: "k", Type: "sh.keptn.event.a.triggered", Time: t0, Body: []byte(`{}`)}
		for range 2 { // the second keeps the first
			if err := c.AppendEventLazy(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		evs, _, err := s.ListEvents(ctx, store.EventQuery{Project: "p", KeptnContext: "k"}, store.Page{})
		if err != nil || len(evs) != 1 {
			t.Fatalf("after a lazy append: %d events, %v (declared: %v)", len(evs), err, declared(s).AppendEventLazy != nil)
		}
	})
	t.Run("AckOutboxLazy", func(t *testing.T) {
		s := newStore(t)
		c := store.CapabilitiesOf(s)
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
			t.Fatalf("after a lazy ack: %+v, %v (declared: %v)", r, err, declared(s).AckOutboxLazy != nil)
		}
	})
	t.Run("Health", func(t *testing.T) {
		s := newStore(t)
		if err := store.CapabilitiesOf(s).Health(t.Context()); err != nil {
			t.Fatalf("health of a new store: %v", err)
		}
	})
	t.Run("PurgeHistory", func(t *testing.T) {
		s := newStore(t)
		purge := declared(s).PurgeHistory
		if purge == nil {
			// Not declared: the layers above must see that, not a portable
			// stand-in (there is none: deletion is the driver's business).
			if store.CapabilitiesOf(s).PurgeHistory != nil {
				t.Fatal("CapabilitiesOf invented a PurgeHistory")
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
}
