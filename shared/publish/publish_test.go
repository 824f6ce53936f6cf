package publish

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
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
