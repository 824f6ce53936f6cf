package storetest

// Projects and deleting a project with everything under it.

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/slipwayhq/slipway/shared/store"
)

func testProjects(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("create get update", func(t *testing.T) {
		s := newStore(t)
		p := &store.Project{Name: "sockshop", CreatedAt: at(1), Body: []byte(`{"v":1}`)}
		must(t, "create", s.CreateProject(t.Context(), p))
		err := s.CreateProject(t.Context(), &store.Project{Name: "sockshop", CreatedAt: at(2), Body: []byte("other")})
		if !errors.Is(err, store.ErrAlreadyExists) {
			t.Errorf("second CreateProject = %v, want ErrAlreadyExists", err)
		}
		got, err := s.GetProject(t.Context(), "sockshop")
		must(t, "get", err)
		if got.Name != p.Name || !got.CreatedAt.Equal(p.CreatedAt) || !bytes.Equal(got.Body, p.Body) {
			t.Errorf("GetProject = %+v, want %+v", got, p)
		}
		_, err = s.GetProject(t.Context(), "missing")
		wantNotFound(t, "GetProject(missing)", err)
		must(t, "tx get", s.Update(t.Context(), func(tx store.Tx) error {
			got, err := tx.GetProject("sockshop")
			if err != nil {
				return err
			}
			if !bytes.Equal(got.Body, p.Body) {
				t.Errorf("tx.GetProject body = %q", got.Body)
			}
			return nil
		}))

		must(t, "update", s.UpdateProject(t.Context(), "sockshop", func(p *store.Project) error {
			p.Body = []byte(`{"v":2}`)
			return nil
		}))
		got, err = s.GetProject(t.Context(), "sockshop")
		must(t, "get", err)
		if string(got.Body) != `{"v":2}` || !got.CreatedAt.Equal(at(1)) {
			t.Errorf("after UpdateProject = %+v", got)
		}

		err = s.UpdateProject(t.Context(), "sockshop", func(p *store.Project) error {
			p.Body = []byte(`{"v":3}`)
			return errBoom
		})
		if err != errBoom { //nolint:errorlint // returned unchanged
			t.Errorf("UpdateProject with a failing fn = %v, want errBoom", err)
		}
		got, err = s.GetProject(t.Context(), "sockshop")
		must(t, "get", err)
		if string(got.Body) != `{"v":2}` {
			t.Errorf("after failed UpdateProject body = %q, want v2", got.Body)
		}

		called := false
		err = s.UpdateProject(t.Context(), "missing", func(*store.Project) error { called = true; return nil })
		wantNotFound(t, "UpdateProject(missing)", err)
		if called {
			t.Errorf("UpdateProject(missing) called fn")
		}
	})

	t.Run("list", func(t *testing.T) {
		s := newStore(t)
		names := []string{"delta", "alpha", "echo", "charlie", "bravo"}
		for i, n := range names {
			must(t, "create "+n, s.CreateProject(t.Context(), &store.Project{Name: n, CreatedAt: at(i), Body: []byte(n)}))
		}
		want := slices.Sorted(slices.Values(names))
		for _, size := range pageSizes {
			got := collect(t, size, func(p store.Page) ([]*store.Project, string, error) {
				return s.ListProjects(t.Context(), p)
			})
			var gotNames []string
			for _, p := range got {
				gotNames = append(gotNames, p.Name)
				if string(p.Body) != p.Name {
					t.Errorf("listed project %s has body %q", p.Name, p.Body)
				}
			}
			checkIDs(t, fmt.Sprintf("ListProjects size %d", size), gotNames, want)
		}
	})
}

func testDeleteProject(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ctx := t.Context()
	for _, p := range []string{"doomed", "kept"} {
		must(t, "create", s.CreateProject(ctx, &store.Project{Name: p, CreatedAt: at(0)}))
		putRuns(t, s, &store.Run{ID: p + "-run", Project: p, Stage: "dev", Service: "carts", KeptnContext: "ctx",
			TriggeredAt: at(1), TaskTriggeredID: p + "-task", OpenType: "sh.keptn.event.deployment.triggered",
			OpenSince: at(1), Due: at(1)})
		must(t, "lane+context", s.Update(ctx, func(tx store.Tx) error {
			if err := tx.PutLane(&store.Lane{Key: store.LaneKey{Project: p, Stage: "dev", Service: "carts"}}); err != nil {
				return err
			}
			return tx.PutContext(&store.Context{Project: p, KeptnContext: "ctx"})
		}))
		must(t, "event", s.AppendEvent(ctx, &store.Event{ID: p + "-event", Project: p, KeptnContext: "ctx", Time: at(1)}))
		for _, r := range []store.Resource{
			{Project: p, URI: "shipyard.yaml"},
			{Project: p, Stage: "dev", URI: "x"},
			{Project: p, Stage: "dev", Service: "carts", URI: "y"},
		} {
			must(t, "resource", s.PutResource(ctx, &r))
		}
	}
	must(t, "event without project", s.AppendEvent(ctx, &store.Event{ID: "no-project", KeptnContext: "ctx", Time: at(1)}))

	must(t, "delete", s.DeleteProject(ctx, "doomed"))
	wantNotFound(t, "DeleteProject again", s.DeleteProject(ctx, "doomed"))
	wantNotFound(t, "DeleteProject(never)", s.DeleteProject(ctx, "never-existed"))

	for _, tc := range []struct {
		p       string
		present bool
	}{{"doomed", false}, {"kept", true}} {
		p := tc.p
		check := func(what string, err error) {
			t.Helper()
			if tc.present && err != nil {
				t.Errorf("%s of %s: %v", what, p, err)
			}
			if !tc.present {
				wantNotFound(t, what+" of "+p, err)
			}
		}
		checkLen := func(what string, n int) {
			t.Helper()
			if want := map[bool]int{true: 1, false: 0}[tc.present]; n != want {
				t.Errorf("%s of %s: %d items, want %d", what, p, n, want)
			}
		}
		_, err := s.GetProject(ctx, p)
		check("GetProject", err)
		_, err = s.GetRun(ctx, p+"-run")
		check("GetRun", err)
		runs, _, err := s.ListRuns(ctx, store.RunQuery{Project: p}, store.Page{})
		must(t, "ListRuns", err)
		checkLen("ListRuns", len(runs))
		open, _, err := s.ListOpen(ctx, store.OpenQuery{Type: "sh.keptn.event.deployment.triggered", Project: p}, store.Page{})
		must(t, "ListOpen", err)
		checkLen("ListOpen", len(open))
		must(t, "tx", s.Update(ctx, func(tx store.Tx) error {
			_, err := tx.RunByTask(p, p+"-task")
			check("RunByTask", err)
			byCtx, err := tx.RunsByContext(p, "ctx")
			must(t, "RunsByContext", err)
			checkLen("RunsByContext", len(byCtx))
			_, err = tx.GetLane(store.LaneKey{Project: p, Stage: "dev", Service: "carts"})
			check("GetLane", err)
			_, err = tx.GetContext(p, "ctx")
			check("GetContext", err)
			return nil
		}))
		events, _, err := s.ListEvents(ctx, store.EventQuery{Project: p}, store.Page{})
		must(t, "ListEvents", err)
		checkLen("ListEvents", len(events))
		for _, lvl := range [][2]string{{"", ""}, {"dev", ""}, {"dev", "carts"}} {
			res, _, err := s.ListResources(ctx, p, lvl[0], lvl[1], store.Page{})
			must(t, "ListResources", err)
			checkLen(fmt.Sprintf("ListResources%q", lvl), len(res))
		}
		_, err = s.GetResource(ctx, p, "", "", "shipyard.yaml")
		check("GetResource", err)
	}
	due, err := s.DueRuns(ctx, at(5), 0)
	must(t, "DueRuns", err)
	checkIDs(t, "DueRuns after delete", due, []string{"kept-run"})
	events, _, err := s.ListEvents(ctx, store.EventQuery{KeptnContext: "ctx"}, store.Page{})
	must(t, "ListEvents", err)
	var ids []string
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	checkIDs(t, "events after delete", ids, []string{"no-project", "kept-event"})

	// The name is free again.
	must(t, "re-create", s.CreateProject(ctx, &store.Project{Name: "doomed", CreatedAt: at(9)}))
}
