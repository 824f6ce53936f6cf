package ceio

import (
	"context"
	"errors"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// NewRequest returns a binary-mode POST of e to target, written by sdk-go's
// cehttp.WriteRequest (its body rewindable through GetBody, so the
// transport can resend it on a kept-alive connection the server had
// closed). Like sdk-go's client.Send, it refuses an event that fails
// e.Validate().
func NewRequest(ctx context.Context, target string, e event.Event) (*http.Request, error) {
	if ctx == nil {
		return nil, errors.New("ceio: nil Context")
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, nil)
	if err != nil {
		return nil, err
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(&e), req); err != nil {
		return nil, err
	}
	return req, nil
}
