package function

import (
	"context"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/keptn"
)

func TestStartAndHandle(t *testing.T) {
	f := New()
	e, err := keptn.NewEvent("com.example.other", keptn.Meta{ID: "1", Source: "test", Time: time.Now(), Context: "c"}, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Handle(context.Background(), e); err == nil {
		t.Fatal("Handle before Start must fail")
	}
	t.Setenv("K_SINK", "http://127.0.0.1:1")
	t.Setenv("KEPTN_API_URL", "http://127.0.0.1:1")
	if err := f.Start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	// A foreign event type is acked without touching the network.
	if err := f.Handle(context.Background(), e); err != nil {
		t.Fatalf("foreign event: %v", err)
	}
	if err := f.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestStartNeedsConfig(t *testing.T) {
	t.Setenv("K_SINK", "")
	t.Setenv("KEPTN_API_URL", "")
	if err := New().Start(context.Background(), nil); err == nil {
		t.Fatal("want a config error without K_SINK and KEPTN_API_URL")
	}
}
