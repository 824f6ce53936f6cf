package function

import (
	"context"
	"github.com/cloudevents/sdk-go/v2/event"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/keptn"
)

func TestStartAndHandle(t *testing.T) {
	f := New()
	if err := f.Handle(context.Background(), keptnEvent(t)); err == nil {
		t.Fatal("Handle before Start must fail")
	}
	t.Setenv("K_SINK", "http://127.0.0.1:1")
	t.Setenv("RESOURCE_SERVICE_URL", "http://127.0.0.1:1")
	if err := f.Start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	// A foreign event type is acked without touching the network.
	e := keptnEvent(t)
	e.SetType("com.example.other")
	if err := f.Handle(context.Background(), e); err != nil {
		t.Fatalf("foreign event: %v", err)
	}
	if err := f.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestStartNeedsConfig(t *testing.T) {
	t.Setenv("K_SINK", "")
	if err := New().Start(context.Background(), nil); err == nil {
		t.Fatal("want a config error without K_SINK")
	}
}

func keptnEvent(t *testing.T) event.Event {
	t.Helper()
	e, err := keptn.NewEvent("sh.keptn.event.deployment.triggered", keptn.Meta{ID: "1", Source: "t", Time: time.Now(), Context: "c"}, map[string]any{"project": "p"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}
