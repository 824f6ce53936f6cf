package broker

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/broker/filter"
	"github.com/slipwayhq/slipway/shared/broker/trigger"
)

func TestRetryable(t *testing.T) {
	for code := 100; code < 600; code++ {
		want := code >= 500 || code == 404 || code == 408 || code == 409 || code == 429
		if got := Retryable(code); got != want {
			t.Errorf("Retryable(%d) = %v, want %v", code, got, want)
		}
	}
	if !Retryable(0) {
		t.Error("network errors must be retried")
	}
}

func TestRetryOnRetryableStatus(t *testing.T) {
	for _, code := range []int{500, 502, 503, 504, 404, 408, 409, 429} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			s := newSink(t, func(n int, _ event.Event, w http.ResponseWriter, _ *http.Request) {
				if n <= 2 {
					w.WriteHeader(code)
					return
				}
				w.WriteHeader(http.StatusAccepted)
			})
			b := newBroker(t, Options{Triggers: []trigger.Trigger{uriTrigger("t", s.URL, nil, noBackoff(3))}})
			if err := b.Publish(context.Background(), newEvent("1", "a")); err != nil {
				t.Fatal(err)
			}
			eventually(t, "delivery after retries", func() bool { return b.Stats().Delivered == 1 })
			if got := s.count(); got != 3 {
				t.Fatalf("attempts = %d, want 3", got)
			}
			if st := b.Stats(); st.Retries != 2 || st.DeadLettered != 0 || st.Pending != 0 {
				t.Fatalf("stats = %+v", st)
			}
		})
	}
}

func TestNoRetryOnOther4xx(t *testing.T) {
	for _, code := range []int{400, 401, 403, 410, 422} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			s := newSink(t, func(_ int, _ event.Event, w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "nope", code)
			})
			b := newBroker(t, Options{Triggers: []trigger.Trigger{uriTrigger("t", s.URL, nil, noBackoff(5))}})
			if err := b.Publish(context.Background(), newEvent("1", "a")); err != nil {
				t.Fatal(err)
			}
			eventually(t, "dead letter", func() bool { return len(b.DeadLetters()) == 1 })
			if got := s.count(); got != 1 {
				t.Fatalf("attempts = %d, want 1", got)
			}
			d := b.DeadLetters()[0]
			if d.StatusCode != code || d.Trigger != "t" || d.Subscriber != s.URL || d.Event.ID() != "1" || d.Attempts != 1 {
				t.Fatalf("dead letter = %+v", d)
			}
		})
	}
}

func TestRetryNetworkErrorThenDeadLetterLog(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	b := newBroker(t, Options{Triggers: []trigger.Trigger{uriTrigger("t", url, nil, noBackoff(2))}})
	if err := b.Publish(context.Background(), newEvent("1", "a")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "dead letter", func() bool { return len(b.DeadLetters()) == 1 })
	d := b.DeadLetters()[0]
	if d.Attempts != 3 || d.StatusCode != http.StatusInternalServerError || d.Error == "" {
		t.Fatalf("dead letter = %+v", d)
	}
	if st := b.Stats(); st.Retries != 2 || st.DeadLettered != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestTimeoutIsRetried(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	s := newSink(t, func(n int, _ event.Event, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			select { // hang until the broker's per-attempt timeout cancels us
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	d := &trigger.Delivery{Retry: 1, Timeout: 50e6}
	b := newBroker(t, Options{Triggers: []trigger.Trigger{uriTrigger("t", s.URL, nil, d)}})
	if err := b.Publish(context.Background(), newEvent("1", "a")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "delivery after timeout", func() bool { return b.Stats().Delivered == 1 })
	if s.count() != 2 {
		t.Fatalf("attempts = %d", s.count())
	}
}

func TestDeadLetterSink(t *testing.T) {
	s := newSink(t, func(_ int, _ event.Event, w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusServiceUnavailable)
	})
	dls := newSink(t, nil)
	tr := uriTrigger("t", s.URL, nil, &trigger.Delivery{Retry: 2, DeadLetterSink: &trigger.Destination{Ref: &trigger.Ref{Kind: "Service", Name: "dlq"}}})
	b := newBroker(t, Options{Triggers: []trigger.Trigger{tr}, Services: map[string]string{"dlq": dls.URL}})
	if err := b.Publish(context.Background(), newEvent("1", "a")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "dead letter sink", func() bool { return dls.count() == 1 })
	if s.count() != 3 {
		t.Fatalf("subscriber attempts = %d, want 3", s.count())
	}
	got := dls.events()[0].Event
	ext := got.Extensions()
	if got.ID() != "1" || fmt.Sprint(ext[ExtErrorDest]) != s.URL || fmt.Sprint(ext[ExtErrorCode]) != "503" {
		t.Fatalf("dead-lettered event: %v", got)
	}
	data, err := base64.StdEncoding.DecodeString(fmt.Sprint(ext[ExtErrorData]))
	if err != nil || string(data) != "boom\n" {
		t.Fatalf("knativeerrordata = %q (%v)", data, err)
	}
	if len(b.DeadLetters()) != 0 {
		t.Fatalf("dead letter log should be empty: %+v", b.DeadLetters())
	}
}

func TestDeadLetterSinkFailsToo(t *testing.T) {
	s := newSink(t, func(_ int, _ event.Event, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(400) })
	dls := newSink(t, func(_ int, _ event.Event, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
	tr := uriTrigger("t", s.URL, nil, &trigger.Delivery{Retry: 1, DeadLetterSink: &trigger.Destination{URI: dls.URL}})
	b := newBroker(t, Options{Triggers: []trigger.Trigger{tr}})
	if err := b.Publish(context.Background(), newEvent("1", "a")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "dead letter", func() bool { return len(b.DeadLetters()) == 1 })
	d := b.DeadLetters()[0]
	if !strings.Contains(d.Reason, "dead letter sink") || d.StatusCode != 400 || dls.count() != 2 || s.count() != 1 {
		t.Fatalf("dead letter = %+v; dls attempts %d, subscriber attempts %d", d, dls.count(), s.count())
	}
}

func TestLongErrorDataTruncated(t *testing.T) {
	s := newSink(t, func(_ int, _ event.Event, w http.ResponseWriter, _ *http.Request) {
		http.Error(w, strings.Repeat("e", 5000), 400)
	})
	dls := newSink(t, nil)
	tr := uriTrigger("t", s.URL, nil, &trigger.Delivery{DeadLetterSink: &trigger.Destination{URI: dls.URL}})
	b := newBroker(t, Options{Triggers: []trigger.Trigger{tr}})
	if err := b.Publish(context.Background(), newEvent("1", "a")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "dead letter sink", func() bool { return dls.count() == 1 })
	if got := fmt.Sprint(dls.events()[0].Event.Extensions()[ExtErrorData]); len(got) != 1024 {
		t.Fatalf("knativeerrordata length %d, want 1024", len(got))
	}
}

func TestFanOutByFilter(t *testing.T) {
	a, b2, c := newSink(t, nil), newSink(t, nil), newSink(t, nil)
	ts := []trigger.Trigger{
		uriTrigger("by-type", a.URL, map[string]string{"type": "sh.keptn.event.test.triggered"}, nil),
		{Name: "by-prefix", Broker: "default", Subscriber: trigger.Destination{URI: b2.URL},
			Filter: filter.Spec{Filters: []filter.Expr{{Prefix: map[string]string{"type": "sh.keptn.event."}}}}},
		uriTrigger("other", c.URL, map[string]string{"type": "sh.keptn.event.deployment.triggered"}, nil),
	}
	b := newBroker(t, Options{Triggers: ts})
	if err := b.Publish(context.Background(), newEvent("1", "sh.keptn.event.test.triggered")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "two deliveries", func() bool { return b.Stats().Delivered == 2 && b.Stats().Pending == 0 })
	if a.count() != 1 || b2.count() != 1 || c.count() != 0 {
		t.Fatalf("deliveries a=%d b=%d c=%d", a.count(), b2.count(), c.count())
	}
}

func TestReplyRepublished(t *testing.T) {
	final := newSink(t, nil)
	responder := newSink(t, func(_ int, e event.Event, w http.ResponseWriter, _ *http.Request) {
		r := newEvent(e.ID()+"-reply", "b")
		replyWith(t, w, r)
	})
	ts := []trigger.Trigger{
		uriTrigger("a", responder.URL, map[string]string{"type": "a"}, nil),
		uriTrigger("b", final.URL, map[string]string{"type": "b"}, nil),
	}
	b := newBroker(t, Options{Triggers: ts})
	if err := b.Publish(context.Background(), newEvent("1", "a")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "reply delivered", func() bool { return final.count() == 1 })
	got := final.events()[0].Event
	if got.ID() != "1-reply" || got.Type() != "b" {
		t.Fatalf("final got %v", got)
	}
	if _, ok := got.Extensions()[TTLExtension]; ok {
		t.Fatal("ttl leaked to subscriber")
	}
	if b.Stats().Replies != 1 {
		t.Fatalf("stats %+v", b.Stats())
	}
}

func TestReplyLoopStoppedByTTL(t *testing.T) {
	var n atomic.Int64
	echo := newSink(t, func(_ int, e event.Event, w http.ResponseWriter, _ *http.Request) {
		replyWith(t, w, newEvent(fmt.Sprint("echo-", n.Add(1)), "loop"))
	})
	b := newBroker(t, Options{Triggers: []trigger.Trigger{uriTrigger("loop", echo.URL, map[string]string{"type": "loop"}, nil)}})
	if err := b.Publish(context.Background(), newEvent("0", "loop")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ttl drop", func() bool { return len(b.DeadLetters()) == 1 && b.Stats().Pending == 0 })
	if got := echo.count(); got != DefaultTTL {
		t.Fatalf("deliveries = %d, want %d", got, DefaultTTL)
	}
	if d := b.DeadLetters()[0]; !strings.Contains(d.Reason, "knativebrokerttl exhausted") {
		t.Fatalf("dead letter = %+v", d)
	}
}

func TestMalformedReplyRetriedThenDeadLettered(t *testing.T) {
	s := newSink(t, func(_ int, _ event.Event, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Ce-Specversion", "1.0") // looks like an event, has no id/type/source
		w.WriteHeader(http.StatusOK)
	})
	b := newBroker(t, Options{Triggers: []trigger.Trigger{uriTrigger("t", s.URL, nil, noBackoff(1))}})
	if err := b.Publish(context.Background(), newEvent("1", "a")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "dead letter", func() bool { return len(b.DeadLetters()) == 1 })
	if d := b.DeadLetters()[0]; d.StatusCode != http.StatusBadGateway || s.count() != 2 {
		t.Fatalf("dead letter = %+v, attempts %d", d, s.count())
	}
}

func TestNonEventReplyIgnored(t *testing.T) {
	s := newSink(t, func(_ int, _ event.Event, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	b := newBroker(t, Options{Triggers: []trigger.Trigger{uriTrigger("t", s.URL, nil, nil)}})
	if err := b.Publish(context.Background(), newEvent("1", "a")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "delivery", func() bool { return b.Stats().Delivered == 1 && b.Stats().Pending == 0 })
	if st := b.Stats(); st.Replies != 0 || st.Accepted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestStructuredFormat(t *testing.T) {
	s := newSink(t, nil)
	b := newBroker(t, Options{Triggers: []trigger.Trigger{uriTrigger("t", s.URL, nil, &trigger.Delivery{Format: trigger.FormatJSON})}})
	if err := b.Publish(context.Background(), newEvent("1", "a")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "delivery", func() bool { return s.count() == 1 })
	if ct := s.events()[0].Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/cloudevents+json") {
		t.Fatalf("Content-Type %q", ct)
	}
}

// TestConcurrentDelivery runs many publishers over HTTP and in process
// against a flaky subscriber; every (trigger, event) must arrive.
func TestConcurrentDelivery(t *testing.T) {
	const publishers, perPublisher = 8, 100
	var mu sync.Mutex
	seen := map[string]int{}
	flaky := func(name string) func(int, event.Event, http.ResponseWriter, *http.Request) {
		return func(n int, e event.Event, w http.ResponseWriter, _ *http.Request) {
			if n%3 == 0 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			mu.Lock()
			seen[name+"/"+e.ID()]++
			mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
		}
	}
	s1, s2 := newSink(t, flaky("s1")), newSink(t, flaky("s2"))
	ts := []trigger.Trigger{uriTrigger("t1", s1.URL, nil, noBackoff(10)), uriTrigger("t2", s2.URL, nil, noBackoff(10))}
	b := newBroker(t, Options{Triggers: ts, Workers: 8})
	ing := newIngress(t, b)
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perPublisher {
				e := newEvent(fmt.Sprintf("%d-%d", p, i), "a")
				if p%2 == 0 {
					if code := post(t, ing, e, i%2 == 0); code != http.StatusAccepted {
						t.Errorf("ingress status %d", code)
					}
				} else if err := b.Publish(context.Background(), e); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	want := 2 * publishers * perPublisher
	eventually(t, "all deliveries", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == want
	})
	eventually(t, "idle", func() bool { return b.Stats().Pending == 0 })
	if dl := b.DeadLetters(); len(dl) != 0 {
		t.Fatalf("dead letters: %d", len(dl))
	}
}
