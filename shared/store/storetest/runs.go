package storetest

// Runs, lanes and contexts: lookups, listings, due runs, open task events and outbox confirmations.

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
)

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
