package broker

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/broker/trigger"
)

func TestNewErrors(t *testing.T) {
	ref := func(name string) trigger.Trigger {
		return trigger.Trigger{Name: "t-" + name, Broker: "default", Subscriber: trigger.Destination{Ref: &trigger.Ref{Kind: "Service", Name: name}}}
	}
	tests := map[string]struct {
		opts    Options
		wantErr string
	}{
		"unknown subscriber": {opts: Options{Triggers: []trigger.Trigger{ref("ghost")}, Services: map[string]string{"control-plane": "http://127.0.0.1:1"}},
			wantErr: `trigger "t-ghost" (): subscriber: unknown subscriber Service "ghost"`},
		"unknown dead letter sink": {opts: Options{Triggers: []trigger.Trigger{{Name: "t", Broker: "default", Subscriber: trigger.Destination{URI: "http://127.0.0.1:1"},
			Delivery: &trigger.Delivery{DeadLetterSink: &trigger.Destination{Ref: &trigger.Ref{Kind: "Service", Name: "dlq"}}}}}},
			wantErr: `deadLetterSink: unknown subscriber Service "dlq"`},
		"duplicate trigger":   {opts: Options{Triggers: []trigger.Trigger{ref("a"), ref("a")}, Services: map[string]string{"a": "http://127.0.0.1:1"}}, wantErr: "defined twice"},
		"missing trigger dir": {opts: Options{TriggerDirs: []string{"testdata/does-not-exist"}}, wantErr: "read trigger dir"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := New(tc.opts)
			if err == nil {
				_ = b.Close(context.Background())
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestTriggersFromDirAndBrokerName(t *testing.T) {
	b := newBroker(t, Options{
		Name:        "default",
		TriggerDirs: []string{"trigger/testdata/triggers"},
		Services:    map[string]string{"control-plane": "http://127.0.0.1:1", "dlq": "http://127.0.0.1:2", "executor": "http://127.0.0.1:3"},
		Triggers:    []trigger.Trigger{{Name: "elsewhere", Broker: "other", Subscriber: trigger.Destination{URI: "http://127.0.0.1:4"}}},
	})
	got := strings.Join(b.Triggers(), ",")
	if got != "control-plane-triggered,control-plane-finished,executor" {
		t.Fatalf("triggers = %s", got)
	}
}

func TestCloseDrains(t *testing.T) {
	gate := make(chan struct{})
	s := newSink(t, func(_ int, _ event.Event, w http.ResponseWriter, _ *http.Request) {
		<-gate
		w.WriteHeader(http.StatusAccepted)
	})
	b, err := New(Options{Triggers: []trigger.Trigger{uriTrigger("t", s.URL, nil, nil)}, Workers: 2, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	ing := newIngress(t, b)
	const n = 20
	for i := range n {
		if err := b.Publish(context.Background(), newEvent(itoa(i), "a")); err != nil {
			t.Fatal(err)
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- b.Close(context.Background()) }()
	eventually(t, "ingress refuses while closing", func() bool {
		return errors.Is(b.Publish(context.Background(), newEvent("late", "a")), ErrClosed)
	})
	if code := post(t, ing, newEvent("late2", "a"), false); code != http.StatusServiceUnavailable {
		t.Fatalf("ingress while closing: %d", code)
	}
	close(gate)
	if err := <-closed; err != nil {
		t.Fatalf("close: %v", err)
	}
	// Publishes racing the start of Close may have been accepted: all
	// accepted events must have been delivered.
	st := b.Stats()
	if st.Accepted < n || int64(s.count()) != st.Accepted || st.Delivered != st.Accepted {
		t.Fatalf("accepted %d, delivered %d, subscriber got %d", st.Accepted, st.Delivered, s.count())
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestCloseGivesUp(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	s := newSink(t, func(_ int, _ event.Event, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	})
	b, err := New(Options{Triggers: []trigger.Trigger{uriTrigger("t", s.URL, nil, nil)}, Workers: 1, AttemptTimeout: -1, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := b.Publish(context.Background(), newEvent(itoa(i), "a")); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "first attempt in flight", func() bool { return s.count() == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("close = %v, want context.Canceled", err)
	}
	dl := b.DeadLetters()
	if len(dl) != 3 {
		t.Fatalf("dead letters = %d, want 3", len(dl))
	}
	for _, d := range dl {
		if !strings.Contains(d.Reason, "broker closed") {
			t.Fatalf("dead letter %+v", d)
		}
	}
	if st := b.Stats(); st.Pending != 0 {
		t.Fatalf("pending after close: %+v", st)
	}
}

func TestPublishInvalid(t *testing.T) {
	b := newBroker(t, Options{})
	e := event.New()
	if err := b.Publish(context.Background(), e); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Publish(ctx, newEvent("1", "a")); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestBusy(t *testing.T) {
	gate := make(chan struct{})
	s := newSink(t, func(_ int, _ event.Event, w http.ResponseWriter, r *http.Request) {
		select {
		case <-gate:
		case <-r.Context().Done():
		}
	})
	// Cleanups run last-registered first: the gate opens before the sink's
	// Close, which waits for the delivery blocked in the handler (the test
	// hung in CI when the worker had delivered before cleanup).
	t.Cleanup(func() { close(gate) })
	b, err := New(Options{Triggers: []trigger.Trigger{uriTrigger("t", s.URL, nil, nil)}, MaxPending: 2, Workers: 1, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = b.Close(ctx)
	})
	for i := range 2 {
		if err := b.Publish(context.Background(), newEvent(itoa(i), "a")); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Publish(context.Background(), newEvent("3", "a")); !errors.Is(err, ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy", err)
	}
}

func TestDeadLetterRing(t *testing.T) {
	r := newRing(3)
	for i := range 5 {
		r.add(DeadLetter{Reason: itoa(i)})
	}
	var got []string
	for _, d := range r.list() {
		got = append(got, d.Reason)
	}
	if strings.Join(got, ",") != "2,3,4" {
		t.Fatalf("ring = %v", got)
	}
	if n := len(newRing(3).list()); n != 0 {
		t.Fatalf("empty ring has %d", n)
	}
}

func TestMeasureRelay(t *testing.T) {
	r, err := MeasureRelay(context.Background(), 200)
	if err != nil {
		t.Fatal(err)
	}
	if r.DeliveriesPerSec <= 0 || r.HopsPerSec <= 0 {
		t.Fatalf("relay = %+v", r)
	}
	// A run of 10 deliveries and no ingress can go no faster than the
	// delivery rate allows; ingress only makes it slower.
	if got, want := r.IdealRunsPerSec(0, 10), r.DeliveriesPerSec/10; got < want*0.999 || got > want*1.001 {
		t.Fatalf("ideal(0, 10) = %v, want %v", got, want)
	}
	if r.IdealRunsPerSec(5, 10) > r.IdealRunsPerSec(0, 10) {
		t.Fatal("ingress made the ideal faster")
	}
	if _, err := MeasureRelay(context.Background(), 0); err == nil {
		t.Fatal("n=0: want error")
	}
}
