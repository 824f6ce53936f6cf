package ceio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"
)

const target = "http://broker.test/ingress"

// sdkRead is what CEHandler did before ceio: sdk-go's reader, then Validate.
// A panic in sdk-go counts as a rejection.
func sdkRead(r *http.Request, maxBytes int64) (e *event.Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			e, err = nil, fmt.Errorf("sdk-go panicked: %v", p)
		}
	}()
	if maxBytes > 0 && r.Body != nil {
		r.Body = http.MaxBytesReader(nil, r.Body, maxBytes)
	}
	e, err = binding.ToEvent(r.Context(), cehttp.NewMessageFromHttpRequest(r))
	if err == nil {
		err = e.Validate()
	}
	return e, err
}

// sdkWrite is the request sdk-go's HTTP client built for e.
func sdkWrite(t testing.TB, e event.Event) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cehttp.WriteRequest(context.Background(), binding.ToMessage(&e), req); err != nil {
		t.Fatal(err)
	}
	return req
}

// request builds an incoming request from a header and body.
func request(h http.Header, body []byte) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	r.Header = h
	return r
}

// bodyOf reads req's body without consuming it.
func bodyOf(t testing.TB, req *http.Request) []byte {
	t.Helper()
	if req.Body == nil {
		return nil
	}
	rc, err := req.GetBody()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameEvent compares two events attribute by attribute, then as a whole.
func sameEvent(t testing.TB, got, want event.Event) {
	t.Helper()
	if (got.Context == nil) != (want.Context == nil) {
		t.Fatalf("context: got %v, want %v", got.Context, want.Context)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"specversion", got.SpecVersion(), want.SpecVersion()},
		{"id", got.ID(), want.ID()},
		{"source", got.Source(), want.Source()},
		{"type", got.Type(), want.Type()},
		{"subject", got.Subject(), want.Subject()},
		{"datacontenttype", got.DataContentType(), want.DataContentType()},
		{"dataschema", got.DataSchema(), want.DataSchema()},
		{"time", got.Time().Format(time.RFC3339Nano), want.Time().Format(time.RFC3339Nano)},
		{"extensions", got.Extensions(), want.Extensions()},
		{"data", got.Data(), want.Data()},
		{"data is nil", got.Data() == nil, want.Data() == nil},
		{"base64", got.DataBase64, want.DataBase64},
		{"field errors", got.FieldErrors, want.FieldErrors},
		{"context type", reflect.TypeOf(got.Context), reflect.TypeOf(want.Context)},
		// Pointers set or nil alike (an empty subject is not a nil one).
		{"context", got.Context, want.Context},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Fatalf("%s: got %#v, want %#v", c.name, c.got, c.want)
		}
	}
	if (got.Validate() == nil) != (want.Validate() == nil) {
		t.Fatalf("Validate: got %v, want %v", got.Validate(), want.Validate())
	}
}

func newEvent(id string) event.Event {
	e := event.New()
	e.SetID(id)
	e.SetSource("shipyard-controller")
	e.SetType("sh.keptn.event.deployment.triggered")
	return e
}

func roundTripEvents(t testing.TB) map[string]event.Event {
	events := map[string]event.Event{}
	add := func(name string, f func(e *event.Event)) {
		e := newEvent("id-" + name)
		f(&e)
		if err := e.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		events[name] = e
	}
	add("minimal", func(*event.Event) {})
	add("keptn", func(e *event.Event) { *e = keptnEvent(t) })
	add("extension kinds", func(e *event.Event) {
		u, _ := url.Parse("https://example.com/x?y=1#z")
		e.SetExtension("str", "s")
		e.SetExtension("int", 42)
		e.SetExtension("negative", int32(-7))
		e.SetExtension("bool", true)
		e.SetExtension("when", time.Date(2024, 2, 29, 23, 59, 59, 123456789, time.FixedZone("x", 3600)))
		e.SetExtension("uri", u)
		e.SetExtension("uriref", types.URIRef{URL: url.URL{Path: "/relative/path"}})
		e.SetExtension("binary", []byte{0, 1, 2, 0xff})
		e.SetExtension("empty", "")
		e.SetExtension("MixedCase", "name is stored lower-case")
	})
	add("awkward values", func(e *event.Event) {
		e.SetSubject(`naïve ✓ 100% "quoted" a b`)
		e.SetExtension("unicode", "日本語 ✓ ünïcödé")
		e.SetExtension("percent", "100% %41 %zz %")
		e.SetExtension("quote", `say "hi"`)
		e.SetExtension("spaces", "  leading and trailing  ")
		e.SetExtension("control", "tab\there\x01\x7f")
		e.SetExtension("newline", "line\r\nbreak")
	})
	add("empty data with content type", func(e *event.Event) {
		e.SetDataContentType("application/json")
	})
	add("json data", func(e *event.Event) {
		_ = e.SetData(event.ApplicationJSON, map[string]any{"project": "p", "n": 1})
	})
	add("json data with charset", func(e *event.Event) {
		e.SetDataContentType("application/json; charset=UTF-8")
		e.DataEncoded = []byte(`{"a":"ü"}`)
	})
	add("text data", func(e *event.Event) {
		_ = e.SetData("text/plain", "plain text, not JSON")
	})
	add("binary data", func(e *event.Event) {
		_ = e.SetData("application/octet-stream", []byte{0, 0xff, '\n', 0x80})
	})
	add("data without content type", func(e *event.Event) {
		e.DataEncoded = []byte("raw")
	})
	add("all optional attributes", func(e *event.Event) {
		e.SetSubject("sub")
		e.SetDataSchema("https://schemas.example.com/v1.json")
		e.SetTime(time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("minus", -5*3600)))
		_ = e.SetData(event.ApplicationJSON, []int{1, 2, 3})
	})
	add("time only", func(e *event.Event) {
		e.SetTime(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	})
	add("source URL", func(e *event.Event) {
		e.SetSource("https://user@example.com:8443/a%20b/c?q=1&r=%2F#frag")
	})
	return events
}

// Every event written by NewRequest and by sdk-go reads back, by ceio and
// by sdk-go, as the same event; the two writers write the same request.
func TestRoundTrip(t *testing.T) {
	for name, e := range roundTripEvents(t) {
		t.Run(name, func(t *testing.T) {
			ours, err := NewRequest(context.Background(), target, e)
			if err != nil {
				t.Fatal(err)
			}
			theirs := sdkWrite(t, e)
			if !reflect.DeepEqual(ours.Header, theirs.Header) {
				t.Fatalf("headers:\n ceio %v\n sdk  %v", ours.Header, theirs.Header)
			}
			body := bodyOf(t, ours)
			if !bytes.Equal(body, bodyOf(t, theirs)) || ours.ContentLength != theirs.ContentLength {
				t.Fatalf("body: ceio %q (%d), sdk %q (%d)", body, ours.ContentLength, bodyOf(t, theirs), theirs.ContentLength)
			}
			if ours.Method != http.MethodPost || ours.URL.String() != target {
				t.Fatalf("%s %s", ours.Method, ours.URL)
			}

			want, err := sdkRead(request(ours.Header.Clone(), body), 0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ReadRequest(ours, 0) // the request as NewRequest made it
			if err != nil {
				t.Fatal(err)
			}
			sameEvent(t, got, *want)
			got, err = ReadRequest(theirs, 0)
			if err != nil {
				t.Fatal(err)
			}
			sameEvent(t, got, *want)

			// And what was sent is what arrived.
			if got.ID() != e.ID() || got.Source() != e.Source() || !bytes.Equal(got.Data(), e.Data()) ||
				got.DataContentType() != e.DataContentType() || !got.Time().Equal(e.Time()) || len(got.Extensions()) != len(e.Extensions()) {
				t.Fatalf("sent %v\nread %v", e, got)
			}
		})
	}
}

// Through a real HTTP server too (header parsing, canonical names, body).
func TestRoundTripOverHTTP(t *testing.T) {
	e := keptnEvent(t)
	type result struct {
		ours, sdk event.Event
		err       error
	}
	got := make(chan result, 1)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ours, err := ReadRequest(request(r.Header, body), 1<<20)
		var sdk *event.Event
		if err == nil {
			sdk, err = sdkRead(request(r.Header, body), 1<<20)
		}
		if err != nil {
			got <- result{err: err}
			return
		}
		got <- result{ours, *sdk, nil}
	})
	req, err := NewRequest(context.Background(), srv, e)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	sameEvent(t, r.ours, r.sdk)
	if r.ours.ID() != e.ID() || r.ours.Extensions()["gitcommitid"] != e.Extensions()["gitcommitid"] {
		t.Fatalf("sent %v\nread %v", e, r.ours)
	}
}

func TestStructuredAndBatchFallBack(t *testing.T) {
	e := keptnEvent(t)
	js, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, ct string
		body     []byte
		binary   bool // ce- headers as well: the format still wins
		ok       bool
	}{
		{"structured", "application/cloudevents+json", js, false, true},
		{"structured with params", "Application/CloudEvents+JSON; charset=utf-8", js, false, true},
		{"structured with ce headers", "application/cloudevents+json", js, true, true},
		{"structured garbage", "application/cloudevents+json", []byte("{"), false, false},
		{"batch", "application/cloudevents-batch+json", []byte("[" + string(js) + "]"), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {tc.ct}}
			if tc.binary {
				h.Set("Ce-Specversion", "1.0")
				h.Set("Ce-Id", "other")
			}
			got, err := ReadRequest(request(h.Clone(), tc.body), 1<<20)
			want, werr := sdkRead(request(h.Clone(), tc.body), 1<<20)
			if (err == nil) != tc.ok || (werr == nil) != tc.ok {
				t.Fatalf("ceio: %v, sdk: %v, want ok=%v", err, werr, tc.ok)
			}
			if tc.ok {
				sameEvent(t, got, *want)
				sameEvent(t, got, e)
			}
		})
	}
}

func TestSpecVersion03FallsBack(t *testing.T) {
	h := http.Header{
		"Ce-Specversion": {"0.3"}, "Ce-Id": {"1"}, "Ce-Source": {"s"}, "Ce-Type": {"t"},
		"Ce-Schemaurl": {"https://example.com/s"}, "Content-Type": {"text/plain"},
		// Not Ce-Datacontentencoding: sdk-go accepts or rejects it depending
		// on whether it meets Ce-Specversion first in the map.
	}
	got, err := ReadRequest(request(h.Clone(), []byte("hi")), 0)
	if err != nil {
		t.Fatal(err)
	}
	want, err := sdkRead(request(h.Clone(), []byte("hi")), 0)
	if err != nil {
		t.Fatal(err)
	}
	sameEvent(t, got, *want)
	if got.SpecVersion() != "0.3" {
		t.Fatalf("specversion %s", got.SpecVersion())
	}
	// And 0.3 is written by sdk-go.
	e := event.New("0.3")
	e.SetID("1")
	e.SetSource("s")
	e.SetType("t")
	ours, err := NewRequest(context.Background(), target, e)
	if err != nil {
		t.Fatal(err)
	}
	if theirs := sdkWrite(t, e); !reflect.DeepEqual(ours.Header, theirs.Header) {
		t.Fatalf("headers:\n ceio %v\n sdk  %v", ours.Header, theirs.Header)
	}
}

func binaryHeader() http.Header {
	return http.Header{
		"Ce-Specversion": {"1.0"},
		"Ce-Id":          {"1"},
		"Ce-Source":      {"s"},
		"Ce-Type":        {"t"},
	}
}

func TestInvalidRejected(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(http.Header)
	}{
		{"no id", func(h http.Header) { delete(h, "Ce-Id") }},
		{"blank id", func(h http.Header) { h.Set("Ce-Id", "  ") }},
		{"no source", func(h http.Header) { delete(h, "Ce-Source") }},
		{"bad source", func(h http.Header) { h.Set("Ce-Source", "http://[::1") }},
		{"fragment-only source", func(h http.Header) { h.Set("Ce-Source", "#") }},
		{"no type", func(h http.Header) { delete(h, "Ce-Type") }},
		{"blank type", func(h http.Header) { h.Set("Ce-Type", " ") }},
		{"unknown specversion", func(h http.Header) { h.Set("Ce-Specversion", "2.0") }},
		{"specversion with space", func(h http.Header) { h.Set("Ce-Specversion", "1.0 ") }},
		{"no specversion", func(h http.Header) { delete(h, "Ce-Specversion") }},
		{"bad time", func(h http.Header) { h.Set("Ce-Time", "yesterday") }},
		{"time without zone", func(h http.Header) { h.Set("Ce-Time", "2024-01-01T00:00:00") }},
		{"bad content type", func(h http.Header) { h.Set("Content-Type", "application/") }},
		{"relative dataschema", func(h http.Header) { h.Set("Ce-Dataschema", "/schema.json") }},
		{"bad dataschema", func(h http.Header) { h.Set("Ce-Dataschema", "http://[::1") }},
		{"extension named like an attribute", func(h http.Header) { h.Set("Ce-Datacontenttype", "text/plain") }},
		{"extension with a dash", func(h http.Header) { h.Set("Ce-Foo-Bar", "x") }},
		{"extension with non-ASCII name", func(h http.Header) { h["Ce-Ünï"] = []string{"x"} }},
		{"non-canonical attribute header", func(h http.Header) { h["Ce-id"] = []string{"x"} }},
		{"empty extension name", func(h http.Header) { h["Ce-"] = []string{"x"} }}, // sdk-go panics
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := binaryHeader()
			tc.edit(h)
			_, err := ReadRequest(request(h.Clone(), []byte("{}")), 0)
			_, werr := sdkRead(request(h.Clone(), []byte("{}")), 0)
			if err == nil || werr == nil {
				t.Fatalf("ceio: %v, sdk: %v; want both rejected", err, werr)
			}
		})
	}
}

// Blank optional attributes are dropped, not errors, as in sdk-go.
func TestBlankOptionalAttributes(t *testing.T) {
	h := binaryHeader()
	h.Set("Ce-Subject", "  ")
	h.Set("Content-Type", " ")
	h.Set("Ce-Dataschema", "")
	h.Set("Ce-Time", "0001-01-01T00:00:00Z")
	h.Set("Ce-Type", "  padded  ")
	h.Set("Ce-Id", " padded ")
	got, err := ReadRequest(request(h.Clone(), nil), 0)
	if err != nil {
		t.Fatal(err)
	}
	want, err := sdkRead(request(h.Clone(), nil), 0)
	if err != nil {
		t.Fatal(err)
	}
	sameEvent(t, got, *want)
}

func TestBodyLimit(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 100)
	for _, tc := range []struct {
		name string
		req  func() *http.Request
		ok   bool
	}{
		{"at the limit", func() *http.Request { return request(binaryHeader(), big) }, true},
		{"over, length known", func() *http.Request { return request(binaryHeader(), append(big, 'x')) }, false},
		{"over, length unknown", func() *http.Request {
			r := request(binaryHeader(), nil)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(append(big, 'x'))), -1
			return r
		}, false},
		{"at the limit, length unknown", func() *http.Request {
			r := request(binaryHeader(), nil)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(big)), -1
			return r
		}, true},
		{"over, length understated", func() *http.Request {
			r := request(binaryHeader(), append(big, 'x'))
			r.ContentLength = 10
			return r
		}, false},
		{"structured over", func() *http.Request {
			return request(http.Header{"Content-Type": {"application/cloudevents+json"}}, append(big, 'x'))
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ReadRequest(tc.req(), int64(len(big)))
			var tooBig *http.MaxBytesError
			switch {
			case tc.ok && err != nil:
				t.Fatal(err)
			case tc.ok && !bytes.Equal(e.Data(), big):
				t.Fatalf("data %q", e.Data())
			case !tc.ok && !errors.As(err, &tooBig):
				t.Fatalf("err = %v, want *http.MaxBytesError", err)
			}
		})
	}
}

func TestNewRequestRefusesInvalid(t *testing.T) {
	for name, e := range map[string]event.Event{
		"no context": {},
		"no id":      func() event.Event { e := newEvent("x"); e.Context.(*event.EventContextV1).ID = ""; return e }(),
		"bad content type": func() event.Event {
			e := newEvent("x")
			e.SetDataContentType("application/")
			return e
		}(),
		"field error": func() event.Event { e := newEvent("x"); e.SetSpecVersion("9"); return e }(),
	} {
		if _, err := NewRequest(context.Background(), target, e); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := NewRequest(context.Background(), "http://[::1", newEvent("x")); err == nil {
		t.Error("bad target: no error")
	}
}

func TestNewRequestRewindsBody(t *testing.T) {
	e := keptnEvent(t)
	req, err := NewRequest(context.Background(), "http://h:/p", e)
	if err != nil {
		t.Fatal(err)
	}
	if req.Host != "h" || req.URL.Host != "h" {
		t.Fatalf("host %q, url host %q", req.Host, req.URL.Host)
	}
	first, _ := io.ReadAll(req.Body)
	if !bytes.Equal(first, e.Data()) || !bytes.Equal(bodyOf(t, req), e.Data()) {
		t.Fatal("body differs from data")
	}
	// The URL is each request's own.
	req.URL.Path = "/changed"
	again, _ := NewRequest(context.Background(), "http://h:/p", e)
	if again.URL.Path != "/p" {
		t.Fatalf("path %q", again.URL.Path)
	}
}

func keptnEvent(t testing.TB) event.Event {
	e := event.New()
	e.SetID("7f6d0e0a-3c1b-4d6e-9a55-2f0c1b3e4a5d")
	e.SetSource("shipyard-controller")
	e.SetType("sh.keptn.event.deployment.triggered")
	e.SetTime(time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC))
	e.SetExtension("shkeptncontext", "0b6f4e2c-8a1d-4f3e-b7c9-5d2a1e0f3c4b")
	e.SetExtension("triggeredid", "c3d2e1f0-a9b8-4c7d-8e6f-5a4b3c2d1e0f")
	e.SetExtension("shkeptnspecversion", "0.2.4")
	e.SetExtension("gitcommitid", "9fceb02d0ae598e95dc970b74767f19372d61af8")
	e.SetExtension("slipwaykind", "task")
	e.SetExtension("knativebrokerttl", "255")
	e.SetExtension("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	e.SetExtension("tracestate", "congo=t61rcWkgMzE")
	data := `{"project":"sockshop","stage":"production","service":"carts",` +
		`"labels":{"buildId":"2025.03.14-1","owner":"team-carts"},` +
		`"status":"","result":"","message":"",` +
		`"configurationChange":{"values":{"image":"docker.io/keptnexamples/carts:0.13.1"}},` +
		`"deployment":{"deploymentstrategy":"blue_green_service","deploymentURIsLocal":["http://carts.sockshop-production:80"],` +
		`"deploymentURIsPublic":["http://carts.sockshop-production.203.0.113.10.nip.io"],"deploymentNames":["user_managed"],"gitCommit":"9fceb02"},` +
		`"test":{"teststrategy":"performance"},"evaluation":{"timeframe":"5m","start":"2025-03-14T15:00:00Z","end":"2025-03-14T15:05:00Z"},` +
		`"approval":{"pass":"automatic","warning":"manual"},"release":{"strategy":"blue_green_service"},` +
		`"temporaryData":{"distributor":{"subscriptionID":"8b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"}}}`
	if err := e.SetData(event.ApplicationJSON, []byte(data)); err != nil {
		t.Fatal(err)
	}
	return e
}

// newServer serves handle on loopback and returns its URL.
func newServer(t testing.TB, handle http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(handle)
	t.Cleanup(srv.Close)
	return srv.URL
}
