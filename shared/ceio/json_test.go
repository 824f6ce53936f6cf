package ceio

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
)

// sameJSON checks MarshalJSON against sdk-go's encoder: both valid JSON,
// equal as JSON values, and decoding to equal events.
func sameJSON(t *testing.T, e event.Event) {
	t.Helper()
	got, err := MarshalJSON(e)
	want, werr := e.MarshalJSON()
	if (err != nil) != (werr != nil) {
		t.Fatalf("error %v, sdk-go %v", err, werr)
	}
	if err != nil {
		return
	}
	if !json.Valid(got) {
		if json.Valid(want) {
			t.Fatalf("invalid JSON %q (sdk-go: %q)", got, want)
		}
		return // invalid JSON data: sdk-go writes it as it is too
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("sdk-go wrote invalid JSON %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
	if !utf8.Valid(want) {
		return // sdk-go wrote the invalid bytes; MarshalJSON wrote U+FFFD
	}
	var ge, we event.Event
	gerr, werr := json.Unmarshal(got, &ge), json.Unmarshal(want, &we)
	if (gerr != nil) != (werr != nil) {
		t.Fatalf("sdk-go reading it: %v; reading its own: %v", gerr, werr)
	}
	if gerr == nil && !reflect.DeepEqual(ge, we) {
		t.Fatalf("decoded\n got %+v\nwant %+v", ge, we)
	}
}

func TestMarshalJSON(t *testing.T) {
	base := func() event.Event {
		e := event.New()
		e.SetID("id-1")
		e.SetSource("https://example.com/src?x=1")
		e.SetType("sh.keptn.event.deploy.triggered")
		e.SetTime(time.Date(2026, 11, 30, 17, 8, 22, 638735571, time.UTC))
		e.SetExtension("shkeptncontext", "00000000-0000-4000-8000-000000000017")
		e.SetExtension("triggeredid", "t-1")
		_ = e.SetData(event.ApplicationJSON, map[string]any{"project": "p", "stage": "dev", "msg": "<a & b>"})
		return e
	}
	tests := map[string]func(e *event.Event){
		"keptn event": func(e *event.Event) {},
		"no data":     func(e *event.Event) { e.DataEncoded = nil },
		"no time, no content type": func(e *event.Event) {
			e.SetTime(time.Time{})
			e.Context.(*event.EventContextV1).DataContentType = nil
		},
		"subject and schema": func(e *event.Event) {
			e.SetSubject("sub")
			e.SetDataSchema("https://example.com/schema")
		},
		"content type parameters":  func(e *event.Event) { e.SetDataContentType("application/json; charset=utf-8") },
		"content type in capitals": func(e *event.Event) { e.SetDataContentType("Application/JSON") },
		"awkward strings": func(e *event.Event) {
			e.SetID("q\"b\\s\n\r\t\x01\x1f ✓ \u2028 <>&")
			e.SetExtension("labels", "100% \"quoted\"\x00")
		},
		"invalid UTF-8":     func(e *event.Event) { e.SetType("bad\xffutf8") },
		"no extensions":     func(e *event.Event) { e.Context.(*event.EventContextV1).Extensions = nil },
		"many extensions":   func(e *event.Event) { manyExtensions(e) },
		"int extension":     func(e *event.Event) { e.SetExtension("count", 3) },
		"text data":         func(e *event.Event) { _ = e.SetData("text/plain", []byte("plain \"text\"")) },
		"base64 data":       func(e *event.Event) { e.DataBase64 = true },
		"cloudevents+json":  func(e *event.Event) { e.SetDataContentType("application/cloudevents+json") },
		"spec version 0.3":  func(e *event.Event) { e.SetSpecVersion(event.CloudEventsVersionV03) },
		"invalid JSON data": func(e *event.Event) { e.DataEncoded = []byte(`{"a":`) },
		"empty data":        func(e *event.Event) { e.DataEncoded = []byte{} },
		"relative source":   func(e *event.Event) { e.SetSource("shipyard-controller") },
		"time with an offset": func(e *event.Event) {
			e.SetTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)))
		},
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			e := base()
			change(&e)
			sameJSON(t, e)
		})
	}
}

func manyExtensions(e *event.Event) {
	for _, k := range []string{"z", "a", "m", "b", "y", "c", "x", "d", "w", "e", "v", "f", "u", "g", "t", "h", "s", "i"} {
		e.SetExtension(k, "v-"+k)
	}
}

// FuzzMarshalJSON: for any attribute and extension strings, MarshalJSON
// writes valid JSON equal to what sdk-go writes.
func FuzzMarshalJSON(f *testing.F) {
	f.Add("id", "https://e/s", "t", "sub", "shkeptncontext", "ctx", []byte(`{"a":1}`))
	f.Add("q\"\\\n", "rel", "\xff", "", "a", "\x00<>&\u2028", []byte(`[]`))
	f.Fuzz(func(t *testing.T, id, src, typ, subject, ext, val string, data []byte) {
		e := event.New()
		e.SetID(id)
		e.SetSource(src)
		e.SetType(typ)
		if subject != "" {
			e.SetSubject(subject)
		}
		if ext != "" {
			e.SetExtension(ext, val)
		}
		if json.Valid(data) {
			_ = e.SetData(event.ApplicationJSON, json.RawMessage(data))
		}
		sameJSON(t, e)
	})
}

func TestMarshalJSONReplacesInvalidUTF8(t *testing.T) {
	e := event.New()
	e.SetID("bad\xffid")
	e.SetSource("s")
	e.SetType("t")
	got, err := MarshalJSON(e)
	if err != nil || !utf8.Valid(got) {
		t.Fatalf("%q, %v", got, err)
	}
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil || m["id"] != "bad\ufffdid" {
		t.Fatalf("%v, %v", m, err)
	}
}
