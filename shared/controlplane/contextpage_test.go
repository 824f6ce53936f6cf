package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
)

// seedRuns writes runs of project p: contexts c0000..., each with stages
// runs (dev, then later stages triggered later), in batches.
func seedRuns(tb testing.TB, st store.Store, p string, contexts, stages int, at func(c, s int) time.Time) {
	tb.Helper()
	ctx := context.Background()
	const batch = 500
	var recs []*store.Run
	flush := func() {
		if err := st.Update(ctx, func(tx store.Tx) error {
			for _, r := range recs {
				if err := tx.PutRun(r); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			tb.Fatal(err)
		}
		recs = recs[:0]
	}
	for c := range contexts {
		for s := range stages {
			r := &engine.Run{ID: fmt.Sprintf("run-%06d-%d", c, s), Sequence: engine.Sequence{Name: fmt.Sprintf("seq%d", c%3)},
				Status:      engine.RunStatus{State: engine.StateFinished},
				Scope:       engine.Scope{Project: p, Stage: fmt.Sprintf("stage%d", s), Service: "carts", KeptnContext: fmt.Sprintf("c%06d", c)},
				TriggeredAt: at(c, s)}
			body, err := json.Marshal(r)
			if err != nil {
				tb.Fatal(err)
			}
			recs = append(recs, &store.Run{ID: r.ID, Project: p, Stage: r.Scope.Stage, Service: "carts", Sequence: r.Sequence.Name,
				KeptnContext: r.Scope.KeptnContext, State: string(r.Status.State), TriggeredAt: r.TriggeredAt, Body: body})
			if len(recs) == batch {
				flush()
			}
		}
	}
	if len(recs) > 0 {
		flush()
	}
}

// ContextPage returns exactly the page that sorting every context's view
// gives, for any offset, size and filter, also when later stages of old
// contexts run after newer contexts started.
func TestContextPageMatchesFullListing(t *testing.T) {
	st, err := embedded.OpenOptions(filepath.Join(t.TempDir(), "store"), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Context c's stage s starts at c minutes + s*7 minutes: stages of old
	// contexts interleave with the first runs of newer ones; some share a time.
	seedRuns(t, st, "p", 60, 3, func(c, s int) time.Time { return t0.Add(time.Duration(c/2+7*s) * time.Minute) })
	s := New(st, nil, engine.New(engine.Config{}))
	all, err := s.Contexts(context.Background(), "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, keep := range map[string]func(engine.SequenceState) bool{
		"all":  func(engine.SequenceState) bool { return true },
		"seq1": func(v engine.SequenceState) bool { return v.Name == "seq1" },
	} {
		want := slices.DeleteFunc(slices.Clone(all), func(v engine.SequenceState) bool { return !keep(v) })
		for _, tc := range []struct{ off, n int }{{0, 1}, {0, 5}, {3, 5}, {10, 20}, {0, 100}, {55, 10}, {100, 5}} {
			t.Run(fmt.Sprintf("%s/%d+%d", name, tc.off, tc.n), func(t *testing.T) {
				got, more, err := s.ContextPage(context.Background(), "p", keep, tc.off, tc.n, time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				lo, hi := min(tc.off, len(want)), min(tc.off+tc.n, len(want))
				exp := want[lo:hi]
				if len(got) != len(exp) || more != (hi < len(want)) {
					t.Fatalf("got %d more=%v, want %d more=%v", len(got), more, len(exp), hi < len(want))
				}
				for i := range got {
					if got[i].ShKeptnContext != exp[i].ShKeptnContext {
						t.Fatalf("item %d: %s, want %s", i, got[i].ShKeptnContext, exp[i].ShKeptnContext)
					}
				}
			})
		}
	}
}

// countingStore counts the runs a listing read.
type countingStore struct {
	store.Store
	runs int
}

func (c *countingStore) ListRuns(ctx context.Context, q store.RunQuery, p store.Page) ([]*store.Run, string, error) {
	rs, next, err := c.Store.ListRuns(ctx, q, p)
	c.runs += len(rs)
	return rs, next, err
}

// BenchmarkSequenceStatesPage: the first page of 20 sequence states of a
// project with 100,000 runs (50,000 contexts of 2 stages), bounded by the
// page, against reading every run (Contexts, what GET /sequence/{project}
// did before). docs/benchmarks.md has the figures.
func BenchmarkSequenceStatesPage(b *testing.B) {
	st, err := embedded.OpenOptions(filepath.Join(b.TempDir(), "store"), embedded.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seedRuns(b, st, "p", 50000, 2, func(c, s int) time.Time { return t0.Add(time.Duration(c)*time.Second + time.Duration(s)*time.Minute) })
	cs := &countingStore{Store: st}
	s := New(cs, nil, engine.New(engine.Config{}))
	keep := func(engine.SequenceState) bool { return true }
	b.Run("page-of-20", func(b *testing.B) {
		cs.runs = 0
		for b.Loop() {
			if _, _, err := s.ContextPage(context.Background(), "p", keep, 0, 20, time.Time{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cs.runs)/float64(b.N), "runs-read/op")
	})
	b.Run("page-of-20-at-offset-1000", func(b *testing.B) {
		cs.runs = 0
		for b.Loop() {
			if _, _, err := s.ContextPage(context.Background(), "p", keep, 1000, 20, time.Time{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cs.runs)/float64(b.N), "runs-read/op")
	})
	b.Run("every-run", func(b *testing.B) {
		cs.runs = 0
		for b.Loop() {
			if _, err := s.Contexts(context.Background(), "p", nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cs.runs)/float64(b.N), "runs-read/op")
	})
}
