package remediation

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/keptn"
)

const file = `apiVersion: spec.keptn.sh/0.1.4
kind: Remediation
metadata:
  name: service-remediation
spec:
  remediations:
    - problemType: Response time degradation
      actionsOnOpen:
        - name: Scale
          action: scaling
          description: Scale up
          value: "1"
        - name: Toggle
          action: featuretoggle
          description: Toggle feature
          value:
            EnableItemCache: "on"
    - problemType: default
      actionsOnOpen:
        - name: Default
          action: escalate
          description: Page someone
`

type recorder struct {
	mu     sync.Mutex
	events []event.Event
}

func (r *recorder) Send(_ context.Context, e event.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

func TestGetAction(t *testing.T) {
	tests := map[string]struct {
		problem map[string]any
		index   any
		status  keptn.Status
		result  keptn.Result
		action  map[string]any
		next    float64
	}{
		"root cause first": {
			problem: map[string]any{"rootCause": "Response time degradation", "problemTitle": "other"},
			status:  keptn.StatusSucceeded, result: keptn.ResultPass, next: 1,
			action: map[string]any{"name": "Scale", "action": "scaling", "description": "Scale up", "value": "1"},
		},
		"title second, index 1": {
			problem: map[string]any{"problemTitle": "Response time degradation"}, index: 1.0,
			status: keptn.StatusSucceeded, result: keptn.ResultPass, next: 2,
			action: map[string]any{"name": "Toggle", "action": "featuretoggle", "description": "Toggle feature", "value": map[string]any{"EnableItemCache": "on"}},
		},
		"default": {
			problem: map[string]any{"problemTitle": "unknown"},
			status:  keptn.StatusSucceeded, result: keptn.ResultPass, next: 1,
			action: map[string]any{"name": "Default", "action": "escalate", "description": "Page someone"},
		},
		"index past end": {
			problem: map[string]any{"rootCause": "Response time degradation"}, index: 2.0,
			status: keptn.StatusSucceeded, result: keptn.ResultFail,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := &executor.MemResources{}
			res.Put("p", "prod", "svc", URI, []byte(file))
			rec := &recorder{}
			h := New("", res, rec, nil)
			data := map[string]any{"project": "p", "stage": "prod", "service": "svc", "problem": tc.problem}
			if tc.index != nil {
				data["get-action"] = map[string]any{"actionIndex": tc.index}
			}
			e, _ := keptn.NewEvent("sh.keptn.event.get-action.triggered", keptn.Meta{ID: "t1", Source: "test", Time: time.Now(), Context: "c"}, data)
			if err := h.Handle(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			if len(rec.events) != 2 || rec.events[0].Type() != "sh.keptn.event.get-action.started" || rec.events[1].Type() != "sh.keptn.event.get-action.finished" {
				t.Fatalf("events %v", rec.events)
			}
			d, m, _ := keptn.DecodeData(rec.events[1])
			if d.Status != tc.status || d.Result != tc.result {
				t.Fatalf("status %s result %s message %q", d.Status, d.Result, d.Message)
			}
			if tc.action == nil {
				return
			}
			if !reflect.DeepEqual(m["action"], tc.action) {
				t.Fatalf("action %#v, want %#v", m["action"], tc.action)
			}
			if ga, _ := m["get-action"].(map[string]any); ga["actionIndex"] != tc.next {
				t.Fatalf("get-action %v", m["get-action"])
			}
			if keptn.TriggeredID(rec.events[1]) != "t1" {
				t.Fatal("triggeredid")
			}
		})
	}
}

func TestErrors(t *testing.T) {
	for name, content := range map[string]string{"missing": "", "bad version": "apiVersion: spec.keptn.sh/0.1.3\n", "bad yaml": "apiVersion: ["} {
		t.Run(name, func(t *testing.T) {
			res := &executor.MemResources{}
			if content != "" {
				res.Put("p", "prod", "svc", URI, []byte(content))
			}
			rec := &recorder{}
			e, _ := keptn.NewEvent("sh.keptn.event.get-action.triggered", keptn.Meta{ID: "t1", Source: "test", Time: time.Now(), Context: "c"}, map[string]any{"project": "p", "stage": "prod", "service": "svc"})
			if err := New("", res, rec, nil).Handle(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			d, _, _ := keptn.DecodeData(rec.events[1])
			if len(rec.events) != 2 || d.Status != keptn.StatusErrored || d.Result != keptn.ResultFail {
				t.Fatalf("%d events, %s/%s", len(rec.events), d.Status, d.Result)
			}
		})
	}
	if _, err := NextAction(File{}, "x", "", 0); !errors.Is(err, ErrNoAction) {
		t.Fatal(err)
	}
}
