package controlplane_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/controlplane"
	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
)

// recorder remembers the open task .triggered per context.
type recorder struct {
	mu   sync.Mutex
	open map[string]event.Event
}

func (r *recorder) Publish(_ context.Context, e event.Event) error {
	if t, err := keptn.ParseType(e.Type()); err == nil && t.IsTask() && t.Kind == keptn.KindTriggered {
		r.mu.Lock()
		r.open[keptn.Context(e)] = e
		r.mu.Unlock()
	}
	return nil
}

const benchShipyard = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: b}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          tasks: [{name: t1}, {name: t2}, {name: t3}, {name: t4}, {name: t5}, {name: t6}, {name: t7}, {name: t8}]
`

// benchmarkTaskEvent measures one incoming task .finished through the
// control plane (dedupe, transaction, engine, publish, confirmation): it
// completes a task and triggers the next. It reports the store's document
// reads and writes per event, the confirmation write included.
func benchmarkTaskEvent(b *testing.B, st store.Store) {
	stats := st.Capabilities().Stats // both drivers count
	ctx := context.Background()
	seedProject(b, st, "b", benchShipyard)
	rec := &recorder{open: map[string]event.Event{}}
	cp := controlplane.New(st, rec, engine.New(engine.Config{}))
	runs := b.N/7 + 1 // each run takes 7 task events that trigger a next task
	for i := 0; i < runs; i++ {
		ev, _ := keptn.NewEvent(keptn.SequenceType("dev", "delivery", keptn.KindTriggered),
			keptn.Meta{ID: fmt.Sprint("t", i), Source: "b", Time: time.Now(), Context: fmt.Sprint("c", i)},
			map[string]any{"project": "b", "stage": "dev", "service": fmt.Sprint("s", i)})
		if err := cp.Handle(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	r0, w0 := stats()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		kctx := fmt.Sprint("c", i/7)
		rec.mu.Lock()
		trig := rec.open[kctx]
		rec.mu.Unlock()
		fin, err := keptn.Respond(trig, keptn.KindFinished, keptn.Meta{ID: fmt.Sprint("f", i), Source: "x", Time: time.Now()},
			keptn.Data{Status: keptn.StatusSucceeded, Result: keptn.ResultPass}, map[string]any{"n": i})
		if err != nil {
			b.Fatal(err)
		}
		if err := cp.Handle(ctx, fin); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	r1, w1 := stats()
	b.ReportMetric(float64(r1-r0)/float64(b.N), "reads/event")
	b.ReportMetric(float64(w1-w0)/float64(b.N), "writes/event")
}

func BenchmarkTaskEventEmbedded(b *testing.B) {
	st, err := embedded.Open(b.TempDir() + "/store")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchmarkTaskEvent(b, st)
}
