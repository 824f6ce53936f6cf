// Package storetest is the conformance suite for store drivers, in the style of
// go-cloud's docstore/drivertest: every driver's tests call Run with a
// constructor, so all drivers are held to one executable definition of the
// store.Store contract. Behaviour the contract leaves open is pinned here:
//
//   - Page.Size 0 (and DueRuns limit 0) means no limit; a page whose NextToken is
//     non-empty is full, and the last page's NextToken is "".
//   - Tx.DeleteLane of a missing lane is not an error (the engine deletes lanes
//     it no longer needs without checking first).
//   - DeleteProject and DeleteResource of something missing return ErrNotFound.
//   - Empty listings are empty slices with a nil error, never ErrNotFound.
//   - Sort ties are broken by ID (or event ID) in the listing's direction.
//   - Times round-trip at microsecond precision (Firestore's), in UTC.
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
)

// Run runs the conformance suite. newStore must return an empty store for the
// calling (sub)test and arrange its cleanup (Close) with t.Cleanup; the suite
// never closes stores itself.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	groups := []struct {
		name string
		fn   func(t *testing.T, newStore func(t *testing.T) store.Store)
	}{
		{"Update", testUpdate},
		{"Concurrency", testConcurrency},
		{"RunLookups", testRunLookups},
		{"LanesAndContexts", testLanesAndContexts},
		{"ListRuns", testListRuns},
		{"DueRuns", testDueRuns},
		{"AckOutbox", testAckOutbox},
		{"ListOpen", testListOpen},
		{"Projects", testProjects},
		{"DeleteProject", testDeleteProject},
		{"Events", testEvents},
		{"Resources", testResources},
		{"TooLarge", testTooLarge},
		{"Capabilities", testCapabilities},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.fn(t, newStore) })
	}
}

// errBoom is returned by transaction functions that must abort.
var errBoom = errors.New("storetest: boom")

// t0 has microsecond precision on purpose: that is what Firestore stores.
var t0 = time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// putRuns stores runs in one transaction.
func putRuns(t *testing.T, s store.Store, runs ...*store.Run) {
	t.Helper()
	err := s.Update(t.Context(), func(tx store.Tx) error {
		for _, r := range runs {
			if err := tx.PutRun(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("put runs: %v", err)
	}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: err = %v, want ErrNotFound", what, err)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// normalize makes records comparable with reflect.DeepEqual: drivers may return
// times in any location and a nil or empty Body for an empty one.
func normTime(t time.Time) time.Time { return t.Round(0).UTC() }

func normBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func normRun(r *store.Run) store.Run {
	c := *r
	c.TriggeredAt, c.OpenSince, c.Due = normTime(c.TriggeredAt), normTime(c.OpenSince), normTime(c.Due)
	c.Body = normBytes(c.Body)
	return c
}

func checkRun(t *testing.T, what string, got, want *store.Run) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got nil run, want %s", what, want.ID)
		return
	}
	if g, w := normRun(got), normRun(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, showRun(g), showRun(w))
	}
}

func showRun(r store.Run) string {
	body := string(r.Body)
	if len(body) > 64 {
		body = fmt.Sprintf("%d bytes", len(body))
	}
	r.Body = nil
	return fmt.Sprintf("%+v body=%q", r, body)
}

func runIDs(runs []*store.Run) []string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	return ids
}

func checkIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// collect pages through a listing with the given page size and checks the
// paging rules: pages are never larger than Size, a page with a NextToken is
// full, and there is no trailing empty page.
func collect[T any](t *testing.T, size int, list func(p store.Page) ([]T, string, error)) []T {
	t.Helper()
	var all []T
	token := ""
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatalf("pagination with size %d does not terminate", size)
		}
		got, next, err := list(store.Page{Size: size, Token: token})
		if err != nil {
			t.Fatalf("page %d (size %d): %v", page, size, err)
		}
		if size > 0 && len(got) > size {
			t.Fatalf("page %d has %d items, size %d", page, len(got), size)
		}
		if next != "" && len(got) != size {
			t.Fatalf("page %d has %d items and a next token, size %d", page, len(got), size)
		}
		if len(got) == 0 && page > 0 {
			t.Fatalf("page %d is empty: the previous page should have had no next token", page)
		}
		all = append(all, got...)
		if next == "" {
			return all
		}
		token = next
	}
}

// pageSizes are the sizes every listing is checked with; 0 means no limit.
var pageSizes = []int{0, 1, 2, 3, 100}

func counter(b []byte) int {
	n, _ := strconv.Atoi(string(b))
	return n
}

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

func testRunLookups(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	runs := []*store.Run{
		{ID: "c3", Project: "p1", KeptnContext: "ctx", TriggeredAt: at(3), TaskTriggeredID: "t3"},
		{ID: "c1", Project: "p1", KeptnContext: "ctx", TriggeredAt: at(1), TaskTriggeredID: "t1"},
		{ID: "c2b", Project: "p1", KeptnContext: "ctx", TriggeredAt: at(2)},
		{ID: "c2a", Project: "p1", KeptnContext: "ctx", TriggeredAt: at(2)},
		{ID: "other-ctx", Project: "p1", KeptnContext: "ctx2", TriggeredAt: at(0), TaskTriggeredID: "t4"},
		{ID: "other-project", Project: "p2", KeptnContext: "ctx", TriggeredAt: at(0), TaskTriggeredID: "t5"},
	}
	putRuns(t, s, runs...)
	byID := map[string]*store.Run{}
	for _, r := range runs {
		byID[r.ID] = r
	}
	must(t, "update", s.Update(t.Context(), func(tx store.Tx) error {
		tests := map[string]struct {
			project, task string
			want          string // "" = not found
		}{
			"found":                 {"p1", "t1", "c1"},
			"found other":           {"p1", "t4", "other-ctx"},
			"other project's task":  {"p1", "t5", ""},
			"scoped to the project": {"p2", "t1", ""},
			"unknown":               {"p1", "nope", ""},
		}
		for name, tc := range tests {
			got, err := tx.RunByTask(tc.project, tc.task)
			if tc.want == "" {
				wantNotFound(t, "RunByTask "+name, err)
				continue
			}
			if err != nil {
				t.Errorf("RunByTask %s: %v", name, err)
				continue
			}
			checkRun(t, "RunByTask "+name, got, byID[tc.want])
		}
		got, err := tx.RunsByContext("p1", "ctx")
		must(t, "RunsByContext", err)
		checkIDs(t, "RunsByContext oldest first, ties by ID", runIDs(got), []string{"c1", "c2a", "c2b", "c3"})
		for _, r := range got {
			checkRun(t, "RunsByContext record", r, byID[r.ID])
		}
		got, err = tx.RunsByContext("p2", "ctx")
		must(t, "RunsByContext p2", err)
		checkIDs(t, "RunsByContext p2", runIDs(got), []string{"other-project"})
		return nil
	}))
}

func testLanesAndContexts(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	// Keys whose parts would collide if a driver joined them naively.
	lanes := []*store.Lane{
		{Key: store.LaneKey{Project: "p", Stage: "dev", Service: "carts"}, Body: []byte("1")},
		{Key: store.LaneKey{Project: "p", Stage: "dev/carts", Service: ""}, Body: []byte("2")},
		{Key: store.LaneKey{Project: "p/dev", Stage: "carts", Service: ""}, Body: []byte("3")},
		{Key: store.LaneKey{Project: "p", Stage: "dev|carts", Service: ""}, Body: []byte("4")},
		{Key: store.LaneKey{Project: "q", Stage: "dev", Service: "carts"}, Body: []byte("5")},
	}
	ctxs := []*store.Context{
		{Project: "p", KeptnContext: "c", Body: []byte("pc")},
		{Project: "q", KeptnContext: "c", Body: []byte("qc")},
		{Project: "p", KeptnContext: "c/x", Body: []byte("pcx")},
	}
	must(t, "put", s.Update(t.Context(), func(tx store.Tx) error {
		for _, l := range lanes {
			if err := tx.PutLane(l); err != nil {
				return err
			}
		}
		for _, c := range ctxs {
			if err := tx.PutContext(c); err != nil {
				return err
			}
		}
		return nil
	}))
	must(t, "get", s.Update(t.Context(), func(tx store.Tx) error {
		for _, l := range lanes {
			got, err := tx.GetLane(l.Key)
			if err != nil {
				t.Errorf("GetLane(%+v): %v", l.Key, err)
				continue
			}
			if got.Key != l.Key || !bytes.Equal(got.Body, l.Body) {
				t.Errorf("GetLane(%+v) = %+v %q, want body %q", l.Key, got.Key, got.Body, l.Body)
			}
		}
		for _, c := range ctxs {
			got, err := tx.GetContext(c.Project, c.KeptnContext)
			if err != nil {
				t.Errorf("GetContext(%s, %s): %v", c.Project, c.KeptnContext, err)
				continue
			}
			if got.Project != c.Project || got.KeptnContext != c.KeptnContext || !bytes.Equal(got.Body, c.Body) {
				t.Errorf("GetContext(%s, %s) = %+v", c.Project, c.KeptnContext, got)
			}
		}
		// Overwrite one lane and delete another.
		if err := tx.PutLane(&store.Lane{Key: lanes[0].Key, Body: []byte("1b")}); err != nil {
			return err
		}
		return tx.DeleteLane(lanes[1].Key)
	}))
	must(t, "check", s.Update(t.Context(), func(tx store.Tx) error {
		got, err := tx.GetLane(lanes[0].Key)
		if err != nil || string(got.Body) != "1b" {
			t.Errorf("overwritten lane = %v, %v", got, err)
		}
		_, err = tx.GetLane(lanes[1].Key)
		wantNotFound(t, "deleted lane", err)
		for _, l := range lanes[2:] {
			if _, err := tx.GetLane(l.Key); err != nil {
				t.Errorf("untouched lane %+v: %v", l.Key, err)
			}
		}
		return nil
	}))
}

// runFixture is a set of runs that every ListRuns filter splits differently.
func runFixture() []*store.Run {
	projects := []string{"p1", "p2"}
	stages := []string{"dev", "prod"}
	services := []string{"carts", "orders"}
	sequences := []string{"delivery", "evaluation"}
	states := []string{"started", "finished"}
	ctxs := []string{"c1", "c2"}
	var runs []*store.Run
	for i := 0; i < 16; i++ {
		runs = append(runs, &store.Run{
			ID:           fmt.Sprintf("run-%02d", i),
			Project:      projects[i%2],
			Stage:        stages[(i/2)%2],
			Service:      services[(i/4)%2],
			Sequence:     sequences[(i/8)%2],
			State:        states[(i/3)%2],
			KeptnContext: ctxs[(i/5)%2],
			TriggeredAt:  at(i),
			Body:         []byte(fmt.Sprintf(`{"n":%d}`, i)),
		})
	}
	// Ties on TriggeredAt are broken by ID.
	for _, id := range []string{"run-tie-b", "run-tie-a"} {
		r := *runs[5]
		r.ID = id
		runs = append(runs, &r)
	}
	return runs
}

func newestFirst(runs []*store.Run, when func(*store.Run) time.Time) []string {
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b *store.Run) int {
		if c := when(b).Compare(when(a)); c != 0 {
			return c
		}
		return compareStrings(b.ID, a.ID)
	})
	return runIDs(sorted)
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testListRuns(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	runs := runFixture()
	putRuns(t, s, runs...)
	byID := map[string]*store.Run{}
	for _, r := range runs {
		byID[r.ID] = r
	}
	r5 := runs[5]
	tests := map[string]store.RunQuery{
		"all":                   {},
		"project":               {Project: "p1"},
		"stage":                 {Stage: "dev"},
		"service":               {Service: "orders"},
		"sequence":              {Sequence: "evaluation"},
		"state":                 {State: "finished"},
		"keptnContext":          {KeptnContext: "c2"},
		"project+stage+service": {Project: "p2", Stage: "prod", Service: "carts"},
		"project+state":         {Project: "p1", State: "started"},
		"project+keptnContext":  {Project: "p2", KeptnContext: "c1"},
		"every filter": {Project: r5.Project, Stage: r5.Stage, Service: r5.Service, Sequence: r5.Sequence,
			State: r5.State, KeptnContext: r5.KeptnContext},
		"no match": {Project: "nope"},
	}
	for name, q := range tests {
		t.Run(name, func(t *testing.T) {
			var match []*store.Run
			for _, r := range runs {
				if (q.Project == "" || r.Project == q.Project) && (q.Stage == "" || r.Stage == q.Stage) &&
					(q.Service == "" || r.Service == q.Service) && (q.Sequence == "" || r.Sequence == q.Sequence) &&
					(q.State == "" || r.State == q.State) && (q.KeptnContext == "" || r.KeptnContext == q.KeptnContext) {
					match = append(match, r)
				}
			}
			want := newestFirst(match, func(r *store.Run) time.Time { return r.TriggeredAt })
			for _, size := range pageSizes {
				got := collect(t, size, func(p store.Page) ([]*store.Run, string, error) {
					return s.ListRuns(t.Context(), q, p)
				})
				checkIDs(t, fmt.Sprintf("size %d", size), runIDs(got), want)
				for _, r := range got {
					checkRun(t, "listed record", r, byID[r.ID])
				}
			}
		})
	}
	t.Run("bad token", func(t *testing.T) {
		if _, _, err := s.ListRuns(t.Context(), store.RunQuery{}, store.Page{Size: 2, Token: "not a token!"}); err == nil {
			t.Errorf("ListRuns with a garbage token: no error")
		}
	})
}

// testAckOutbox: AckOutbox sets AckedSeq without touching the rest of the
// record; transactions see it and carry it; a missing run is no error.
func testAckOutbox(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	putRuns(t, s, &store.Run{ID: "r", Project: "p", State: "started", TriggeredAt: at(-1), Due: at(5), Body: []byte("body")})
	must(t, "ack", s.AckOutbox(t.Context(), "r", 3))
	must(t, "ack missing", s.AckOutbox(t.Context(), "missing", 3))
	r, err := s.GetRun(t.Context(), "r")
	must(t, "get", err)
	if r.AckedSeq != 3 || string(r.Body) != "body" || r.State != "started" || !r.Due.Equal(at(5)) {
		t.Fatalf("after ack: %+v", r)
	}
	must(t, "tx", s.Update(t.Context(), func(tx store.Tx) error {
		r, err := tx.GetRun("r")
		if err != nil {
			return err
		}
		if r.AckedSeq != 3 {
			return fmt.Errorf("tx sees AckedSeq %d, want 3", r.AckedSeq)
		}
		r.Body = []byte("next")
		return tx.PutRun(r)
	}))
	r, err = s.GetRun(t.Context(), "r")
	must(t, "get", err)
	if r.AckedSeq != 3 || string(r.Body) != "next" {
		t.Fatalf("after a transaction: %+v", r)
	}
	if _, err := s.GetRun(t.Context(), "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ack created a run: %v", err)
	}
}

func testDueRuns(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	now := at(0)
	putRuns(t, s,
		&store.Run{ID: "none", Project: "p", TriggeredAt: at(-100)},
		&store.Run{ID: "b-past", Project: "p", TriggeredAt: at(-100), Due: at(-10)},
		&store.Run{ID: "c-tie", Project: "p", TriggeredAt: at(-100), Due: at(-5)},
		&store.Run{ID: "a-tie", Project: "q", TriggeredAt: at(-100), Due: at(-5)},
		&store.Run{ID: "now", Project: "p", TriggeredAt: at(-100), Due: now},
		&store.Run{ID: "future", Project: "p", TriggeredAt: at(-100), Due: at(1)},
	)
	tests := map[string]struct {
		limit int
		want  []string
	}{
		"no limit": {0, []string{"b-past", "a-tie", "c-tie", "now"}},
		"limit 2":  {2, []string{"b-past", "a-tie"}},
		"limit 10": {10, []string{"b-past", "a-tie", "c-tie", "now"}},
	}
	for name, tc := range tests {
		got, err := s.DueRuns(t.Context(), now, tc.limit)
		must(t, name, err)
		checkIDs(t, "DueRuns "+name, got, tc.want)
	}
	// Clearing Due takes a run off the list.
	must(t, "clear due", s.Update(t.Context(), func(tx store.Tx) error {
		r, err := tx.GetRun("b-past")
		if err != nil {
			return err
		}
		r.Due = time.Time{}
		return tx.PutRun(r)
	}))
	got, err := s.DueRuns(t.Context(), now, 0)
	must(t, "after clearing", err)
	checkIDs(t, "DueRuns after clearing Due", got, []string{"a-tie", "c-tie", "now"})
	got, err = s.DueRuns(t.Context(), at(-20), 0)
	must(t, "early", err)
	checkIDs(t, "DueRuns before anything is due", got, nil)
}

func testListOpen(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	const deploy, test = "sh.keptn.event.deployment.triggered", "sh.keptn.event.test.triggered"
	var runs []*store.Run
	for i := 0; i < 12; i++ {
		r := &store.Run{
			ID:              fmt.Sprintf("open-%02d", i),
			Project:         []string{"p1", "p2"}[i%2],
			Stage:           []string{"dev", "prod"}[(i/2)%2],
			Service:         []string{"carts", "orders"}[(i/4)%2],
			KeptnContext:    "ctx",
			TriggeredAt:     at(-100),
			TaskTriggeredID: fmt.Sprintf("task-%02d", i),
			OpenType:        []string{deploy, deploy, test}[i%3],
			OpenSince:       at(i),
		}
		runs = append(runs, r)
	}
	// Not open (OpenType ""), even though everything else matches.
	runs = append(runs, &store.Run{ID: "closed", Project: "p1", Stage: "dev", Service: "carts",
		TriggeredAt: at(-100), TaskTriggeredID: "task-closed", OpenSince: at(3)})
	// A tie on OpenSince.
	tie := *runs[0]
	tie.ID, tie.TaskTriggeredID = "open-00-tie", "task-tie"
	runs = append(runs, &tie)
	putRuns(t, s, runs...)

	tests := map[string]store.OpenQuery{
		"type":                  {Type: deploy},
		"other type":            {Type: test},
		"unknown type":          {Type: "sh.keptn.event.nothing.triggered"},
		"project":               {Type: deploy, Project: "p1"},
		"stage":                 {Type: deploy, Stage: "prod"},
		"service":               {Type: deploy, Service: "orders"},
		"task":                  {Type: deploy, TaskTriggeredID: "task-04"},
		"task of another type":  {Type: test, TaskTriggeredID: "task-04"},
		"until":                 {Type: deploy, Until: at(4)}, // inclusive: open-04 is in
		"project+stage+service": {Type: deploy, Project: "p2", Stage: "prod", Service: "orders"},
		"everything":            {Type: deploy, Project: "p1", Stage: "dev", Service: "orders", Until: at(9)},
	}
	for name, q := range tests {
		t.Run(name, func(t *testing.T) {
			var match []*store.Run
			for _, r := range runs {
				if r.OpenType == q.Type && (q.Project == "" || r.Project == q.Project) &&
					(q.Stage == "" || r.Stage == q.Stage) && (q.Service == "" || r.Service == q.Service) &&
					(q.TaskTriggeredID == "" || r.TaskTriggeredID == q.TaskTriggeredID) &&
					(q.Until.IsZero() || !r.OpenSince.After(q.Until)) {
					match = append(match, r)
				}
			}
			want := newestFirst(match, func(r *store.Run) time.Time { return r.OpenSince })
			for _, size := range pageSizes {
				got := collect(t, size, func(p store.Page) ([]*store.Run, string, error) {
					return s.ListOpen(t.Context(), q, p)
				})
				checkIDs(t, fmt.Sprintf("size %d", size), runIDs(got), want)
			}
		})
	}
	t.Run("type required", func(t *testing.T) {
		if _, _, err := s.ListOpen(t.Context(), store.OpenQuery{Project: "p1"}, store.Page{}); err == nil {
			t.Errorf("ListOpen without Type: no error")
		}
	})
}

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

func eventFixture() []*store.Event {
	var events []*store.Event
	for i := 0; i < 20; i++ {
		events = append(events, &store.Event{
			ID:           fmt.Sprintf("ev-%02d", i),
			Project:      []string{"p1", "p2", ""}[i%3],
			KeptnContext: []string{"c1", "c2"}[(i/2)%2],
			Type:         []string{"sh.keptn.event.deployment.triggered", "sh.keptn.event.deployment.finished"}[(i/3)%2],
			Stage:        []string{"dev", "prod"}[(i/4)%2],
			Service:      []string{"carts", "orders", "payment"}[(i/5)%3],
			Source:       []string{"shipyard-controller", "helm-service"}[(i/6)%2],
			TriggeredID:  []string{"", "trig-1", "trig-2"}[(i/7)%3],
			Time:         at(i),
			Body:         []byte(fmt.Sprintf(`{"id":"ev-%02d"}`, i)),
		})
	}
	tie := *events[10]
	tie.ID = "ev-10-tie"
	return append(events, &tie)
}

func testEvents(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	events := eventFixture()
	for _, e := range events {
		must(t, "append "+e.ID, s.AppendEvent(t.Context(), e))
	}
	// Appending an ID again keeps the first version.
	dup := *events[3]
	dup.Body, dup.Project, dup.Time = []byte("second"), "p2", at(100)
	must(t, "append duplicate", s.AppendEvent(t.Context(), &dup))

	byID := map[string]*store.Event{}
	for _, e := range events {
		byID[e.ID] = e
	}
	tests := map[string]store.EventQuery{
		"all":                    {},
		"project":                {Project: "p1"},
		"keptnContext":           {KeptnContext: "c2"},
		"type":                   {Type: "sh.keptn.event.deployment.finished"},
		"stage":                  {Stage: "prod"},
		"service":                {Service: "orders"},
		"source":                 {Source: "helm-service"},
		"id":                     {ID: "ev-03"},
		"id and mismatch":        {ID: "ev-03", Project: "p2"},
		"unknown id":             {ID: "nope"},
		"triggeredID":            {TriggeredID: "trig-1"},
		"services any of":        {Services: []string{"carts", "payment"}},
		"services and service":   {Services: []string{"carts", "payment"}, Service: "carts"},
		"services and other":     {Services: []string{"carts"}, Service: "orders"},
		"from exclusive":         {From: at(10)},
		"before exclusive":       {Before: at(10)},
		"from and before":        {From: at(4), Before: at(15)},
		"project+context+type":   {Project: "p1", KeptnContext: "c1", Type: "sh.keptn.event.deployment.triggered"},
		"project+stage+services": {Project: "p2", Stage: "dev", Services: []string{"carts", "orders"}, From: at(0)},
		"no match":               {Project: "nope"},
	}
	for name, q := range tests {
		t.Run(name, func(t *testing.T) {
			var match []*store.Event
			for _, e := range events {
				if (q.Project == "" || e.Project == q.Project) && (q.KeptnContext == "" || e.KeptnContext == q.KeptnContext) &&
					(q.Type == "" || e.Type == q.Type) && (q.Stage == "" || e.Stage == q.Stage) &&
					(q.Service == "" || e.Service == q.Service) && (q.Source == "" || e.Source == q.Source) &&
					(q.ID == "" || e.ID == q.ID) && (q.TriggeredID == "" || e.TriggeredID == q.TriggeredID) &&
					(len(q.Services) == 0 || slices.Contains(q.Services, e.Service)) &&
					(q.From.IsZero() || e.Time.After(q.From)) && (q.Before.IsZero() || e.Time.Before(q.Before)) {
					match = append(match, e)
				}
			}
			slices.SortFunc(match, func(a, b *store.Event) int {
				if c := b.Time.Compare(a.Time); c != 0 {
					return c
				}
				return compareStrings(b.ID, a.ID)
			})
			var want []string
			for _, e := range match {
				want = append(want, e.ID)
			}
			for _, size := range pageSizes {
				got := collect(t, size, func(p store.Page) ([]*store.Event, string, error) {
					return s.ListEvents(t.Context(), q, p)
				})
				var ids []string
				for _, e := range got {
					ids = append(ids, e.ID)
					w := byID[e.ID]
					g := *e
					g.Time, g.Body = normTime(g.Time), normBytes(g.Body)
					if !reflect.DeepEqual(g, *w) {
						t.Errorf("listed event:\n got %+v\nwant %+v", g, *w)
					}
				}
				checkIDs(t, fmt.Sprintf("size %d", size), ids, want)
			}
		})
	}
}

func testResources(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ctx := t.Context()
	res := []*store.Resource{
		{Project: "p", URI: "shipyard.yaml"},
		{Project: "p", URI: "metadata.yaml"},
		{Project: "p", Stage: "dev", URI: "slo.yaml"},
		{Project: "p", Stage: "dev", Service: "carts", URI: "generic-executor/deployment.triggered.sh"},
		{Project: "p", Stage: "dev", Service: "carts", URI: "generic-executor/a.sh"},
		{Project: "p", Stage: "dev", Service: "carts", URI: "helm/carts.tgz"},
		{Project: "p", Stage: "dev", Service: "carts", URI: "b.yaml"},
		{Project: "p", Stage: "dev", Service: "orders", URI: "b.yaml"},
		{Project: "q", URI: "shipyard.yaml"},
	}
	for i, r := range res {
		r.Content = []byte(fmt.Sprintf("content %d of %s", i, r.URI))
		r.UpdatedAt = at(i)
		must(t, "put", s.PutResource(ctx, r))
	}
	// Put overwrites.
	res[0].Content, res[0].UpdatedAt = []byte("shipyard v2"), at(50)
	must(t, "overwrite", s.PutResource(ctx, res[0]))

	for _, r := range res {
		got, err := s.GetResource(ctx, r.Project, r.Stage, r.Service, r.URI)
		if err != nil {
			t.Errorf("GetResource(%s %s %s %s): %v", r.Project, r.Stage, r.Service, r.URI, err)
			continue
		}
		g := *got
		g.UpdatedAt = normTime(g.UpdatedAt)
		if !reflect.DeepEqual(g, *r) {
			t.Errorf("GetResource:\n got %+v\nwant %+v", g, *r)
		}
	}
	_, err := s.GetResource(ctx, "p", "", "", "missing.yaml")
	wantNotFound(t, "GetResource(missing)", err)
	_, err = s.GetResource(ctx, "p", "dev", "", "shipyard.yaml")
	wantNotFound(t, "GetResource at the wrong level", err)

	tests := map[string]struct {
		project, stage, service string
		want                    []string
	}{
		"project level": {"p", "", "", []string{"metadata.yaml", "shipyard.yaml"}},
		"stage level":   {"p", "dev", "", []string{"slo.yaml"}},
		"service level": {"p", "dev", "carts", []string{"b.yaml", "generic-executor/a.sh", "generic-executor/deployment.triggered.sh", "helm/carts.tgz"}},
		"other service": {"p", "dev", "orders", []string{"b.yaml"}},
		"empty level":   {"p", "prod", "", nil},
		"other project": {"q", "", "", []string{"shipyard.yaml"}},
	}
	for name, tc := range tests {
		for _, size := range pageSizes {
			got := collect(t, size, func(p store.Page) ([]*store.Resource, string, error) {
				return s.ListResources(ctx, tc.project, tc.stage, tc.service, p)
			})
			var uris []string
			for _, r := range got {
				uris = append(uris, r.URI)
				if r.Project != tc.project || r.Stage != tc.stage || r.Service != tc.service || len(r.Content) == 0 {
					t.Errorf("%s: listed resource %+v", name, r)
				}
			}
			checkIDs(t, fmt.Sprintf("%s size %d", name, size), uris, tc.want)
		}
	}

	must(t, "delete", s.DeleteResource(ctx, "p", "dev", "carts", "helm/carts.tgz"))
	_, err = s.GetResource(ctx, "p", "dev", "carts", "helm/carts.tgz")
	wantNotFound(t, "GetResource after delete", err)
	wantNotFound(t, "DeleteResource again", s.DeleteResource(ctx, "p", "dev", "carts", "helm/carts.tgz"))
	if _, err := s.GetResource(ctx, "p", "dev", "orders", "b.yaml"); err != nil {
		t.Errorf("sibling resource after delete: %v", err)
	}
}

func testTooLarge(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ctx := t.Context()
	big := bytes.Repeat([]byte("x"), store.MaxBody+1)
	wantTooLarge := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrTooLarge) {
			t.Errorf("%s: err = %v, want ErrTooLarge", what, err)
		}
	}
	wantTooLarge("PutRun", s.Update(ctx, func(tx store.Tx) error {
		return tx.PutRun(&store.Run{ID: "r", Project: "p", TriggeredAt: at(0), Body: big})
	}))
	_, err := s.GetRun(ctx, "r")
	wantNotFound(t, "GetRun after a rejected PutRun", err)
	wantTooLarge("PutLane", s.Update(ctx, func(tx store.Tx) error {
		return tx.PutLane(&store.Lane{Key: store.LaneKey{Project: "p"}, Body: big})
	}))
	wantTooLarge("PutContext", s.Update(ctx, func(tx store.Tx) error {
		return tx.PutContext(&store.Context{Project: "p", KeptnContext: "c", Body: big})
	}))
	wantTooLarge("CreateProject", s.CreateProject(ctx, &store.Project{Name: "big", Body: big}))
	_, err = s.GetProject(ctx, "big")
	wantNotFound(t, "GetProject after a rejected CreateProject", err)
	must(t, "create", s.CreateProject(ctx, &store.Project{Name: "p", Body: []byte("small")}))
	wantTooLarge("UpdateProject", s.UpdateProject(ctx, "p", func(p *store.Project) error {
		p.Body = big
		return nil
	}))
	wantTooLarge("AppendEvent", s.AppendEvent(ctx, &store.Event{ID: "e", Time: at(0), Body: big}))
	wantTooLarge("PutResource", s.PutResource(ctx, &store.Resource{Project: "p", URI: "big", Content: big}))

	// Exactly MaxBody fits.
	fits := &store.Run{ID: "max", Project: "p", TriggeredAt: at(0), Body: big[:store.MaxBody]}
	putRuns(t, s, fits)
	got, err := s.GetRun(ctx, "max")
	must(t, "get max", err)
	if len(got.Body) != store.MaxBody {
		t.Errorf("MaxBody run has %d bytes", len(got.Body))
	}
}
