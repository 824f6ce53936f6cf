package storetest

// Transactions: Update commits or aborts atomically, sees its own writes, and concurrent updates lose nothing.

import (
	"bytes"
	"strconv"
	"sync"
	"testing"

	"github.com/slipwayhq/slipway/shared/store"
)

func testUpdate(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("commits all writes", func(t *testing.T) {
		s := newStore(t)
		r := &store.Run{ID: "r1", Project: "p", Stage: "dev", Service: "carts", Sequence: "delivery",
			KeptnContext: "ctx", State: "started", TriggeredAt: at(1), TaskTriggeredID: "tt1",
			OpenType: "sh.keptn.event.deployment.triggered", OpenSince: at(2), Due: at(3), Body: []byte(`{"a":1}`)}
		lane := &store.Lane{Key: store.LaneKey{Project: "p", Stage: "dev", Service: "carts"}, Body: []byte(`["r1"]`)}
		c := &store.Context{Project: "p", KeptnContext: "ctx", Body: []byte(`{"paused":true}`)}
		must(t, "update", s.Update(t.Context(), func(tx store.Tx) error {
			if err := tx.PutRun(r); err != nil {
				return err
			}
			if err := tx.PutLane(lane); err != nil {
				return err
			}
			return tx.PutContext(c)
		}))
		got, err := s.GetRun(t.Context(), "r1")
		must(t, "get run", err)
		checkRun(t, "GetRun", got, r)
		must(t, "view", s.Update(t.Context(), func(tx store.Tx) error {
			gl, err := tx.GetLane(lane.Key)
			if err != nil {
				return err
			}
			if gl.Key != lane.Key || !bytes.Equal(gl.Body, lane.Body) {
				t.Errorf("GetLane = %+v, want %+v", gl, lane)
			}
			gc, err := tx.GetContext("p", "ctx")
			if err != nil {
				return err
			}
			if gc.Project != "p" || gc.KeptnContext != "ctx" || !bytes.Equal(gc.Body, c.Body) {
				t.Errorf("GetContext = %+v, want %+v", gc, c)
			}
			gr, err := tx.GetRun("r1")
			if err != nil {
				return err
			}
			checkRun(t, "tx.GetRun", gr, r)
			return nil
		}))
	})

	t.Run("fn error writes nothing", func(t *testing.T) {
		s := newStore(t)
		a := &store.Run{ID: "a", Project: "p", KeptnContext: "ctx", TriggeredAt: at(1), TaskTriggeredID: "ta", Body: []byte("1")}
		lane := &store.Lane{Key: store.LaneKey{Project: "p", Stage: "dev", Service: "carts"}, Body: []byte("lane")}
		must(t, "seed", s.Update(t.Context(), func(tx store.Tx) error {
			if err := tx.PutRun(a); err != nil {
				return err
			}
			return tx.PutLane(lane)
		}))
		err := s.Update(t.Context(), func(tx store.Tx) error {
			changed := *a
			changed.Body, changed.TaskTriggeredID = []byte("2"), "tb"
			if err := tx.PutRun(&changed); err != nil {
				return err
			}
			if err := tx.PutRun(&store.Run{ID: "b", Project: "p", TriggeredAt: at(2), TaskTriggeredID: "tc"}); err != nil {
				return err
			}
			if err := tx.PutContext(&store.Context{Project: "p", KeptnContext: "ctx", Body: []byte("x")}); err != nil {
				return err
			}
			if err := tx.DeleteLane(lane.Key); err != nil {
				return err
			}
			return errBoom
		})
		if err != errBoom { //nolint:errorlint // the contract says "returned unchanged"
			t.Fatalf("Update = %v, want errBoom unchanged", err)
		}
		got, err := s.GetRun(t.Context(), "a")
		must(t, "get a", err)
		checkRun(t, "a after abort", got, a)
		_, err = s.GetRun(t.Context(), "b")
		wantNotFound(t, "GetRun(b) after abort", err)
		must(t, "check", s.Update(t.Context(), func(tx store.Tx) error {
			if _, err := tx.GetLane(lane.Key); err != nil {
				t.Errorf("lane after abort: %v", err)
			}
			_, err := tx.GetContext("p", "ctx")
			wantNotFound(t, "context after abort", err)
			r, err := tx.RunByTask("p", "ta")
			if err != nil || r.ID != "a" {
				t.Errorf("RunByTask(ta) after abort = %v, %v", r, err)
			}
			_, err = tx.RunByTask("p", "tb")
			wantNotFound(t, "RunByTask(tb) after abort", err)
			return nil
		}))
	})

	t.Run("reads see the transaction's writes", func(t *testing.T) {
		s := newStore(t)
		old := &store.Run{ID: "old", Project: "p", KeptnContext: "ctx", TriggeredAt: at(5), TaskTriggeredID: "t-old", Body: []byte("old")}
		putRuns(t, s, old)
		key := store.LaneKey{Project: "p", Stage: "dev", Service: "carts"}
		must(t, "update", s.Update(t.Context(), func(tx store.Tx) error {
			r := &store.Run{ID: "new", Project: "p", KeptnContext: "ctx", TriggeredAt: at(1), TaskTriggeredID: "t1", Body: []byte("v1")}
			must(t, "put new", tx.PutRun(r))
			got, err := tx.GetRun("new")
			must(t, "get new", err)
			checkRun(t, "GetRun after PutRun", got, r)
			got, err = tx.RunByTask("p", "t1")
			must(t, "RunByTask(t1)", err)
			checkRun(t, "RunByTask after PutRun", got, r)
			all, err := tx.RunsByContext("p", "ctx")
			must(t, "RunsByContext", err)
			checkIDs(t, "RunsByContext after PutRun", runIDs(all), []string{"new", "old"})

			// Moving the task id: the old id no longer finds the run.
			r2 := *r
			r2.TaskTriggeredID, r2.Body = "t2", []byte("v2")
			must(t, "put new again", tx.PutRun(&r2))
			_, err = tx.RunByTask("p", "t1")
			wantNotFound(t, "RunByTask(t1) after moving the task", err)
			got, err = tx.RunByTask("p", "t2")
			must(t, "RunByTask(t2)", err)
			checkRun(t, "RunByTask(t2)", got, &r2)

			// The same for a run that was committed before this transaction.
			o2 := *old
			o2.TaskTriggeredID, o2.KeptnContext, o2.Body = "t-old2", "other", []byte("old2")
			must(t, "put old", tx.PutRun(&o2))
			_, err = tx.RunByTask("p", "t-old")
			wantNotFound(t, "RunByTask(t-old) after moving the task", err)
			got, err = tx.RunByTask("p", "t-old2")
			must(t, "RunByTask(t-old2)", err)
			checkRun(t, "RunByTask(t-old2)", got, &o2)
			all, err = tx.RunsByContext("p", "ctx")
			must(t, "RunsByContext", err)
			checkIDs(t, "RunsByContext after moving old", runIDs(all), []string{"new"})
			checkRun(t, "RunsByContext returns the written value", all[0], &r2)
			all, err = tx.RunsByContext("p", "other")
			must(t, "RunsByContext(other)", err)
			checkIDs(t, "RunsByContext(other)", runIDs(all), []string{"old"})

			l := &store.Lane{Key: key, Body: []byte("lane")}
			must(t, "put lane", tx.PutLane(l))
			gl, err := tx.GetLane(key)
			must(t, "get lane", err)
			if !bytes.Equal(gl.Body, l.Body) {
				t.Errorf("GetLane after PutLane = %q", gl.Body)
			}
			must(t, "delete lane", tx.DeleteLane(key))
			_, err = tx.GetLane(key)
			wantNotFound(t, "GetLane after DeleteLane", err)
			must(t, "put lane again", tx.PutLane(&store.Lane{Key: key, Body: []byte("lane2")}))

			c := &store.Context{Project: "p", KeptnContext: "ctx", Body: []byte("c1")}
			must(t, "put context", tx.PutContext(c))
			gc, err := tx.GetContext("p", "ctx")
			must(t, "get context", err)
			if !bytes.Equal(gc.Body, c.Body) {
				t.Errorf("GetContext after PutContext = %q", gc.Body)
			}
			return nil
		}))
		must(t, "check", s.Update(t.Context(), func(tx store.Tx) error {
			gl, err := tx.GetLane(key)
			if err != nil || string(gl.Body) != "lane2" {
				t.Errorf("lane after commit = %v, %v; want lane2", gl, err)
			}
			r, err := tx.RunByTask("p", "t-old2")
			if err != nil || r.ID != "old" {
				t.Errorf("RunByTask(t-old2) after commit = %v, %v", r, err)
			}
			return nil
		}))
	})

	t.Run("records are copies", func(t *testing.T) {
		s := newStore(t)
		r := &store.Run{ID: "r", Project: "p", TriggeredAt: at(1), Body: []byte("abc")}
		must(t, "update", s.Update(t.Context(), func(tx store.Tx) error {
			if err := tx.PutRun(r); err != nil {
				return err
			}
			r.Body[0] = 'X' // the caller reuses its buffer after PutRun
			got, err := tx.GetRun("r")
			if err != nil {
				return err
			}
			if string(got.Body) != "abc" {
				t.Errorf("GetRun after the caller changed its record = %q, want abc", got.Body)
			}
			got.Body[0] = 'Y' // and scribbles over what it read
			return nil
		}))
		got, err := s.GetRun(t.Context(), "r")
		must(t, "get", err)
		if string(got.Body) != "abc" {
			t.Errorf("stored body = %q, want abc", got.Body)
		}
	})

	t.Run("not found", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetRun(t.Context(), "missing")
		wantNotFound(t, "GetRun", err)
		must(t, "update", s.Update(t.Context(), func(tx store.Tx) error {
			_, err := tx.GetRun("missing")
			wantNotFound(t, "tx.GetRun", err)
			_, err = tx.RunByTask("p", "missing")
			wantNotFound(t, "tx.RunByTask", err)
			_, err = tx.RunByTask("p", "")
			wantNotFound(t, "tx.RunByTask with empty id", err)
			_, err = tx.GetLane(store.LaneKey{Project: "p", Stage: "s", Service: "x"})
			wantNotFound(t, "tx.GetLane", err)
			_, err = tx.GetContext("p", "missing")
			wantNotFound(t, "tx.GetContext", err)
			_, err = tx.GetProject("missing")
			wantNotFound(t, "tx.GetProject", err)
			runs, err := tx.RunsByContext("p", "missing")
			if err != nil || len(runs) != 0 {
				t.Errorf("tx.RunsByContext(missing) = %v, %v; want empty, nil", runs, err)
			}
			// Deleting a missing lane is allowed.
			if err := tx.DeleteLane(store.LaneKey{Project: "p", Stage: "s", Service: "x"}); err != nil {
				t.Errorf("DeleteLane(missing) = %v, want nil", err)
			}
			return nil
		}))
	})

	t.Run("fn sees not found and can return it", func(t *testing.T) {
		s := newStore(t)
		err := s.Update(t.Context(), func(tx store.Tx) error {
			_, err := tx.GetRun("missing")
			return err
		})
		wantNotFound(t, "Update returning tx.GetRun's error", err)
	})
}

func testConcurrency(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("no lost updates", func(t *testing.T) {
		s := newStore(t)
		putRuns(t, s, &store.Run{ID: "counter", Project: "p", TriggeredAt: at(0), TaskTriggeredID: "tt", Body: []byte("0")})
		const workers, each = 20, 2
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					errs <- s.Update(t.Context(), func(tx store.Tx) error {
						r, err := tx.RunByTask("p", "tt")
						if err != nil {
							return err
						}
						r.Body = []byte(strconv.Itoa(counter(r.Body) + 1))
						return tx.PutRun(r)
					})
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("concurrent Update: %v", err)
			}
		}
		got, err := s.GetRun(t.Context(), "counter")
		must(t, "get", err)
		if n := counter(got.Body); n != workers*each {
			t.Errorf("counter = %d, want %d", n, workers*each)
		}
	})

	t.Run("UpdateProject no lost updates", func(t *testing.T) {
		s := newStore(t)
		must(t, "create", s.CreateProject(t.Context(), &store.Project{Name: "p", CreatedAt: at(0), Body: []byte("0")}))
		const workers, each = 10, 2
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					errs <- s.UpdateProject(t.Context(), "p", func(p *store.Project) error {
						p.Body = []byte(strconv.Itoa(counter(p.Body) + 1))
						return nil
					})
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("concurrent UpdateProject: %v", err)
			}
		}
		p, err := s.GetProject(t.Context(), "p")
		must(t, "get", err)
		if n := counter(p.Body); n != workers*each {
			t.Errorf("counter = %d, want %d", n, workers*each)
		}
	})
}
