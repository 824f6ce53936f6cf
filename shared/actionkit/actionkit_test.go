package actionkit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/keptn"
)

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

func (r *recorder) all() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Event(nil), r.events...)
}

func triggered(t *testing.T, id, action string, value any) event.Event {
	t.Helper()
	e, err := keptn.NewEvent(TriggeredType, keptn.Meta{ID: id, Source: "shipyard-controller", Time: time.Now(), Context: "ctx"}, map[string]any{
		"project": "p", "stage": "prod", "service": "svc", "labels": map[string]any{"l": "v"},
		"action":  map[string]any{"name": "Scale it", "action": action, "value": value},
		"problem": map[string]any{"problemTitle": "CPU"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestProvider(t *testing.T) {
	release := make(chan struct{})
	actions := map[string]ActionFunc{
		"scale": func(ctx context.Context, a Action) (Outcome, error) {
			if a.StringValue("replicas") != "3" || a.Problem["problemTitle"] != "CPU" || a.Name != "Scale it" || a.Labels["l"] != "v" {
				return Outcome{}, errors.New("bad input")
			}
			return Outcome{Message: "scaled to 3", Data: map[string]any{"gitCommit": "abc"}}, nil
		},
		"fail": func(ctx context.Context, a Action) (Outcome, error) {
			return Outcome{Result: keptn.ResultFail, Message: "no"}, nil
		},
		"error": func(ctx context.Context, a Action) (Outcome, error) { return Outcome{}, errors.New("broken") },
		"panic": func(ctx context.Context, a Action) (Outcome, error) { panic("oops") },
		"wait": func(ctx context.Context, a Action) (Outcome, error) {
			select {
			case <-ctx.Done():
				return Outcome{}, ctx.Err()
			case <-release:
				return Outcome{}, nil
			}
		},
	}
	tests := map[string]struct {
		action string
		value  any
		status keptn.Status
		result keptn.Result
		msg    string
	}{
		"supported": {"scale", map[string]any{"replicas": 3}, keptn.StatusSucceeded, keptn.ResultPass, "scaled to 3"},
		"fail":      {"fail", "x", keptn.StatusSucceeded, keptn.ResultFail, "no"},
		"error":     {"error", nil, keptn.StatusErrored, keptn.ResultFail, "broken"},
		"panic":     {"panic", nil, keptn.StatusErrored, keptn.ResultFail, "action panic panicked: oops"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			p := New("my-provider", actions, rec, nil)
			e := triggered(t, "t-"+name, tc.action, tc.value)
			if err := p.Handle(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			p.Wait()
			ev := rec.all()
			if len(ev) != 2 || ev[0].Type() != "sh.keptn.event.action.started" || ev[1].Type() != "sh.keptn.event.action.finished" {
				t.Fatalf("events %v", ev)
			}
			for _, r := range ev {
				if keptn.TriggeredID(r) != e.ID() || keptn.Context(r) != "ctx" || r.Source() != "my-provider" {
					t.Fatalf("attributes %v", r)
				}
			}
			d, m, _ := keptn.DecodeData(ev[1])
			if d.Status != tc.status || d.Result != tc.result || d.Message != tc.msg || d.Project != "p" || d.Labels["l"] != "v" {
				t.Fatalf("finished %+v", d)
			}
			if name == "supported" {
				if a, _ := m["action"].(map[string]any); a["gitCommit"] != "abc" {
					t.Fatalf("data.action %v", m["action"])
				}
			}
		})
	}
	t.Run("unsupported emits nothing", func(t *testing.T) {
		rec := &recorder{}
		p := New("my-provider", actions, rec, nil)
		if err := p.Handle(context.Background(), triggered(t, "u", "reboot", nil)); err != nil {
			t.Fatal(err)
		}
		p.Wait()
		if len(rec.all()) != 0 {
			t.Fatalf("events %v", rec.all())
		}
	})
	t.Run("abort", func(t *testing.T) {
		rec := &recorder{}
		p := New("my-provider", actions, rec, nil)
		e := triggered(t, "w", "wait", nil)
		if err := p.Handle(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		ab, _ := keptn.NewEvent(AbortedType, keptn.Meta{ID: "a", Source: "shipyard-controller", Time: time.Now(), Context: "ctx", TriggeredID: e.ID()}, map[string]any{"project": "p"})
		if err := p.Handle(context.Background(), ab); err != nil {
			t.Fatal(err)
		}
		p.Wait()
		ev := rec.all()
		d, _, _ := keptn.DecodeData(ev[len(ev)-1])
		if len(ev) != 2 || d.Status != keptn.StatusErrored || d.Message != "aborted" {
			t.Fatalf("events %d finished %+v", len(ev), d)
		}
	})
	t.Run("timeout and sync", func(t *testing.T) {
		rec := &recorder{}
		p := New("my-provider", actions, rec, &Options{Timeout: 50 * time.Millisecond, Sync: true})
		if err := p.Handle(context.Background(), triggered(t, "to", "wait", nil)); err != nil {
			t.Fatal(err)
		}
		ev := rec.all()
		d, _, _ := keptn.DecodeData(ev[len(ev)-1])
		if len(ev) != 2 || d.Status != keptn.StatusErrored || d.Message != "action wait: timeout after 50ms" {
			t.Fatalf("events %d finished %+v", len(ev), d)
		}
	})
	close(release)
}
