package broker

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/shared/broker/trigger"
)

func TestIngressModes(t *testing.T) {
	s := newSink(t, nil)
	b := newBroker(t, Options{Triggers: []trigger.Trigger{uriTrigger("all", s.URL, nil, nil)}})
	ing := httptest.NewServer(b)
	t.Cleanup(ing.Close)

	tests := map[string]bool{"binary": false, "structured": true}
	for name, structured := range tests {
		t.Run(name, func(t *testing.T) {
			before := s.count()
			e := newEvent("id-"+name, "com.example."+name)
			if code := post(t, ing.URL, e, structured); code != http.StatusAccepted {
				t.Fatalf("status %d, want 202", code)
			}
			eventually(t, "delivery", func() bool { return s.count() > before })
			got := s.events()[before]
			if got.Event.ID() != e.ID() || got.Event.Type() != e.Type() || string(got.Event.Data()) != string(e.Data()) {
				t.Fatalf("delivered %v, want %v", got.Event, e)
			}
			if got.Header.Get("Ce-Specversion") != "1.0" || strings.Contains(got.Header.Get("Content-Type"), "cloudevents") {
				t.Fatalf("not binary mode: %v", got.Header)
			}
			if got.Header.Get("Prefer") != "reply" {
				t.Fatalf("missing Prefer: reply: %v", got.Header)
			}
			if _, ok := got.Event.Extensions()[TTLExtension]; ok {
				t.Fatalf("subscriber saw %s", TTLExtension)
			}
		})
	}
}

func TestIngressRejects(t *testing.T) {
	s := newSink(t, nil)
	b := newBroker(t, Options{MaxEventBytes: 1024, Triggers: []trigger.Trigger{uriTrigger("all", s.URL, nil, nil)}})
	ing := httptest.NewServer(b)
	t.Cleanup(ing.Close)

	ce := func(extra map[string]string) http.Header {
		h := http.Header{"Ce-Specversion": {"1.0"}, "Ce-Id": {"1"}, "Ce-Type": {"t"}, "Ce-Source": {"/s"}, "Content-Type": {"application/json"}}
		for k, v := range extra {
			if v == "" {
				h.Del(k)
			} else {
				h.Set(k, v)
			}
		}
		return h
	}
	structured := http.Header{"Content-Type": {"application/cloudevents+json"}}
	big := []byte(`"` + strings.Repeat("x", 2000) + `"`)
	tests := map[string]struct {
		method string
		header http.Header
		body   []byte
		chunk  bool
		want   int
	}{
		"ok binary":             {header: ce(nil), body: []byte(`{}`), want: 202},
		"GET":                   {method: http.MethodGet, want: 405},
		"oversize":              {header: ce(nil), body: big, want: 413},
		"oversize chunked":      {header: ce(nil), body: big, chunk: true, want: 413},
		"plain JSON":            {header: http.Header{"Content-Type": {"application/json"}}, body: []byte(`{"a":1}`), want: 400},
		"binary without id":     {header: ce(map[string]string{"Ce-Id": ""}), body: []byte(`{}`), want: 400},
		"binary without source": {header: ce(map[string]string{"Ce-Source": ""}), body: []byte(`{}`), want: 400},
		"bad specversion":       {header: ce(map[string]string{"Ce-Specversion": "9.9"}), body: []byte(`{}`), want: 400},
		"structured broken":     {header: structured, body: []byte(`{"specversion":"1.0",`), want: 400},
		"structured no type":    {header: structured, body: []byte(`{"specversion":"1.0","id":"1","source":"/s"}`), want: 400},
		"structured ok":         {header: structured, body: []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t"}`), want: 202},
		"batch":                 {header: http.Header{"Content-Type": {"application/cloudevents-batch+json"}}, body: []byte(`[]`), want: 400},
		"ttl exhausted":         {header: ce(map[string]string{"Ce-Knativebrokerttl": "0"}), body: []byte(`{}`), want: 400},
		"ttl garbage":           {header: ce(map[string]string{"Ce-Knativebrokerttl": "many"}), body: []byte(`{}`), want: 400},
		"ttl one left":          {header: ce(map[string]string{"Ce-Knativebrokerttl": "1"}), body: []byte(`{}`), want: 202},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req, err := http.NewRequest(method, ing.URL, strings.NewReader(string(tc.body)))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header[k] = v
			}
			if tc.chunk {
				req.ContentLength = -1 // no Content-Length: the body limit must catch it
			}
			if got := do(t, req); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
}
