package function

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/slipwayhq/slipway/shared/keptn"
)

func TestStartNeedsConfig(t *testing.T) {
	t.Setenv("K_SINK", "")
	t.Setenv("RESOURCE_SERVICE_URL", "")
	if err := New().Start(context.Background(), nil); err == nil {
		t.Fatal("want a config error without K_SINK and RESOURCE_SERVICE_URL")
	}
}

// TestTriggeredToFinished runs the function against a fake broker and a
// fake resource-service, both on 127.0.0.1.
func TestTriggeredToFinished(t *testing.T) {
	var mu sync.Mutex
	var got []event.Event
	broker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, *e)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer broker.Close()
	def := "apiVersion: lifecycle.keptn.sh/v1\nkind: KeptnTaskDefinition\nmetadata: {name: smoke}\nspec:\n  python:\n    inline:\n      code: print('smoke ok')\n"
	resources := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-token") != "tok" || !strings.HasSuffix(r.URL.EscapedPath(), "/project/p/resource/task-definitions%2Fsmoke.yaml") {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"resourceContent": base64.StdEncoding.EncodeToString([]byte(def))})
	}))
	defer resources.Close()
	t.Setenv("K_SINK", broker.URL)
	t.Setenv("RESOURCE_SERVICE_URL", resources.URL)
	t.Setenv("KEPTN_API_TOKEN", "tok")
	t.Setenv("SECRETS_DIR", t.TempDir())
	work := t.TempDir() // tasks run on another uid as root: it must reach the dir, as /tmp
	for _, d := range []string{work, filepath.Dir(work)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("WORK_DIR", work)
	t.Setenv("KUBERNETES_SERVICE_HOST", "")

	f := New()
	if err := f.Handle(context.Background(), triggered(t, "other")); err == nil {
		t.Fatal("Handle before Start must fail")
	}
	if err := f.Start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	foreign := triggered(t, "smoke")
	foreign.SetType("com.example.other")
	if err := f.Handle(context.Background(), foreign); err != nil {
		t.Fatal(err)
	}
	e := triggered(t, "smoke")
	if err := f.Handle(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker got %d events", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := f.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0].Type() != "sh.keptn.event.smoke.started" || got[1].Type() != "sh.keptn.event.smoke.finished" {
		t.Fatalf("events %v", got)
	}
	d, m, err := keptn.DecodeData(got[1])
	if err != nil || d.Status != keptn.StatusSucceeded || d.Result != keptn.ResultPass || keptn.TriggeredID(got[1]) != e.ID() {
		t.Fatalf("finished %+v %v", d, err)
	}
	if b, _ := json.Marshal(m["smoke"]); !strings.Contains(string(b), "smoke ok") {
		t.Fatalf("output missing: %s", b)
	}
}

func triggered(t *testing.T, task string) event.Event {
	t.Helper()
	e, err := keptn.NewEvent(keptn.TaskType(task, keptn.KindTriggered), keptn.Meta{ID: "t-" + task, Source: "test", Time: time.Now(), Context: "c"}, map[string]any{"project": "p", "stage": "dev", "service": "svc"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}
