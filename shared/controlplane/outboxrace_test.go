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

const twoTasks = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: o}
spec:
  stages:
    - name: dev
      sequences: [{name: delivery, tasks: [{name: deploy}, {name: test}]}]
`

// gate is a broker whose first publish of one event type blocks until
// released and then fails, as a broker that times out would.
type gate struct {
	flaky
	typ     string
	once    sync.Once
	held    chan event.Event
	release chan struct{}
}

func (g *gate) Publish(ctx context.Context, e event.Event) error {
	block := false
	if e.Type() == g.typ {
		g.once.Do(func() { block = true })
	}
	if !block {
		return g.flaky.Publish(ctx, e)
	}
	g.held <- e
	<-g.release
	return errors.New("broker timed out")
}

// TestConfirmationCoversOnlyPublishedEntries: a handler still publishing
// entry 1 while a later transition of the same run publishes and confirms
// entry 2; the first publish then fails. The confirmation must stop before
// entry 1, so the redelivered trigger (and the sweeper) still send it.
func TestConfirmationCoversOnlyPublishedEntries(t *testing.T) {
	for name, open := range drivers {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			seedProject(t, st, "o", twoTasks)
			br := &gate{typ: "sh.keptn.event.deploy.triggered", held: make(chan event.Event, 1), release: make(chan struct{})}
			clk := &clock{now: time.Unix(1000, 0)}
			cp := controlplane.New(st, br, engine.New(engine.Config{StartedTimeout: time.Hour}), controlplane.WithClock(clk.Now))

			first := make(chan error, 1)
			go func() { first <- cp.Handle(ctx, trigger(t, "a")) }()
			deployTriggered := <-br.held // entry 1 is in flight

			// The executor answered from an earlier delivery attempt: its
			// .finished moves the run on, which publishes test.triggered
			// (entry 2) and confirms.
			fin, err := keptn.Respond(deployTriggered, keptn.KindFinished,
				keptn.Meta{ID: "deploy-finished", Source: "exec", Time: time.Unix(1001, 0)},
				keptn.Data{Status: keptn.StatusSucceeded, Result: keptn.ResultPass}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := cp.Handle(ctx, fin); err != nil {
				t.Fatal(err)
			}
			if n := br.count("sh.keptn.event.test.triggered"); n != 1 {
				t.Fatalf("test.triggered published %d times, want 1", n)
			}
			close(br.release)
			if err := <-first; err == nil {
				t.Fatal("the failed publish must answer an error so the broker redelivers")
			}
			// Entry 1 is still unconfirmed: the redelivery publishes it.
			if err := cp.Handle(ctx, trigger(t, "a")); err != nil {
				t.Fatal(err)
			}
			if n := br.count("sh.keptn.event.deploy.triggered/" + deployTriggered.ID()); n != 1 {
				t.Fatalf("deploy.triggered published %d times after the redelivery, want 1 (confirmed without being published)", n)
			}
			// And now everything is confirmed: the sweeper sends nothing more.
			clk.Add(31 * time.Second)
			if _, err := cp.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			if n := br.count("sh.keptn.event.deploy.triggered"); n != 1 {
				t.Fatalf("deploy.triggered published %d times after the sweep, want 1", n)
			}
		})
	}
}
