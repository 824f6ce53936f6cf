package controlplane_test

import (
	"context"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/controlplane"
	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/store"
)

// TestClaimTask: one claim per worker and task succeeds, across instances
// (and so across restarts: the claim is in the run's document), and a task
// that is no longer open cannot be claimed.
func TestClaimTask(t *testing.T) {
	for name, open := range drivers {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			seedProject(t, st, "o", oneTask)
			br := &capture{}
			cp := controlplane.New(st, br, engine.New(engine.Config{}))
			if err := cp.Handle(ctx, trigger(t, "a")); err != nil {
				t.Fatal(err)
			}
			tr, ok := br.last("sh.keptn.event.deploy.triggered")
			if !ok {
				t.Fatal("deploy.triggered not published")
			}
			other := controlplane.New(st, br, engine.New(engine.Config{})) // another instance, or after a restart
			steps := []struct {
				name       string
				cp         *controlplane.Service
				id, worker string
				want       controlplane.ClaimOutcome
			}{
				{"first claim", cp, tr.ID(), "generic-executor", controlplane.Claimed},
				{"redelivery", cp, tr.ID(), "generic-executor", controlplane.AlreadyClaimed},
				{"another instance", other, tr.ID(), "generic-executor", controlplane.AlreadyClaimed},
				{"another worker", other, tr.ID(), "webhook", controlplane.Claimed},
				{"unknown task", cp, "no-such-id", "generic-executor", controlplane.NotOpen},
			}
			for _, s := range steps {
				got, err := s.cp.ClaimTask(ctx, "o", s.id, s.worker)
				if err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				if got != s.want {
					t.Fatalf("%s: %s, want %s", s.name, got, s.want)
				}
			}
			// The claims do not disturb the run: its .finished applies.
			fin, err := keptn.Respond(tr, keptn.KindFinished, keptn.Meta{ID: "fin", Source: "exec", Time: time.Unix(2000, 0)},
				keptn.Data{Status: keptn.StatusSucceeded, Result: keptn.ResultPass}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := other.Handle(ctx, fin); err != nil {
				t.Fatal(err)
			}
			if _, ok := br.last("sh.keptn.event.dev.delivery.finished"); !ok {
				t.Fatal("run did not finish after claims")
			}
			// Finished: a redelivered .triggered must not run again. The
			// history (fed by the broker in the runtime) gives its context.
			if err := st.AppendEvent(ctx, &store.Event{ID: tr.ID(), Project: "o", KeptnContext: keptn.Context(tr), Type: tr.Type(),
				Stage: "dev", Service: "svc", Time: tr.Time(), Body: []byte("{}")}); err != nil {
				t.Fatal(err)
			}
			if got, err := cp.ClaimTask(ctx, "o", tr.ID(), "generic-executor"); err != nil || got != controlplane.Done {
				t.Fatalf("claim after the task finished: %s, %v; want done", got, err)
			}
		})
	}
}
