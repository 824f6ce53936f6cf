package controlplane_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/controlplane"
	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/keptn"
)

// flaky is a broker that refuses while down.
type flaky struct {
	mu   sync.Mutex
	down bool
	got  []string // types accepted, in order
}

func (f *flaky) Publish(_ context.Context, e event.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errors.New("broker unavailable")
	}
	f.got = append(f.got, e.Type()+"/"+e.ID())
	return nil
}

func (f *flaky) set(down bool) { f.mu.Lock(); f.down = down; f.mu.Unlock() }
func (f *flaky) count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, g := range f.got {
		if len(g) >= len(prefix) && g[:len(prefix)] == prefix {
			n++
		}
	}
	return n
}

const oneTask = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: o}
spec:
  stages:
    - name: dev
      sequences: [{name: delivery, tasks: [{name: deploy}]}]
`

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }
func trigger(t *testing.T, id string) event.Event {
	return triggerFor(t, id, "svc")
}

func triggerFor(t *testing.T, id, service string) event.Event {
	t.Helper()
	ev, err := keptn.NewEvent(keptn.SequenceType("dev", "delivery", keptn.KindTriggered),
		keptn.Meta{ID: id, Source: "t", Time: time.Unix(100, 0), Context: "ctx-" + id},
		map[string]any{"project": "o", "stage": "dev", "service": service})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestOutbox(t *testing.T) {
	for name, open := range drivers {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			seedProject(t, st, "o", oneTask)
			br := &flaky{}
			clk := &clock{now: time.Unix(1000, 0)}
			cp := controlplane.New(st, br, engine.New(engine.Config{StartedTimeout: time.Hour}), controlplane.WithClock(clk.Now))

			// A failed publish answers an error (5xx: the broker retries); the
			// redelivered trigger is not applied again but republishes.
			br.set(true)
			if err := cp.Handle(ctx, trigger(t, "a")); err == nil {
				t.Fatal("publish failure must be reported so the broker redelivers")
			}
			br.set(false)
			if err := cp.Handle(ctx, trigger(t, "a")); err != nil {
				t.Fatal(err)
			}
			if n := br.count("sh.keptn.event.deploy.triggered"); n != 1 {
				t.Fatalf("deploy.triggered published %d times, want 1", n)
			}
			runs, _, _ := st.ListRuns(ctx, storeQuery("o"), page0)
			if len(runs) != 1 {
				t.Fatalf("%d runs, want 1 (redelivery must not create another)", len(runs))
			}

			// A publish failure that is never redelivered: the sweeper sends
			// the unconfirmed entries after OutboxRetry (30 s), not before.
			br.set(true)
			_ = cp.Handle(ctx, triggerFor(t, "b", "other")) // its own lane: it starts at once
			br.set(false)
			if _, err := cp.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			if n := br.count("sh.keptn.event.deploy.triggered"); n != 1 {
				t.Fatalf("swept before the retry time: %d", n)
			}
			clk.Add(31 * time.Second)
			if _, err := cp.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			if n := br.count("sh.keptn.event.deploy.triggered"); n != 2 {
				t.Fatalf("after the sweep deploy.triggered published %d times, want 2", n)
			}
			// Confirmed entries are not sent again.
			clk.Add(31 * time.Second)
			if _, err := cp.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			if n := br.count("sh.keptn.event.deploy.triggered"); n != 2 {
				t.Fatalf("confirmed entries republished: %d", n)
			}
			// The sweeper fires the started-timeout.
			clk.Add(time.Hour)
			if _, err := cp.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			if n := br.count("sh.keptn.event.dev.delivery.finished"); n != 2 {
				t.Fatalf("timed-out runs published %d .finished, want 2", n)
			}
		})
	}
}
