package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/broker/trigger"
)

// MeasureRelay measures the bare relay rate of a fresh broker with default
// options: n events published in process, each delivered over loopback HTTP
// (binary mode) to a no-op subscriber on 127.0.0.1:0 that answers 202. It
// returns delivered events per second, from the first Publish to the n-th
// delivery.
func MeasureRelay(ctx context.Context, n int) (eventsPerSec float64, err error) {
	if n <= 0 {
		return 0, errors.New("measure relay: n must be positive")
	}
	var got atomic.Int64
	done := make(chan struct{})
	sub := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
		if got.Add(1) == int64(n) {
			close(done)
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("measure relay: %w", err)
	}
	go func() { _ = sub.Serve(ln) }()
	defer sub.Close()

	b, err := New(Options{Triggers: []trigger.Trigger{{
		Name: "relay", Broker: "default",
		Subscriber: trigger.Destination{URI: "http://" + ln.Addr().String()},
	}}})
	if err != nil {
		return 0, fmt.Errorf("measure relay: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Close(cctx)
	}()

	e := event.New()
	e.SetType("dev.slipway.relay")
	e.SetSource("/broker/relay")
	e.SetData(event.ApplicationJSON, map[string]int{"n": n})
	start := time.Now()
	for i := range n {
		e.SetID(strconv.Itoa(i))
		for {
			err := b.Publish(ctx, e)
			if err == nil {
				break
			}
			if !errors.Is(err, ErrBusy) {
				return 0, fmt.Errorf("measure relay: publish: %w", err)
			}
			select { // queue full: let the workers catch up
			case <-ctx.Done():
				return 0, fmt.Errorf("measure relay: %w", ctx.Err())
			case <-time.After(time.Millisecond):
			}
		}
	}
	select {
	case <-done:
	case <-ctx.Done():
		return 0, fmt.Errorf("measure relay: %d of %d delivered: %w", got.Load(), n, ctx.Err())
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
