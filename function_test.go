package slipway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/slipwayhq/slipway/shared/keptn"
)

// The function starts from the environment, answers 400 for a malformed
// sequence trigger and publishes the approval responses to K_SINK.
func TestFunction(t *testing.T) {
	var mu sync.Mutex
	var got []string
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Ce-Type"))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer sink.Close()
	t.Setenv("K_SINK", sink.URL)
	t.Setenv("FIRESTORE_EMULATOR_HOST", "")
	t.Setenv("SLIPWAY_STORE_PATH", filepath.Join(t.TempDir(), "cp.db"))
	f := New()
	if ok, _ := f.Ready(context.Background()); ok {
		t.Fatal("ready before Start")
	}
	if err := f.Start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	defer f.Stop(context.Background())

	bad, _ := keptn.NewEvent(keptn.SequenceType("dev", "delivery", keptn.KindTriggered),
		keptn.Meta{ID: "1", Source: "t", Time: time.Now(), Context: "c"}, map[string]any{"project": "p"})
	if res := f.Handle(context.Background(), bad); httpStatus(res) != http.StatusBadRequest {
		t.Fatalf("malformed trigger: %v, want a 400 result", res)
	}
	appr, _ := keptn.NewEvent(keptn.TaskType("approval", keptn.KindTriggered),
		keptn.Meta{ID: "2", Source: "t", Time: time.Now(), Context: "c"},
		map[string]any{"project": "p", "stage": "s", "service": "x", "result": "pass", "approval": map[string]any{"pass": "automatic"}})
	if err := f.Handle(context.Background(), appr); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] != "sh.keptn.event.approval.started" || got[1] != "sh.keptn.event.approval.finished" {
		t.Fatalf("published %v", got)
	}
}

func httpStatus(res error) int {
	var r *cehttp.Result
	if cloudevents.ResultAs(res, &r) {
		return r.StatusCode
	}
	return 0
}
