package broker

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/ceio"
)

// ServeHTTP is the ingress: POST a CloudEvent in binary or structured mode
// (any path). Answers: 202 queued; 400 not a valid single CloudEvent (batch
// mode included) or TTL exhausted; 405 not POST; 413 body over
// MaxEventBytes; 503 closing or queue full (with Retry-After).
func (b *Broker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "only POST is supported", http.StatusMethodNotAllowed)
		return
	}
	if r.ContentLength > b.maxBytes {
		http.Error(w, fmt.Sprintf("event larger than %d bytes", b.maxBytes), http.StatusRequestEntityTooLarge)
		return
	}
	// The mode comes from the headers alone (the body is not read yet).
	switch cehttp.NewMessage(r.Header, nil).ReadEncoding() {
	case binding.EncodingUnknown:
		http.Error(w, "not a CloudEvent: want binary mode (ce-specversion header) or structured mode (Content-Type application/cloudevents+json)", http.StatusBadRequest)
		return
	case binding.EncodingBatch:
		http.Error(w, "batched CloudEvents are not supported", http.StatusBadRequest)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, b.maxBytes)
	ev, err := ceio.ReadRequest(r, b.maxBytes)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("event larger than %d bytes", b.maxBytes), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "malformed CloudEvent: "+err.Error(), http.StatusBadRequest)
		return
	}
	switch err := b.accept(ev, true); {
	case err == nil:
		w.WriteHeader(http.StatusAccepted)
	case errors.Is(err, ErrClosed), errors.Is(err, ErrBusy):
		w.Header().Set("Retry-After", "1")
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
	default:
		b.log.Debug("ingress rejected event", zap.String("event.id", ev.ID()), zap.Error(err))
		http.Error(w, err.Error(), http.StatusBadRequest)
	}
}
