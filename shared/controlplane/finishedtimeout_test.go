package controlplane_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/kelseyhightower/envconfig"

	"github.com/slipwayhq/slipway/shared/controlplane"
	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/keptn"
)

// capture is a broker that keeps every event.
type capture struct {
	mu  sync.Mutex
	evs []event.Event
}

func (c *capture) Publish(_ context.Context, e event.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evs = append(c.evs, e)
	return nil
}

func (c *capture) last(typ string) (event.Event, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.evs) - 1; i >= 0; i-- {
		if c.evs[i].Type() == typ {
			return c.evs[i], true
		}
	}
	return event.Event{}, false
}

// TestDefaultFinishedTimeoutEndsAnAbandonedTask: an executor that sent
// .started and died mid-script never sends .finished; with the default
// configuration (as the functions read it from the environment) the run
// ends as timed out instead of waiting forever.
func TestDefaultFinishedTimeoutEndsAnAbandonedTask(t *testing.T) {
	var cfg engine.Config
	if err := envconfig.Process("slipway_test_unset", &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.FinishedTimeout <= 0 {
		t.Fatalf("default TASK_FINISHED_TIMEOUT is %v: an abandoned task would wait forever", cfg.FinishedTimeout)
	}
	ctx := context.Background()
	st := drivers["embedded"](t)
	seedProject(t, st, "o", oneTask)
	br := &capture{}
	clk := &clock{now: time.Unix(1000, 0)}
	cp := controlplane.New(st, br, engine.New(cfg), controlplane.WithClock(clk.Now))
	if err := cp.Handle(ctx, trigger(t, "a")); err != nil {
		t.Fatal(err)
	}
	tr, ok := br.last("sh.keptn.event.deploy.triggered")
	if !ok {
		t.Fatal("deploy.triggered not published")
	}
	started, err := keptn.Respond(tr, keptn.KindStarted, keptn.Meta{ID: "started", Source: "exec", Time: clk.Now()},
		keptn.Data{Status: keptn.StatusSucceeded}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.Handle(ctx, started); err != nil {
		t.Fatal(err)
	}
	// Well past the started-timeout: .started stopped that clock.
	clk.Add(cfg.FinishedTimeout - time.Minute)
	if _, err := cp.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := br.last("sh.keptn.event.dev.delivery.finished"); ok {
		t.Fatal("the run ended before the finished-timeout")
	}
	clk.Add(2 * time.Minute)
	if _, err := cp.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	fin, ok := br.last("sh.keptn.event.dev.delivery.finished")
	if !ok {
		t.Fatal("the abandoned task's run did not end after the default finished-timeout")
	}
	d, _, err := keptn.DecodeData(fin)
	if err != nil {
		t.Fatal(err)
	}
	if d.Result != keptn.ResultFail {
		t.Fatalf("result %q, want fail", d.Result)
	}
	if _, ok := br.last("sh.keptn.event.deploy.aborted"); !ok {
		t.Fatal("the executor was not told to stop (deploy.aborted)")
	}
}
