package ceio

import (
	"fmt"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// ReadRequest returns the CloudEvent r carries in binary or structured mode
// (as sdk-go's NewMessageFromHttpRequest + binding.ToEvent read it),
// validated as event.Event.Validate does, reading at most maxBytes of body
// (no limit when maxBytes <= 0; past it the error matches
// *http.MaxBytesError). A batch is an error. The body is not closed.
func ReadRequest(r *http.Request, maxBytes int64) (_ event.Event, err error) {
	if maxBytes > 0 && r.ContentLength > maxBytes {
		// Refused before reading a byte of it.
		return event.Event{}, &http.MaxBytesError{Limit: maxBytes}
	}
	// sdk-go indexes header names and values it assumes non-empty: a
	// header "Ce-" or one with no values (only a hand-built request has
	// those) panics in it.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sdk-go could not read the request: %v", p)
		}
	}()
	body := r.Body
	if body == nil { // sdk-go would read a nil reader in structured mode
		body = http.NoBody
	}
	if maxBytes > 0 {
		body = http.MaxBytesReader(nil, body, maxBytes)
	}
	e, err := binding.ToEvent(r.Context(), cehttp.NewMessage(r.Header, body))
	if err != nil {
		return event.Event{}, err
	}
	if err := e.Validate(); err != nil {
		return event.Event{}, err
	}
	return *e, nil
}
