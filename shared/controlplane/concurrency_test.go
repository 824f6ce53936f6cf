package controlplane_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/controlplane"
	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/store"
)

const concShipyard = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: conc}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          tasks: [{name: a}, {name: b}, {name: c}]
`

// chaos is a broker that delivers every event twice, in random order, from
// many goroutines, and answers every task .triggered like an instant
// executor (.started and .finished, each also duplicated).
type chaos struct {
	mu        sync.Mutex
	queue     []event.Event
	published map[string]int // event id → times published
	types     map[string]string
	rnd       *rand.Rand
}

func newChaos() *chaos {
	return &chaos{published: map[string]int{}, types: map[string]string{}, rnd: rand.New(rand.NewPCG(1, 2))}
}

func (c *chaos) push(evs ...event.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range evs {
		c.queue = append(c.queue, e, e) // at-least-once: everything twice
	}
}

func (c *chaos) pop() (event.Event, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		return event.Event{}, false
	}
	i := c.rnd.IntN(len(c.queue))
	e := c.queue[i]
	c.queue[i] = c.queue[len(c.queue)-1]
	c.queue = c.queue[:len(c.queue)-1]
	return e, true
}

// Publish implements controlplane.Publisher.
func (c *chaos) Publish(_ context.Context, e event.Event) error {
	c.mu.Lock()
	c.published[e.ID()]++
	c.types[e.ID()] = e.Type()
	c.mu.Unlock()
	t, err := keptn.ParseType(e.Type())
	if err != nil || !t.IsTask() || t.Kind != keptn.KindTriggered {
		return nil
	}
	meta := func(kind string) keptn.Meta {
		return keptn.Meta{ID: engine.DeterministicID(e.ID(), kind), Source: "exec", Time: time.Now()}
	}
	st, _ := keptn.Respond(e, keptn.KindStarted, meta("started"), keptn.Data{Status: keptn.StatusSucceeded}, nil)
	fin, _ := keptn.Respond(e, keptn.KindFinished, meta("finished"), keptn.Data{Status: keptn.StatusSucceeded, Result: keptn.ResultPass},
		map[string]any{"by": e.ID()})
	c.push(st, fin)
	return nil
}

// runConcurrency is the acceptance test body shared by every driver.
// runConcurrency drives runs through instances control planes sharing st
// (Knative scales the function out), each worker on one of them.
func runConcurrency(t *testing.T, st store.Store, services, runsPerService, instances int) {
	ctx := context.Background()
	seedProject(t, st, "conc", concShipyard)
	br := newChaos()
	cps := make([]*controlplane.Service, instances)
	for i := range cps {
		cps[i] = controlplane.New(st, br, engine.New(engine.Config{}))
	}
	var triggers []event.Event
	for s := 0; s < services; s++ {
		for r := 0; r < runsPerService; r++ {
			ev, err := keptn.NewEvent(keptn.SequenceType("dev", "delivery", keptn.KindTriggered),
				keptn.Meta{ID: fmt.Sprintf("trigger-%d-%d", s, r), Source: "test", Time: time.Unix(1000+int64(r), 0),
					Context: fmt.Sprintf("ctx-%d-%d", s, r)},
				map[string]any{"project": "conc", "stage": "dev", "service": fmt.Sprintf("svc%d", s)})
			if err != nil {
				t.Fatal(err)
			}
			triggers = append(triggers, ev)
		}
	}
	br.push(triggers...)

	var wg sync.WaitGroup
	errs := make(chan error, 1)
	deadline := time.Now().Add(5 * time.Minute)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		cp := cps[w%instances]
		go func() {
			defer wg.Done()
			idle := 0
			for time.Now().Before(deadline) {
				e, ok := br.pop()
				if !ok {
					if idle++; idle > 200 {
						return
					}
					time.Sleep(5 * time.Millisecond)
					continue
				}
				idle = 0
				if err := cp.Handle(ctx, e); err != nil {
					br.push(e) // transient: the broker retries
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	wg.Wait()
	if instances > 1 {
		// An entry another instance published is confirmed by this one
		// only if that instance's confirmation landed first; else the
		// sweeper sends it once more (same id) after OutboxRetry and
		// confirms it. Run that sweep now, as the runtime's ticker would.
		later := func() time.Time { return time.Now().Add(time.Minute) }
		sw := controlplane.New(st, br, engine.New(engine.Config{}), controlplane.WithClock(later))
		if _, err := sw.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		for e, ok := br.pop(); ok; e, ok = br.pop() {
			_ = sw.Handle(ctx, e) // duplicates of applied events: republish-only
		}
	}

	// Every run finished, each task applied exactly once.
	runs, _, err := st.ListRuns(ctx, store.RunQuery{Project: "conc"}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != services*runsPerService {
		t.Fatalf("%d runs, want %d", len(runs), services*runsPerService)
	}
	for _, rec := range runs {
		r := decode(t, rec)
		if r.Status.State != engine.StateFinished || r.Result != "pass" {
			t.Fatalf("run %s (%s) state %s result %s; last error: %v", r.ID, r.Scope.Service, r.Status.State, r.Result, lastErr(errs))
		}
		if len(r.Status.PreviousTasks) != 3 {
			t.Fatalf("run %s has %d completed tasks, want 3 (a transition applied twice or lost)", r.ID, len(r.Status.PreviousTasks))
		}
		for i, task := range r.Status.PreviousTasks {
			want := engine.DeterministicID(r.ID, "task", fmt.Sprint(i))
			if task.TriggeredID != want || br.published[want] == 0 {
				t.Fatalf("run %s task %d: id %s published %d times", r.ID, i, task.TriggeredID, br.published[want])
			}
		}
		if fin := engine.DeterministicID(r.ID, "finished"); br.published[fin] == 0 {
			t.Fatalf("run %s: .finished never published", r.ID)
		}
		for _, o := range r.Outbox {
			if o.Seq > rec.AckedSeq {
				t.Fatalf("run %s: outbox entry %d left unconfirmed (acked up to %d)", r.ID, o.Seq, rec.AckedSeq)
			}
		}
	}
	// Lanes are free again.
	err = st.Update(ctx, func(tx store.Tx) error {
		for s := 0; s < services; s++ {
			if _, err := tx.GetLane(store.LaneKey{Project: "conc", Stage: "dev", Service: fmt.Sprintf("svc%d", s)}); err == nil {
				return fmt.Errorf("lane svc%d still exists", s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func lastErr(ch chan error) error {
	select {
	case err := <-ch:
		return err
	default:
		return nil
	}
}
