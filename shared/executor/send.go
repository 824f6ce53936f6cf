package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/protocol"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// Sender delivers an event (to the broker).
type Sender interface {
	Send(ctx context.Context, e event.Event) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, e event.Event) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, e event.Event) error { return f(ctx, e) }

// HTTPSender POSTs events in binary CloudEvents HTTP mode to URL (the
// broker, K_SINK), retrying network errors and 429/5xx answers.
type HTTPSender struct {
	URL      string
	Client   *http.Client  // nil: a client with a 10 s timeout
	Attempts int           // 0: 4
	Backoff  time.Duration // first retry delay, doubled each time (0: 200ms)
}

// Send delivers e.
func (s *HTTPSender) Send(ctx context.Context, e event.Event) error {
	if s.URL == "" {
		return errors.New("send event: no sink URL configured")
	}
	c := s.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	attempts, backoff := s.Attempts, s.Backoff
	if attempts <= 0 {
		attempts = 4
	}
	if backoff <= 0 {
		backoff = 200 * time.Millisecond
	}
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("send %s %s: %w (last: %v)", e.Type(), e.ID(), ctx.Err(), last)
			case <-time.After(backoff):
			}
			backoff *= 2
		}
		retry, err := s.once(ctx, c, e)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			break
		}
	}
	return fmt.Errorf("send %s %s: %w", e.Type(), e.ID(), last)
}

func (s *HTTPSender) once(ctx context.Context, c *http.Client, e event.Event) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, nil)
	if err != nil {
		return false, err
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(&e), req); err != nil {
		return false, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	err = fmt.Errorf("sink answered %d: %s", resp.StatusCode, body)
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, err
}

// ErrMalformed marks an incoming event the handler cannot process at all
// (bad data, bad type); Result maps it to a 400 so the broker does not
// redeliver.
var ErrMalformed = errors.New("malformed event")

// Malformed wraps err as ErrMalformed.
func Malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Result maps a handler error to what a CloudEvents HTTP receiver returns:
// nil acks, ErrMalformed becomes 400, anything else 500 (redelivery).
func Result(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrMalformed):
		return cehttp.NewResult(http.StatusBadRequest, "%v", err)
	default:
		var r protocol.Result
		if errors.As(err, &r) && protocol.IsACK(r) {
			return nil
		}
		return cehttp.NewResult(http.StatusInternalServerError, "%v", err)
	}
}
