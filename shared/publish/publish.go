// Package publish sends CloudEvents to a broker over HTTP (binary mode), as a
// Knative function does with K_SINK.
package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/slipwayhq/slipway/shared/ceio"
)

// idleConns is how many connections to the target stay open between
// publishes: about the number of handlers that publish at once.
const idleConns = 128

// maxDrain is how much of a response body is read so that its connection
// can be reused; the broker's answers are a line of text at most.
const maxDrain = 64 << 10

// HTTP publishes to one target URL.
type HTTP struct {
	client *http.Client
	target string
}

// NewHTTP returns a publisher for target (e.g. the broker ingress or K_SINK).
func NewHTTP(target string, timeout time.Duration) (*HTTP, error) {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	target = strings.TrimSpace(target)
	if target == "" {
		return nil, fmt.Errorf("publisher for %q: empty target url", target)
	}
	if _, err := url.Parse(target); err != nil {
		return nil, fmt.Errorf("publisher for %s: %w", target, err)
	}
	// The default transport keeps 2 idle connections per host: a function
	// publishing from many concurrent handlers would dial (and leave in
	// TIME_WAIT) a new connection for most events.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = idleConns
	tr.MaxIdleConnsPerHost = idleConns
	return &HTTP{client: &http.Client{Timeout: timeout, Transport: tr}, target: target}, nil
}

// Publish sends e and succeeds only when the receiver accepted it (2xx). An
// event without a time is sent with the current time, as sdk-go's
// WithTimeNow client did.
//
// It writes the request with ceio rather than sdk-go's client, whose
// per-event wrapping showed in CPU profiles under load.
func (h *HTTP) Publish(ctx context.Context, e event.Event) error {
	if e.Context == nil {
		return errors.New("publish: event has no context")
	}
	if e.Time().IsZero() {
		e = withTime(e, time.Now())
	}
	req, err := ceio.NewRequest(ctx, h.target, e)
	if err != nil {
		return fmt.Errorf("publish %s %s: %w", e.Type(), e.ID(), err)
	}
	res, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("publish %s %s: %w", e.Type(), e.ID(), err)
	}
	_, _ = io.CopyN(io.Discard, res.Body, maxDrain) // so the connection is reused
	_ = res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("publish %s %s: broker answered %d", e.Type(), e.ID(), res.StatusCode)
	}
	return nil
}

// withTime returns e with time t on a copy of its context: the caller's
// event, maybe shared, is left alone.
func withTime(e event.Event, t time.Time) event.Event {
	if ec, ok := e.Context.(*event.EventContextV1); ok {
		c := *ec // extensions shared: only read from here on
		c.Time = &types.Timestamp{Time: t}
		e.Context = &c
		return e
	}
	e.Context = e.Context.Clone()
	e.SetTime(t)
	return e
}
