package broker

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/broker/trigger"
)

// noopSubscriber answers 202 and counts.
func noopSubscriber(b *testing.B) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
		n.Add(1)
	}))
	b.Cleanup(srv.Close)
	return srv, &n
}

func benchBroker(b *testing.B, url string) *Broker {
	br, err := New(Options{Triggers: []trigger.Trigger{{Name: "relay", Broker: "default", Subscriber: trigger.Destination{URI: url}}}, Logger: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = br.Close(ctx)
	})
	return br
}

func waitFor(b *testing.B, n *atomic.Int64, want int64) {
	deadline := time.Now().Add(time.Minute)
	for n.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("delivered %d of %d", n.Load(), want)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// BenchmarkRelay: in-process Publish → broker → no-op subscriber over
// loopback HTTP (binary mode). events/s is the bare relay rate.
func BenchmarkRelay(b *testing.B) {
	srv, n := noopSubscriber(b)
	br := benchBroker(b, srv.URL)
	e := newEvent("0", "dev.slipway.bench")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		e.SetID(itoa(i))
		for br.Publish(ctx, e) != nil { // ErrBusy: let the workers catch up
			time.Sleep(100 * time.Microsecond)
		}
	}
	waitFor(b, n, int64(b.N))
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkIngressRelay: parallel HTTP POSTs (binary mode) to the ingress →
// broker → no-op subscriber; both hops over loopback.
func BenchmarkIngressRelay(b *testing.B) {
	srv, n := noopSubscriber(b)
	br := benchBroker(b, srv.URL)
	ing := httptest.NewServer(br)
	b.Cleanup(ing.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var id atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, ing.URL, nil)
			req.Header.Set("Ce-Specversion", "1.0")
			req.Header.Set("Ce-Id", itoa(int(id.Add(1))))
			req.Header.Set("Ce-Type", "dev.slipway.bench")
			req.Header.Set("Ce-Source", "/bench")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	waitFor(b, n, int64(b.N))
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}
