package function

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/deployer/knative"
	"github.com/slipwayhq/slipway/shared/keptn"
)

func TestStartOutsideACluster(t *testing.T) {
	t.Setenv("K_SINK", "http://127.0.0.1:1")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if err := New().Start(context.Background(), nil); !errors.Is(err, knative.ErrNotInCluster) {
		t.Fatalf("got %v, want ErrNotInCluster", err)
	}
}

func TestStartNeedsSink(t *testing.T) {
	t.Setenv("K_SINK", "")
	if err := New().Start(context.Background(), nil); err == nil {
		t.Fatal("want a config error without K_SINK")
	}
}

func TestFakeClusterStartAndHandle(t *testing.T) {
	f := New()
	if err := f.Handle(context.Background(), keptnEvent(t, "sh.keptn.event.test.triggered")); err == nil {
		t.Fatal("Handle before Start must fail")
	}
	t.Setenv("K_SINK", "http://127.0.0.1:1")
	t.Setenv("DEPLOY_FAKE_CLUSTER", "true")
	if err := f.Start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	// Another task's event is acked without a reply.
	if err := f.Handle(context.Background(), keptnEvent(t, "sh.keptn.event.test.triggered")); err != nil {
		t.Fatalf("foreign task: %v", err)
	}
	if err := f.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func keptnEvent(t *testing.T, typ string) event.Event {
	t.Helper()
	e, err := keptn.NewEvent(typ, keptn.Meta{ID: "1", Source: "t", Time: time.Now(), Context: "c"}, map[string]any{"project": "p", "stage": "s", "service": "x"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}
