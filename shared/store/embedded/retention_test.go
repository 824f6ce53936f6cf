package embedded_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
)

// TestPurgeHistory: retention deletes old events of finished contexts only,
// and is not stuck behind the events of a context that is still running.
func TestPurgeHistory(t *testing.T) {
	s := open(t, embedded.Options{NoSync: true})
	ctx := t.Context()
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	old := now.Add(-48 * time.Hour)
	runs := map[string]string{ // keptnContext -> state of its one run ("" = no run)
		"running": "started", "finished": "finished", "timedout": "timedOut", "recent": "finished", "norun": "",
	}
	for kc, state := range runs {
		if state == "" {
			continue
		}
		err := s.Update(ctx, func(tx store.Tx) error {
			return tx.PutRun(&store.Run{ID: "run-" + kc, Project: "p", KeptnContext: kc, State: state, TriggeredAt: old})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	add := func(kc string, n int, at time.Time) {
		for i := range n {
			e := &store.Event{ID: fmt.Sprintf("%s-%05d", kc, i), Project: "p", KeptnContext: kc, Type: "sh.keptn.event.x",
				Time: at.Add(time.Duration(i) * time.Millisecond), Body: []byte(`{}`)}
			if err := s.AppendEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The running context's events come first and outnumber one batch's
	// read budget many times over.
	add("running", 3000, old.Add(-time.Hour))
	add("finished", 300, old)
	add("timedout", 5, old)
	add("norun", 5, old)
	add("recent", 5, now.Add(-time.Minute))

	n, err := s.PurgeHistory(ctx, store.HistoryPurge{Before: now.Add(-24 * time.Hour),
		Unfinished: func(st string) bool { return st != "finished" && st != "timedOut" }})
	if err != nil {
		t.Fatal(err)
	}
	if n != 310 {
		t.Errorf("deleted %d events, want 310", n)
	}
	for name, want := range map[string]int{"running": 3000, "finished": 0, "timedout": 0, "norun": 0, "recent": 5} {
		evs, _, err := s.ListEvents(ctx, store.EventQuery{Project: "p", KeptnContext: name}, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != want {
			t.Errorf("context %s: %d events left, want %d", name, len(evs), want)
		}
	}
	// The runs themselves stay: retention is about the event history.
	if _, err := s.GetRun(ctx, "run-finished"); err != nil {
		t.Errorf("run of a purged context: %v", err)
	}
}
