package broker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/broker/trigger"
)

// Relay is the bare cost of moving events through a fresh broker with
// default options to a no-op subscriber (127.0.0.1, answers 202). It is the
// yardstick the load harness divides by: a real run cannot be cheaper than
// its events' ingress plus their deliveries.
type Relay struct {
	// DeliveriesPerSec: events published in process, each delivered over
	// loopback HTTP (binary mode). The delivery side alone.
	DeliveriesPerSec float64
	// HopsPerSec: events POSTed to the HTTP ingress by concurrent clients
	// (as functions and executors send them) and delivered once each. One
	// whole producer → broker → consumer hop.
	HopsPerSec float64
}

// IngressSeconds is the cost of one ingress POST alone, derived from the two
// rates (a hop is an ingress plus a delivery).
func (r Relay) IngressSeconds() float64 {
	return max(0, 1/r.HopsPerSec-1/r.DeliveriesPerSec)
}

// IdealRunsPerSec is the run rate the broker alone would allow for runs that
// need the given ingress POSTs and deliveries each.
func (r Relay) IdealRunsPerSec(ingressPerRun, deliveriesPerRun float64) float64 {
	cost := ingressPerRun*r.IngressSeconds() + deliveriesPerRun/r.DeliveriesPerSec
	if cost <= 0 {
		return 0
	}
	return 1 / cost
}

// relayClients is how many producers POST concurrently in the hop
// measurement; the broker's default workers deliver on the other side.
const relayClients = 64

// relayRounds is how many times each rate is measured; the median is kept,
// because one round on a shared 2-core machine varies by ±30 %.
const relayRounds = 3

// MeasureRelay measures both rates with n events each, relayRounds times
// (interleaved), and keeps the median of each.
func MeasureRelay(ctx context.Context, n int) (Relay, error) {
	if n <= 0 {
		return Relay{}, errors.New("measure relay: n must be positive")
	}
	var deliveries, hops []float64
	for range relayRounds {
		d, err := measure(ctx, n, false)
		if err != nil {
			return Relay{}, err
		}
		h, err := measure(ctx, n, true)
		if err != nil {
			return Relay{}, err
		}
		deliveries, hops = append(deliveries, d), append(hops, h)
	}
	return Relay{DeliveriesPerSec: median(deliveries), HopsPerSec: median(hops)}, nil
}

func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// measure relays n events and returns deliveries per second from the first
// send to the n-th delivery; viaHTTP sends them through the ingress.
func measure(ctx context.Context, n int, viaHTTP bool) (float64, error) {
	var got atomic.Int64
	done := make(chan struct{})
	sub := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
		if got.Add(1) == int64(n) {
			close(done)
		}
	})}
	subL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("measure relay: %w", err)
	}
	go func() { _ = sub.Serve(subL) }()
	defer sub.Close()

	b, err := New(Options{Triggers: []trigger.Trigger{{
		Name: "relay", Broker: "default",
		Subscriber: trigger.Destination{URI: "http://" + subL.Addr().String()},
	}}})
	if err != nil {
		return 0, fmt.Errorf("measure relay: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Close(cctx)
	}()

	send := publishInProcess(b)
	if viaHTTP {
		ing := &http.Server{Handler: b}
		ingL, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("measure relay: %w", err)
		}
		go func() { _ = ing.Serve(ingL) }()
		defer ing.Close()
		send = postIngress("http://" + ingL.Addr().String())
	}

	start := time.Now()
	if err := sendAll(ctx, n, send); err != nil {
		return 0, fmt.Errorf("measure relay: %w", err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return 0, fmt.Errorf("measure relay: %d of %d delivered: %w", got.Load(), n, ctx.Err())
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// sendAll sends events 0..n-1 from relayClients goroutines, retrying while
// the broker answers busy.
func sendAll(ctx context.Context, n int, send func(context.Context, int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, relayClients)
	for range relayClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				for {
					err := send(ctx, i)
					if err == nil {
						break
					}
					if !errors.Is(err, ErrBusy) {
						errs <- err
						return
					}
					select { // queue full: let the workers catch up
					case <-ctx.Done():
						errs <- ctx.Err()
						return
					case <-time.After(time.Millisecond):
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func publishInProcess(b *Broker) func(context.Context, int) error {
	return func(ctx context.Context, i int) error {
		e := event.New()
		e.SetType("dev.slipway.relay")
		e.SetSource("/broker/relay")
		e.SetID(strconv.Itoa(i))
		_ = e.SetData(event.ApplicationJSON, map[string]int{"n": i})
		return b.Publish(ctx, e)
	}
}

func postIngress(url string) func(context.Context, int) error {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = relayClients
	tr.Proxy = nil
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	return func(ctx context.Context, i int) error {
		body := []byte(`{"n":` + strconv.Itoa(i) + `}`)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Ce-Specversion", "1.0")
		req.Header.Set("Ce-Id", strconv.Itoa(i))
		req.Header.Set("Ce-Type", "dev.slipway.relay")
		req.Header.Set("Ce-Source", "/broker/relay")
		req.Header.Set("Content-Type", "application/json")
		res, err := c.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		switch {
		case res.StatusCode == http.StatusServiceUnavailable:
			return ErrBusy
		case res.StatusCode >= 300:
			return fmt.Errorf("ingress answered %d", res.StatusCode)
		}
		return nil
	}
}
