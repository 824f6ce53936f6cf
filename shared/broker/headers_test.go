package broker

import (
	"context"
	"net/http"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/broker/trigger"
)

// ServiceHeaders reach deliveries to that Service, not other subscribers
// and not the dead-letter sink (the token must not leak to either).
func TestServiceHeaders(t *testing.T) {
	api := newSink(t, func(n int, _ event.Event, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.WriteHeader(http.StatusBadRequest) // the second event goes to the dead letter
	})
	other := newSink(t, nil)
	dls := newSink(t, nil)
	ref := func(name string) trigger.Destination {
		return trigger.Destination{Ref: &trigger.Ref{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: name}}
	}
	hdr := http.Header{}
	hdr.Set("X-Slipway-History-Token", "tok")
	b := newBroker(t, Options{
		Triggers: []trigger.Trigger{
			{Name: "to-api", Broker: "default", Subscriber: ref("api"),
				Delivery: &trigger.Delivery{DeadLetterSink: &trigger.Destination{URI: dls.URL}}},
			{Name: "to-other", Broker: "default", Subscriber: ref("other")},
		},
		Services:       map[string]string{"api": api.URL, "other": other.URL},
		ServiceHeaders: map[string]http.Header{"api": hdr},
	})
	for _, id := range []string{"e1", "e2"} {
		if err := b.Publish(context.Background(), newEvent(id, "sh.keptn.event.test.triggered")); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "deliveries", func() bool { return api.count() == 2 && other.count() == 2 && dls.count() == 1 })
	for _, r := range api.events() {
		if r.Header.Get("X-Slipway-History-Token") != "tok" {
			t.Fatalf("api delivery without the header: %v", r.Header)
		}
	}
	for _, r := range append(other.events(), dls.events()...) {
		if r.Header.Get("X-Slipway-History-Token") != "" {
			t.Fatalf("header leaked: %v", r.Header)
		}
	}
}
