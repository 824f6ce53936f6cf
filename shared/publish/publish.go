// Package publish sends CloudEvents to a broker over HTTP (binary mode), as a
// Knative function does with K_SINK.
package publish

import (
	"context"
	"fmt"
	"net/http"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// idleConns is how many connections to the target stay open between
// publishes: about the number of handlers that publish at once.
const idleConns = 128

// HTTP publishes to one target URL.
type HTTP struct {
	client cloudevents.Client
	target string
}

// NewHTTP returns a publisher for target (e.g. the broker ingress or K_SINK).
func NewHTTP(target string, timeout time.Duration) (*HTTP, error) {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	// The default transport keeps 2 idle connections per host: a function
	// publishing from many concurrent handlers would dial (and leave in
	// TIME_WAIT) a new connection for most events.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = idleConns
	tr.MaxIdleConnsPerHost = idleConns
	p, err := cloudevents.NewHTTP(cehttp.WithTarget(target), cehttp.WithClient(http.Client{Timeout: timeout, Transport: tr}))
	if err != nil {
		return nil, fmt.Errorf("publisher for %s: %w", target, err)
	}
	c, err := cloudevents.NewClient(p, cloudevents.WithTimeNow())
	if err != nil {
		return nil, fmt.Errorf("publisher for %s: %w", target, err)
	}
	return &HTTP{client: c, target: target}, nil
}

// Publish sends e and succeeds only when the receiver accepted it (2xx).
func (h *HTTP) Publish(ctx context.Context, e event.Event) error {
	res := h.client.Send(cloudevents.ContextWithTarget(ctx, h.target), e)
	if cloudevents.IsACK(res) {
		return nil
	}
	var herr *cehttp.Result
	if cloudevents.ResultAs(res, &herr) {
		return fmt.Errorf("publish %s %s: broker answered %d", e.Type(), e.ID(), herr.StatusCode)
	}
	return fmt.Errorf("publish %s %s: %w", e.Type(), e.ID(), res)
}
