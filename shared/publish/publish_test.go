package publish

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// Concurrent publishes reuse connections: with the default transport's two
// idle connections per host, most of them would dial a new one.
func TestPublishReusesConnections(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond) // keep requests overlapping
		w.WriteHeader(http.StatusAccepted)
	}))
	srv.Listener, _ = net.Listen("tcp", "127.0.0.1:0")
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	p, err := NewHTTP(srv.URL, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 32, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e := event.New()
				e.SetID(fmt.Sprintf("e-%d-%d", w, i))
				e.SetType("sh.keptn.event.test.triggered")
				e.SetSource("test")
				if err := p.Publish(context.Background(), e); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// The transport may dial a few more than there are goroutines (a dial
	// started for a request that then got a freed connection is kept); the
	// default transport opened about 240 here.
	if n := conns.Load(); n > 2*workers {
		t.Fatalf("%d publishes from %d goroutines opened %d connections, want at most %d", workers*each, workers, n, 2*workers)
	}
}

func testEvent(id string) event.Event {
	e := event.New()
	e.SetID(id)
	e.SetType("sh.keptn.event.test.triggered")
	e.SetSource("test")
	e.SetExtension("shkeptncontext", "ctx-1")
	e.SetExtension("attempt", 3)
	_ = e.SetData(event.ApplicationJSON, map[string]string{"project": "p"})
	return e
}

// The broker reads with sdk-go: what it gets is what was published, with
// the time set when the event had none.
func TestPublishSends(t *testing.T) {
	got := make(chan *event.Event, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := binding.ToEvent(r.Context(), cehttp.NewMessageFromHttpRequest(r))
		if err == nil {
			err = e.Validate()
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got <- e
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	p, err := NewHTTP(srv.URL, time.Second)
	if err != nil {
		t.Fatal(err)
	}

	e := testEvent("e1")
	before := time.Now()
	if err := p.Publish(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.ID() != "e1" || r.Type() != e.Type() || r.Source() != "test" || string(r.Data()) != string(e.Data()) ||
		r.DataContentType() != event.ApplicationJSON {
		t.Fatalf("sent %v\ngot %v", e, r)
	}
	if x := r.Extensions(); x["shkeptncontext"] != "ctx-1" || x["attempt"] != "3" {
		t.Fatalf("extensions %v", x)
	}
	if r.Time().Before(before.Add(-time.Millisecond)) || r.Time().After(time.Now()) {
		t.Fatalf("time %v, want about now", r.Time())
	}
	if !e.Time().IsZero() {
		t.Fatal("the caller's event was given a time")
	}

	at := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	e.SetTime(at)
	if err := p.Publish(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if r := <-got; !r.Time().Equal(at) {
		t.Fatalf("time %v, want %v", r.Time(), at)
	}
}

func TestPublishErrors(t *testing.T) {
	var calls atomic.Int64
	status := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "busy", status)
	}))
	p, err := NewHTTP(" "+srv.URL+" ", time.Second) // trimmed, as sdk-go's WithTarget did
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(t.Context(), testEvent("e1")); err == nil || !strings.Contains(err.Error(), "broker answered 503") {
		t.Fatalf("503: %v", err)
	}
	status = http.StatusBadRequest
	if err := p.Publish(t.Context(), testEvent("e2")); err == nil || !strings.Contains(err.Error(), "broker answered 400") {
		t.Fatalf("400: %v", err)
	}

	invalid := testEvent("e3")
	invalid.SetType("")
	n := calls.Load()
	if err := p.Publish(t.Context(), invalid); err == nil || !strings.Contains(err.Error(), "type") {
		t.Fatalf("invalid event: %v", err)
	}
	if calls.Load() != n {
		t.Fatal("an invalid event was sent")
	}

	srv.Close()
	if err := p.Publish(t.Context(), testEvent("e4")); err == nil || !strings.Contains(err.Error(), "publish sh.keptn.event.test.triggered e4") {
		t.Fatalf("closed server: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := p.Publish(ctx, testEvent("e5")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if _, err := NewHTTP("  ", time.Second); err == nil {
		t.Fatal("empty target accepted")
	}
}
