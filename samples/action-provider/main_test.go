package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
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

func post(t *testing.T, url string, e event.Event) int {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/cloudevents+json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestProviderOverHTTP(t *testing.T) {
	rec := &recorder{}
	p := newProvider(rec, nil)
	h, err := newHandler(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = l
	srv.Start()
	defer srv.Close()

	tests := map[string]struct {
		action string
		value  any
		events int
		result keptn.Result
		msg    string
	}{
		"scale":         {"scale", map[string]any{"replicas": 3}, 2, keptn.ResultPass, "scaled svc in p/prod to 3 replicas"},
		"scale too big": {"scale", map[string]any{"replicas": 50}, 2, keptn.ResultFail, `value.replicas must be 1..10, got "50"`},
		"echo":          {"echo", "hello", 2, keptn.ResultPass, "hello"},
		"not ours":      {"reboot", nil, 0, "", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec.mu.Lock()
			rec.events = nil
			rec.mu.Unlock()
			e, _ := keptn.NewEvent("sh.keptn.event.action.triggered", keptn.Meta{ID: "id-" + name, Source: "shipyard-controller", Time: time.Now(), Context: "ctx"},
				map[string]any{"project": "p", "stage": "prod", "service": "svc", "action": map[string]any{"action": tc.action, "value": tc.value}})
			if code := post(t, srv.URL, e); code/100 != 2 {
				t.Fatalf("status %d", code)
			}
			p.Wait()
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.events) != tc.events {
				t.Fatalf("events %d, want %d", len(rec.events), tc.events)
			}
			if tc.events == 0 {
				return
			}
			d, _, _ := keptn.DecodeData(rec.events[1])
			if d.Result != tc.result || d.Message != tc.msg || keptn.TriggeredID(rec.events[1]) != e.ID() {
				t.Fatalf("finished %+v", d)
			}
		})
	}
	bad := event.New()
	bad.SetID("x")
	bad.SetSource("t")
	bad.SetType("sh.keptn.event.action.triggered")
	_ = bad.SetData("application/json", []byte(`"not an object"`))
	if code := post(t, srv.URL, bad); code != 400 {
		t.Fatalf("malformed event: status %d, want 400", code)
	}
}
