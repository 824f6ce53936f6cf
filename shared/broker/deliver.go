package broker

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/broker/trigger"
	"github.com/slipwayhq/slipway/shared/ceio"
)

// Knative's dead-letter extensions (knative.dev/eventing/pkg/kncloudevents/attributes).
const (
	ExtErrorDest          = "knativeerrordest"
	ExtErrorCode          = "knativeerrorcode"
	ExtErrorData          = "knativeerrordata"
	errorDataMaxLength    = 1024
	dispatchErrorCode     = http.StatusInternalServerError // Knative's code for a failed request
	invalidReplyErrorCode = http.StatusBadGateway          // Knative's filter answers 502 for a bad reply
)

// task is one delivery of one event to one Trigger's subscriber (then,
// if that fails for good, to its dead letter sink).
type task struct {
	route    *route
	event    event.Event // without knativebrokerttl
	ttl      int32       // reattached to replies
	attempts int         // attempts made in the current phase
	toDLS    bool        // delivering to the dead letter sink
	// The subscriber's last failure, for the knativeerror* extensions.
	code int
	body []byte
	err  error
}

// outcome of one HTTP attempt.
type outcome struct {
	code  int    // HTTP status, 0 when no response
	body  []byte // response body (failures: for knativeerrordata)
	err   error  // network error or invalid reply
	reply *event.Event
}

func (o outcome) ok() bool { return o.err == nil && o.code >= 200 && o.code < 300 }

// Retryable reports whether Knative retries a delivery that ended with this
// status (or, with code 0, with a network error): network errors, 5xx, 404,
// 408, 409 and 429; never 1xx–3xx or other 4xx (kncloudevents.SelectiveRetry).
func Retryable(code int) bool {
	switch {
	case code <= 0, code >= 500:
		return true
	case code == http.StatusNotFound, code == http.StatusRequestTimeout,
		code == http.StatusConflict, code == http.StatusTooManyRequests:
		return true
	}
	return false
}

func (b *Broker) attempt(t *task) {
	r := t.route
	target, ev, hdr := r.url, t.event, r.header
	if t.toDLS {
		target, ev, hdr = r.dls, b.withErrorExtensions(t), nil
	}
	o := b.send(target, ev, hdr, r.delivery, r.timeout, !t.toDLS)
	t.attempts++
	if o.ok() {
		b.delivered.Add(1)
		if o.reply != nil {
			b.publishReply(t, *o.reply)
		}
		b.finish()
		return
	}
	if b.ctx.Err() != nil { // Close gave up draining
		b.abandon(t)
		return
	}
	code := o.code // 0: no response (network error, timeout)
	if o.err != nil && code >= 200 && code < 300 {
		code = invalidReplyErrorCode // 2xx with a malformed reply: Knative's filter answers 502
	}
	if Retryable(code) && t.attempts <= int(r.delivery.Retry) {
		delay := r.delivery.RetryDelay(t.attempts)
		b.log.Debug("delivery failed, retrying", zap.String("trigger", r.name), zap.String("event.id", ev.ID()),
			zap.String("event.type", ev.Type()), zap.Int("status", o.code), zap.Error(o.err), zap.Duration("after", delay))
		b.retryLater(t, delay)
		return
	}
	if !t.toDLS {
		t.code, t.body, t.err = code, o.body, o.err
		if t.code == 0 {
			t.code = dispatchErrorCode
			t.body = fmt.Appendf(nil, "dispatch error: %v", o.err)
		}
		if r.dls != "" {
			t.toDLS, t.attempts = true, 0
			b.retryLater(t, 0)
			return
		}
		b.deadLetter(t, "delivery failed")
		b.finish()
		return
	}
	b.deadLetter(t, fmt.Sprintf("delivery failed and dead letter sink %s failed too (status %d, %v)", r.dls, o.code, o.err))
	b.finish()
}

// preferReply is the Prefer header of every delivery, shared: a request's
// header map is not modified after it is sent.
var preferReply = []string{"reply"}

// send makes one HTTP attempt. Replies are parsed only when wantReply.
func (b *Broker) send(target string, ev event.Event, hdr http.Header, d trigger.Delivery, timeout time.Duration, wantReply bool) outcome {
	ctx := b.ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var req *http.Request
	var err error
	if d.Format == trigger.FormatJSON {
		if req, err = http.NewRequestWithContext(ctx, http.MethodPost, target, nil); err != nil {
			return outcome{err: fmt.Errorf("build request: %w", err)}
		}
		if err := cehttp.WriteRequest(binding.WithForceStructured(ctx), binding.ToMessage(&ev), req); err != nil {
			return outcome{err: fmt.Errorf("encode event: %w", err)}
		}
	} else if req, err = ceio.NewRequest(ctx, target, ev); err != nil {
		return outcome{err: fmt.Errorf("encode event: %w", err)}
	}
	req.Header["Prefer"] = preferReply
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return outcome{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, b.maxBytes+1))
	o := outcome{code: resp.StatusCode, body: body}
	if err != nil {
		o.err = fmt.Errorf("read response: %w", err)
		return o
	}
	if !o.ok() || !wantReply {
		return o
	}
	if int64(len(body)) > b.maxBytes {
		o.err = fmt.Errorf("reply larger than %d bytes", b.maxBytes)
		return o
	}
	msg := cehttp.NewMessage(resp.Header, io.NopCloser(bytes.NewReader(body)))
	if msg.ReadEncoding() == binding.EncodingUnknown {
		return o // not an event: accepted without reply
	}
	reply, err := binding.ToEvent(ctx, msg)
	if err == nil {
		err = reply.Validate()
	}
	if err != nil {
		o.err = fmt.Errorf("invalid reply event: %w", err)
		return o
	}
	o.reply = reply
	return o
}

// publishReply puts a reply back into the broker with the TTL of the event
// that produced it, as Knative's broker filter does.
func (b *Broker) publishReply(t *task, reply event.Event) {
	reply.SetExtension(TTLExtension, t.ttl)
	err := b.accept(reply, false)
	if err == nil {
		b.replies.Add(1)
		return
	}
	reply.SetExtension(TTLExtension, nil)
	b.deadLetter(&task{route: t.route, event: reply, err: err}, "reply not published: "+err.Error())
}

// withErrorExtensions is the event for the dead letter sink: the original
// plus knativeerrordest (subscriber URL), knativeerrorcode (last status; 500
// for a network error) and knativeerrordata (base64 of the response body,
// at most 1024 characters).
func (b *Broker) withErrorExtensions(t *task) event.Event {
	e := t.event.Clone()
	data := base64.StdEncoding.EncodeToString(t.body)
	if len(data) > errorDataMaxLength {
		data = data[:errorDataMaxLength]
	}
	e.SetExtension(ExtErrorDest, t.route.url)
	e.SetExtension(ExtErrorCode, int32(t.code))
	e.SetExtension(ExtErrorData, data)
	return e
}

func toInt32(v any) (int32, error) {
	if s, ok := v.(string); ok {
		var n int32
		if _, err := fmt.Sscan(s, &n); err != nil {
			return 0, errors.New("not an integer")
		}
		return n, nil
	}
	return types.ToInteger(v)
}
