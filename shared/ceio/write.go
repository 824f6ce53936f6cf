package ceio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"
)

// NewRequest returns a binary-mode POST of e to target, with the headers and
// body sdk-go's cehttp.WriteRequest would write. Like sdk-go's client.Send,
// it refuses an event that fails e.Validate(). Events other than spec 1.0
// are written by sdk-go.
func NewRequest(ctx context.Context, target string, e event.Event) (*http.Request, error) {
	if ctx == nil {
		return nil, errors.New("ceio: nil Context")
	}
	ec, ok := e.Context.(*event.EventContextV1)
	if !ok || ec == nil {
		return newRequestSDK(ctx, target, e)
	}
	src := ec.Source.String()
	if len(e.FieldErrors) > 0 || !validV1(ec, strings.TrimSpace(src) != "") {
		if err := e.Validate(); err != nil {
			return nil, err
		}
	}
	u, err := parseTarget(target)
	if err != nil {
		return nil, err
	}

	// One backing array for every header's value slice.
	hb := headers{h: make(http.Header, 8+len(ec.Extensions)), vals: make([]string, 0, 8+len(ec.Extensions))}
	// sdk-go's attribute order, each omitted when blank.
	hb.set(ceID, ec.ID)
	hb.set(ceSource, src)
	hb.set(ceSpecVersion, event.CloudEventsVersionV1)
	hb.set(ceType, ec.Type)
	if ec.DataContentType != nil {
		hb.set(contentType, *ec.DataContentType)
	}
	if ec.DataSchema != nil {
		hb.set(ceDataSchema, ec.DataSchema.String())
	}
	if ec.Subject != nil {
		hb.set(ceSubject, *ec.Subject)
	}
	if ec.Time != nil && !ec.Time.IsZero() {
		hb.set(ceTime, types.FormatTime(ec.Time.Time))
	}
	for name, v := range ec.Extensions {
		key, err := extHeader(name)
		if err != nil {
			return nil, err
		}
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case nil: // sdk-go deletes the header, even an attribute's
			delete(hb.h, key)
			continue
		default:
			if s, err = types.Format(v); err != nil {
				return nil, err
			}
		}
		// Unlike attributes, an empty value is sent, and it replaces a
		// header of the same name.
		hb.vals = append(hb.vals, s)
		hb.h[key] = hb.vals[len(hb.vals)-1 : len(hb.vals) : len(hb.vals)]
	}

	req := http.Request{
		Method:     http.MethodPost,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     hb.h,
		Host:       u.Host,
	}
	if data := e.DataEncoded; len(data) > 0 {
		b := &body{}
		b.Reset(data)
		req.Body = b
		req.ContentLength = int64(len(data))
		// Lets the transport resend the request when a kept-alive
		// connection turns out to have been closed.
		req.GetBody = func() (io.ReadCloser, error) {
			b := &body{}
			b.Reset(data)
			return b, nil
		}
	}
	return req.WithContext(ctx), nil
}

type headers struct {
	h    http.Header
	vals []string
}

func (hb *headers) set(k, v string) {
	if v == "" {
		return
	}
	hb.vals = append(hb.vals, v)
	n := len(hb.vals)
	hb.h[k] = hb.vals[n-1 : n : n]
}

// body is a request body over event data, without io.NopCloser's extra
// allocation.
type body struct{ bytes.Reader }

func (*body) Close() error { return nil }

var targets memo[url.URL]

// parseTarget parses target as http.NewRequest does, once per target.
func parseTarget(target string) (*url.URL, error) {
	u, hit := targets.get(target)
	if !hit {
		p, err := url.Parse(target)
		if err != nil {
			return nil, err
		}
		p.Host = strings.TrimSuffix(p.Host, ":") // an empty port, as http.NewRequest drops it
		u = *p
		targets.put(target, u)
	}
	// A copy per request: callers and transports may modify req.URL.
	return &u, nil
}

var extHeaders memo[string]

// extHeader is sdk-go's header name for extension name: "Ce-" and name with
// its first letter upper-cased (canonical for the lower-case names
// SetExtension stores).
func extHeader(name string) (string, error) {
	if k, hit := extHeaders.get(name); hit {
		return k, nil
	}
	if name == "" {
		return "", errors.New("ceio: empty extension name")
	}
	k := cePrefix + string(unicode.ToUpper(rune(name[0]))) + name[1:]
	extHeaders.put(name, k)
	return k, nil
}

// newRequestSDK writes e as sdk-go's HTTP client did.
func newRequestSDK(ctx context.Context, target string, e event.Event) (*http.Request, error) {
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
