package controlplane_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/controlplane"
	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/store"
)

// faults is what the broker does wrong, on top of chaos (every delivery
// twice, shuffled).
type faults struct {
	mu          sync.Mutex
	rnd         *rand.Rand
	deliver5xx  float64 // the subscriber answers 5xx before handling: redelivered
	timeout     float64 // handled, but the broker gave up waiting: redelivered
	publish5xx  float64 // the broker's ingress refuses a publish
	failed, ran int
}

func (f *faults) roll(p float64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rnd.Float64() < p
}

// faultyPub refuses some publishes, as a broker ingress answering 5xx.
type faultyPub struct {
	*chaos
	f *faults
}

func (p faultyPub) Publish(ctx context.Context, e event.Event) error {
	if p.f.roll(p.f.publish5xx) {
		return errors.New("broker ingress: 503")
	}
	return p.chaos.Publish(ctx, e)
}

// finalState is what must not depend on the faults: per run its state,
// result and the tasks it completed with their .triggered ids (all derived
// deterministically from the trigger ids).
func finalState(t *testing.T, st store.Store) map[string]string {
	t.Helper()
	runs, _, err := st.ListRuns(context.Background(), store.RunQuery{Project: "conc"}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, rec := range runs {
		r := decode(t, rec)
		s := fmt.Sprintf("%s %s", r.Status.State, r.Result)
		for _, task := range r.Status.PreviousTasks {
			s += fmt.Sprintf(" %s:%s:%s", task.Name, task.TriggeredID, task.Result)
		}
		out[r.ID] = s
	}
	return out
}

// deliverWithFaults drives runs through the control plane with the given
// faults and returns the final state.
func deliverWithFaults(t *testing.T, f *faults) map[string]string {
	ctx := context.Background()
	st := drivers["embedded"](t)
	seedProject(t, st, "conc", concShipyard)
	br := newChaos()
	// A publish that fails after its transition committed is redelivered,
	// but a run the transition touched besides the event's own (the next
	// run of a lane) is republished by the sweeper: OutboxRetry is short
	// here and idle workers sweep, as the runtime's ticker does.
	cp := controlplane.New(st, faultyPub{br, f}, engine.New(engine.Config{OutboxRetry: 20 * time.Millisecond}))
	for s := 0; s < 4; s++ {
		for r := 0; r < 3; r++ {
			ev, err := keptn.NewEvent(keptn.SequenceType("dev", "delivery", keptn.KindTriggered),
				keptn.Meta{ID: fmt.Sprintf("trigger-%d-%d", s, r), Source: "test", Time: time.Unix(1000+int64(r), 0),
					Context: fmt.Sprintf("ctx-%d-%d", s, r)},
				map[string]any{"project": "conc", "stage": "dev", "service": fmt.Sprintf("svc%d", s)})
			if err != nil {
				t.Fatal(err)
			}
			br.push(ev)
		}
	}
	var wg sync.WaitGroup
	deadline := time.Now().Add(3 * time.Minute)
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			idle := 0
			for time.Now().Before(deadline) {
				e, ok := br.pop()
				if !ok {
					n, _ := cp.Sweep(ctx)
					if n > 0 {
						idle = 0
					}
					if idle++; idle > 200 {
						return
					}
					time.Sleep(5 * time.Millisecond)
					continue
				}
				idle = 0
				if f.roll(f.deliver5xx) {
					br.push(e) // 5xx: the broker retries
					continue
				}
				err := cp.Handle(ctx, e)
				if err != nil || f.roll(f.timeout) {
					br.push(e) // failed or timed out: retried
				}
			}
		}()
	}
	wg.Wait()
	return finalState(t, st)
}

// TestBrokerFaultsSameFinalState: every delivery duplicated and shuffled,
// 10 % of deliveries answered 5xx, 10 % timing out after the handler ran,
// 10 % of publishes refused: the final state is the one a clean broker
// gives.
func TestBrokerFaultsSameFinalState(t *testing.T) {
	clean := deliverWithFaults(t, &faults{rnd: rand.New(rand.NewPCG(1, 1))})
	if len(clean) != 12 {
		t.Fatalf("clean run: %d runs, want 12", len(clean))
	}
	for _, v := range clean {
		if v[:len("finished pass")] != "finished pass" {
			t.Fatalf("clean run did not finish: %s", v)
		}
	}
	for _, seed := range []uint64{2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			got := deliverWithFaults(t, &faults{rnd: rand.New(rand.NewPCG(seed, 7)), deliver5xx: 0.1, timeout: 0.1, publish5xx: 0.1})
			if !reflect.DeepEqual(got, clean) {
				for id, want := range clean {
					if got[id] != want {
						t.Errorf("run %s:\n got %s\nwant %s", id, got[id], want)
					}
				}
				t.Fatalf("%d runs with faults, %d clean", len(got), len(clean))
			}
		})
	}
}
