package ceio

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/format"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"
)

// v1Block holds an event's context and the optional attributes it points
// to, so that decoding them is one allocation instead of four. (dataschema,
// rarely set, is left out to keep the block small.)
type v1Block struct {
	ec      event.EventContextV1
	ct      string
	subject string
	time    types.Timestamp
}

type extKV struct{ name, value string }

// ReadRequest returns the CloudEvent r carries, validated as
// event.Event.Validate does, reading at most maxBytes of body (no limit when
// maxBytes <= 0; over it the error matches *http.MaxBytesError). Binary-mode
// 1.0 requests are decoded here into what sdk-go's
// NewMessageFromHttpRequest + binding.ToEvent would give; anything else goes
// through sdk-go. The body is not closed.
func ReadRequest(r *http.Request, maxBytes int64) (event.Event, error) {
	h := r.Header
	// sdk-go's classification: a format Content-Type wins, then the version.
	sv := h[ceSpecVersion]
	if len(sv) == 0 || sv[0] != event.CloudEventsVersionV1 || format.Lookup(first(h, contentType)) != nil {
		return readSDK(r, maxBytes)
	}

	blk := new(v1Block)
	ec := &blk.ec
	var (
		kvs   [16]extKV
		exts  = kvs[:0]
		srcOK bool
	)
	// Header names must match exactly, as sdk-go matches them: net/http
	// canonicalises what it reads, and in a hand-built header sdk-go takes
	// "Ce-id" for an extension named "id" (an error) and ignores "ce-id".
	for k, v := range h {
		if len(v) == 0 { // sdk-go would index v[0] and panic
			continue
		}
		val := v[0]
		var err error
		switch k {
		case ceSpecVersion: // checked above
		case ceID:
			if ec.ID = strings.TrimSpace(val); ec.ID == "" {
				err = errors.New("id is required to be a non-empty string")
			}
		case ceSource: // not trimmed: sdk-go parses it as sent
			var src source
			if src, err = parseURL(val); err == nil {
				ec.Source.URL, srcOK = src.u, src.ok
			}
		case ceType:
			ec.Type = strings.TrimSpace(val)
		case contentType:
			if blk.ct = strings.TrimSpace(val); blk.ct != "" {
				ec.DataContentType = &blk.ct
			}
		case ceSubject:
			if blk.subject = strings.TrimSpace(val); blk.subject != "" {
				ec.Subject = &blk.subject
			}
		case ceDataSchema:
			if s := strings.TrimSpace(val); s != "" {
				var src source
				if src, err = parseURL(s); err == nil {
					ec.DataSchema = &types.URI{URL: src.u}
				}
			}
		case ceTime:
			t, perr := time.Parse(time.RFC3339Nano, val)
			switch {
			case perr != nil:
				err = fmt.Errorf("invalid value for time: %q", val)
			case !t.IsZero(): // sdk-go drops a zero time
				blk.time.Time = t
				ec.Time = &blk.time
			}
		default:
			if !strings.HasPrefix(k, cePrefix) {
				continue
			}
			var name string
			if name, err = extName(k); err == nil {
				exts = append(exts, extKV{name, val})
			}
		}
		if err != nil {
			return event.Event{}, fmt.Errorf("header %s: %w", k, err)
		}
	}

	data, err := readBody(r, maxBytes)
	if err != nil {
		return event.Event{}, err
	}
	if len(exts) > 0 {
		ec.Extensions = make(map[string]any, len(exts))
		for _, kv := range exts {
			ec.Extensions[kv.name] = kv.value // strings, as sdk-go stores header values
		}
	}
	e := event.Event{Context: ec, DataEncoded: data}
	if !validV1(ec, srcOK) {
		if err := e.Validate(); err != nil {
			return event.Event{}, err
		}
	}
	return e, nil
}

// readSDK is the sdk-go path CEHandler took for every request before.
func readSDK(r *http.Request, maxBytes int64) (_ event.Event, err error) {
	// sdk-go indexes header names and values it assumes non-empty ("Ce-",
	// a hand-built header with no values).
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sdk-go could not read the request: %v", p)
		}
	}()
	body := r.Body
	if body == nil { // sdk-go would read a nil reader for structured mode
		body = http.NoBody
	}
	if maxBytes > 0 {
		body = http.MaxBytesReader(nil, body, maxBytes)
	}
	e, err := binding.ToEvent(r.Context(), cehttp.NewMessage(r.Header, body))
	if err != nil {
		return event.Event{}, err
	}
	if err = e.Validate(); err != nil {
		return event.Event{}, err
	}
	return *e, nil
}

func first(h http.Header, k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// maxPrealloc caps the buffer allocated from Content-Length before reading.
const maxPrealloc = 4 << 20

// readBody reads r's body into one buffer sized from Content-Length (the
// extra byte lets the final read see EOF without growing it); nil when
// empty, as sdk-go leaves DataEncoded.
func readBody(r *http.Request, maxBytes int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	n := r.ContentLength
	if maxBytes > 0 && n > maxBytes {
		return nil, &http.MaxBytesError{Limit: maxBytes}
	}
	size := 512
	if n > 0 { // trusted only so far: with no limit it is the client's word
		size = int(min(n, maxPrealloc)) + 1
	}
	buf := make([]byte, 0, size)
	for {
		if maxBytes > 0 && int64(len(buf)) > maxBytes {
			return nil, &http.MaxBytesError{Limit: maxBytes}
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		end := cap(buf)
		if maxBytes > 0 && int64(end) > maxBytes+1 {
			end = int(maxBytes + 1)
		}
		m, err := r.Body.Read(buf[len(buf):end])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if maxBytes > 0 && int64(len(buf)) > maxBytes {
		return nil, &http.MaxBytesError{Limit: maxBytes}
	}
	if len(buf) == 0 {
		return nil, nil
	}
	return buf, nil
}

// source is a parsed URI and whether EventContextV1.Validate finds it
// non-blank as a source (formatting it back allocates).
type source struct {
	u  url.URL
	ok bool
}

var urls memo[source]

func parseURL(s string) (source, error) {
	if src, hit := urls.get(s); hit {
		return src, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return source{}, err
	}
	src := source{u: *u, ok: strings.TrimSpace(u.String()) != ""}
	urls.put(s, src)
	return src, nil
}

var extNames memo[string]

// extName maps a "Ce-<name>" header to the extension sdk-go would set:
// <name> lower-cased, refused unless ASCII letters and digits and not an
// attribute name.
func extName(key string) (string, error) {
	name, hit := extNames.get(key)
	if !hit {
		raw := key[len(cePrefix):]
		if raw == "" {
			return "", errors.New("bad key, CloudEvents attribute names MUST NOT be empty")
		}
		for i := 0; i < len(raw); i++ {
			if !isAlnum(raw[i]) {
				return "", fmt.Errorf("bad key %q, CloudEvents attribute names MUST consist of ASCII letters and digits", raw)
			}
		}
		name = strings.ToLower(raw)
		if isV1Attribute(name) {
			return "", fmt.Errorf("bad key %q: CloudEvents spec attribute MUST NOT be overwritten by extension", raw)
		}
		extNames.put(key, name)
	}
	// Checked on every call: it is a variable sdk-go's users may set.
	if max := event.MaxExtensionNameLength; max > 0 && len(name) > max {
		return "", fmt.Errorf("bad key, CloudEvents attribute name '%s' is longer than %d characters", name, max)
	}
	return name, nil
}
