package k8sjob

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/taskrunner"
)

type oneFile string

func (f oneFile) Get(_ context.Context, _, stage, _, uri, _ string) ([]byte, error) {
	if stage == "" && uri == taskrunner.DefinitionURI("ctr") {
		return []byte(f), nil
	}
	return nil, executor.ErrNotFound
}

// TestTaskRunnerWithJobs runs a container definition end to end: event in,
// Job in the (fake) cluster, .finished out.
func TestTaskRunnerWithJobs(t *testing.T) {
	cs := fake.NewClientset()
	var mu sync.Mutex
	var sent []event.Event
	sender := taskrunner.SenderFunc(func(_ context.Context, e event.Event) error {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, e)
		return nil
	})
	def := oneFile("apiVersion: lifecycle.keptn.sh/v1\nkind: KeptnTaskDefinition\nmetadata: {name: ctr}\nspec:\n  container: {image: busybox, command: [\"true\"]}\n  retries: 0\n")
	tr, err := taskrunner.New(taskrunner.Config{JobNamespace: "tasks", SecretsDir: t.TempDir()}, taskrunner.Deps{Resources: def, Sender: sender, Jobs: New(cs, Options{})})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := keptn.NewEvent("sh.keptn.event.ctr.triggered", keptn.Meta{ID: "t-1", Source: "test", Time: time.Now(), Context: "c-1"}, map[string]any{"project": "p", "stage": "s", "service": "svc"})
	if err := tr.Handle(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	name := taskrunner.JobName("t-1", "ctr", 1)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := cs.BatchV1().Jobs("tasks").Get(context.Background(), name, metav1.GetOptions{}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("job never created")
		}
		time.Sleep(5 * time.Millisecond)
	}
	setCondition(t, cs, name, batchv1.JobComplete, "", "")
	tr.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(sent) != 2 || sent[1].Type() != "sh.keptn.event.ctr.finished" {
		t.Fatalf("sent %d events", len(sent))
	}
	d, _, _ := keptn.DecodeData(sent[1])
	if d.Status != keptn.StatusSucceeded || d.Result != keptn.ResultPass {
		t.Fatalf("finished %+v", d)
	}
}
