package storetest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/slipwayhq/slipway/shared/store"
)

// benchRuns is how many runs the transition benchmark cycles through, so that
// the index lookups do not always hit the same key.
const benchRuns = 256

// BenchmarkTransition measures one typical task-event transaction: find the run
// by its current task's .triggered id (RunByTask) and write it back with a
// ~4 KB body (PutRun), as the engine does for every .started/.finished event.
//
// When the store declares Stats (every driver in this repository does), the
// benchmark also reports documents read and written
// per transaction as reads/op and writes/op.
func BenchmarkTransition(b *testing.B, s store.Store) {
	ctx := b.Context()
	body := bytes.Repeat([]byte(`{"step":"deployment","status":"succeeded","x":0}`), 4096/48)
	const project = "bench"
	for start := 0; start < benchRuns; start += 64 {
		err := s.Update(ctx, func(tx store.Tx) error {
			for i := start; i < start+64; i++ {
				err := tx.PutRun(&store.Run{
					ID: fmt.Sprintf("bench-run-%03d", i), Project: project, Stage: "dev", Service: "carts",
					Sequence: "delivery", KeptnContext: fmt.Sprintf("ctx-%03d", i), State: "started",
					TriggeredAt: at(i), TaskTriggeredID: taskID(i),
					OpenType: "sh.keptn.event.deployment.triggered", OpenSince: at(i), Body: body,
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatalf("seed runs: %v", err)
		}
	}

	stats := s.Capabilities().Stats
	var reads0, writes0 int64
	if stats != nil {
		reads0, writes0 = stats()
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		i := n % benchRuns
		n++
		err := s.Update(ctx, func(tx store.Tx) error {
			r, err := tx.RunByTask(project, taskID(i))
			if err != nil {
				return err
			}
			// A transition changes state, bookkeeping and a little of the body.
			r.State = "started"
			r.Due = at(n)
			if len(r.Body) >= 8 {
				copy(r.Body[len(r.Body)-8:], fmt.Appendf(nil, "%08d", n%100_000_000))
			}
			return tx.PutRun(r)
		})
		if err != nil {
			b.Fatalf("transition: %v", err)
		}
	}
	if stats != nil && n > 0 {
		reads, writes := stats()
		b.ReportMetric(float64(reads-reads0)/float64(n), "reads/op")
		b.ReportMetric(float64(writes-writes0)/float64(n), "writes/op")
	}
}

func taskID(i int) string { return fmt.Sprintf("bench-task-%03d", i) }
