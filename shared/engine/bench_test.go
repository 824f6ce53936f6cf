package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/shipyard"
)

const benchShipyard = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: bench}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          tasks: [{name: deployment, properties: {deploymentstrategy: direct}}, {name: test}, {name: evaluation}, {name: release}]
`

// BenchmarkTaskEvent measures the engine's cost of one task .finished that
// completes a task and triggers the next one (the common transition): dedupe,
// aggregation, payload merge and building the outgoing event.
func BenchmarkTaskEvent(b *testing.B) {
	sy, err := shipyard.Parse([]byte(benchShipyard))
	if err != nil {
		b.Fatal(err)
	}
	eng := engine.New(engine.Config{})
	now := time.Unix(1_700_000_000, 0)
	w := &world{runs: map[string]*engine.Run{}, lanes: map[engine.LaneKey]*engine.Lane{}}
	newRun := func(i int) *engine.Run {
		ev, _ := keptn.NewEvent(keptn.SequenceType("dev", "delivery", keptn.KindTriggered),
			keptn.Meta{ID: fmt.Sprint("t", i), Source: "b", Time: now, Context: "c"},
			map[string]any{"project": "p", "stage": "dev", "service": fmt.Sprint("s", i),
				"configurationChange": map[string]any{"values": map[string]any{"image": "repo/app:1.2.3"}}})
		r, err := eng.Trigger(w, engine.TriggerInput{Event: ev, Shipyard: sy}, now)
		if err != nil {
			b.Fatal(err)
		}
		r.Outbox = nil
		return r
	}
	finished := func(r *engine.Run, i int) event.Event {
		ct := r.Status.CurrentTask
		ev, _ := keptn.NewEvent(keptn.TaskType(ct.Name, keptn.KindFinished),
			keptn.Meta{ID: fmt.Sprint("f", i), Source: "exec", Time: now, Context: "c", TriggeredID: ct.TriggeredID},
			map[string]any{"project": "p", "stage": "dev", "service": r.Scope.Service, "status": "succeeded", "result": "pass",
				ct.Name: map[string]any{"deploymentURIsPublic": []any{"http://app"}, "gitCommit": "abc"}})
		return ev
	}
	// Runs are prepared in batches outside the timer; StopTimer per
	// iteration would cost more than the transition itself.
	const batch = 1024
	type job struct {
		r  *engine.Run
		ev event.Event
	}
	jobs := make([]job, 0, batch)
	prepare := func(base int) {
		jobs = jobs[:0]
		for k := 0; k < batch; k++ {
			r := newRun(base + k)
			jobs = append(jobs, job{r, finished(r, base+k)})
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%batch == 0 {
			b.StopTimer()
			prepare(i)
			b.StartTimer()
		}
		j := jobs[i%batch]
		if err := eng.TaskEvent(w, j.r, j.ev, now); err != nil {
			b.Fatal(err)
		}
	}
}
