package localrt

import (
	"context"
	"errors"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/protocol"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/slipwayhq/slipway/shared/broker"
	"github.com/slipwayhq/slipway/shared/ceio"
)

// CEHandler serves fn over HTTP the way a Knative CloudEvents function runs
// it: one event per request (binary or structured), answered when fn returns,
// with fn's context ending when the request does.
//
// It replaces sdk-go's NewHTTPReceiveHandler, which hands requests to
// handler goroutines through one shared channel: when a request is cancelled
// (a delivery timeout) its goroutine leaves without taking a message, and a
// later request then waits forever. Under load that showed as deliveries
// timing out again on every retry.
//
// Requests are decoded by ceio (sdk-go's binding.ToEvent with a size limit
// and validation).
//
// Answers: 200 when fn returns nil or an ACK result; the status of a
// *cehttp.Result fn returns; 500 for any other error; 400 for a request that
// is not a valid CloudEvent; 405 for anything but POST; 413 past
// broker.DefaultMaxEventBytes.
func CEHandler(fn func(context.Context, event.Event) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "only POST is supported", http.StatusMethodNotAllowed)
			return
		}
		ev, err := ceio.ReadRequest(r, broker.DefaultMaxEventBytes)
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				// The rest of the body is not read: close rather than
				// drain it, as http.MaxBytesReader has the server do.
				w.Header().Set("Connection", "close")
				http.Error(w, "event too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "not a valid CloudEvent: "+err.Error(), http.StatusBadRequest)
			return
		}
		code, text := resultStatus(fn(r.Context(), ev))
		if text == "" {
			w.WriteHeader(code)
			return
		}
		http.Error(w, text, code)
	})
}

// resultStatus maps a handler's result to an HTTP status as sdk-go's
// receivers do.
func resultStatus(err error) (int, string) {
	if err == nil {
		return http.StatusOK, "" // before res: errors.As moves it to the heap
	}
	var res *cehttp.Result
	switch {
	case errors.As(err, &res) && res.StatusCode >= 200 && res.StatusCode < 600:
		if res.StatusCode < 300 {
			return res.StatusCode, ""
		}
		return res.StatusCode, err.Error()
	case protocol.IsACK(err):
		return http.StatusOK, ""
	}
	return http.StatusInternalServerError, err.Error()
}
