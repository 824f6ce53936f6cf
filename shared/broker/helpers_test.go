package broker

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/slipwayhq/slipway/shared/broker/filter"
	"github.com/slipwayhq/slipway/shared/broker/trigger"
)

// received is one request a sink got.
type received struct {
	Event  event.Event
	Header http.Header
}

// sink is a subscriber on 127.0.0.1:0 that records events and answers with
// respond (default 202).
type sink struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	respond func(n int, e event.Event, w http.ResponseWriter, r *http.Request)
}

func newSink(t *testing.T, respond func(n int, e event.Event, w http.ResponseWriter, r *http.Request)) *sink {
	t.Helper()
	s := &sink{respond: respond}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := binding.ToEvent(r.Context(), cehttp.NewMessageFromHttpRequest(r))
		if err != nil {
			t.Errorf("sink got a non-event: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.got = append(s.got, received{Event: *ev, Header: r.Header.Clone()})
		n := len(s.got)
		s.mu.Unlock()
		if s.respond != nil {
			s.respond(n, *ev, w, r)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sink) events() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func newBroker(t *testing.T, opts Options) *Broker {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	}
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return b
}

func uriTrigger(name, url string, attrs map[string]string, d *trigger.Delivery) trigger.Trigger {
	return trigger.Trigger{
		Name: name, Broker: "default",
		Filter:     filter.Spec{Attributes: attrs},
		Subscriber: trigger.Destination{URI: url},
		Delivery:   d,
	}
}

func newEvent(id, typ string) event.Event {
	e := event.New()
	e.SetID(id)
	e.SetType(typ)
	e.SetSource("/test")
	_ = e.SetData(event.ApplicationJSON, map[string]string{"id": id})
	return e
}

// post sends e to url in binary or structured mode and returns the status.
func post(t *testing.T, url string, e event.Event, structured bool) int {
	t.Helper()
	ctx := binding.WithForceBinary(context.Background())
	if structured {
		ctx = binding.WithForceStructured(context.Background())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(&e), req); err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func postRaw(t *testing.T, url string, header http.Header, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// replyWith writes e as a binary-mode reply with status 200.
func replyWith(t *testing.T, w http.ResponseWriter, e event.Event) {
	t.Helper()
	if err := cehttp.WriteResponseWriter(binding.WithForceBinary(context.Background()), binding.ToMessage(&e), http.StatusOK, w); err != nil {
		t.Errorf("write reply: %v", err)
	}
}

func noBackoff(retry int32) *trigger.Delivery { return &trigger.Delivery{Retry: retry} }

func itoa(i int) string { return strconv.Itoa(i) }

func newIngress(t *testing.T, b *Broker) string {
	t.Helper()
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	return srv.URL
}
