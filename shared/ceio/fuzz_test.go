package ceio

import (
	"net/http"
	"net/textproto"
	"testing"

	"github.com/cloudevents/sdk-go/v2/binding/format"
)

// FuzzReadRequest: ReadRequest never panics, and it accepts a request
// exactly when sdk-go does, with an equal event.
func FuzzReadRequest(f *testing.F) {
	const max = 256
	// present: one bit per header, so that absent and empty differ.
	f.Add(uint16(0x1ff), "1.0", "id", "source", "type", "subject", "2024-01-02T03:04:05.5+01:00",
		"https://example.com/s", "application/json", "shkeptncontext", "ctx", []byte(`{"a":1}`))
	f.Add(uint16(0x00f), "1.0", " id ", "https://x/y?z#f", " t ", "", "", "", "", "a", "100% \"q\" ✓", []byte{})
	f.Add(uint16(0x1ff), "1.0", "id", "#", "t", " ", "0001-01-01T00:00:00Z", "rel", "text/plain; charset=x", "Foo-Bar", "", []byte("x"))
	f.Add(uint16(0x10f), "1.0", "id", "s", "t", "", "", "", "application/cloudevents+json", "", "", []byte(`{"specversion":"1.0","id":"1","source":"s","type":"t"}`))
	f.Add(uint16(0x1ff), "0.3", "id", "s", "t", "s", "2024-01-02T03:04:05Z", "https://e/s", "", "datacontenttype", "v", []byte("x"))
	f.Fuzz(func(t *testing.T, present uint16, sv, id, src, typ, subject, tm, schema, ct, ext, extVal string, body []byte) {
		h := http.Header{}
		for i, kv := range [...][2]string{
			{"Ce-Specversion", sv}, {"Ce-Id", id}, {"Ce-Source", src}, {"Ce-Type", typ},
			{"Ce-Subject", subject}, {"Ce-Time", tm}, {"Ce-Dataschema", schema}, {"Content-Type", ct},
			// As net/http would name it (an extension, or an attribute again).
			{textproto.CanonicalMIMEHeaderKey("Ce-" + ext), extVal},
		} {
			if present&(1<<i) != 0 {
				h[kv[0]] = []string{kv[1]}
			}
		}
		got, err := ReadRequest(request(h.Clone(), body), max)
		if sv != "1.0" && present&1 != 0 && !(present&(1<<7) != 0 && format.Lookup(ct) != nil) {
			// Binary 0.3 (and unknown versions) go to sdk-go, whose 0.3
			// decoding depends on map order: nothing to compare.
			return
		}
		want, werr := sdkRead(request(h.Clone(), body), max)
		switch {
		case err == nil && werr != nil:
			t.Fatalf("ceio accepted what sdk-go rejects (%v): %v\n%v", werr, h, got)
		case err != nil && werr == nil:
			t.Fatalf("ceio rejected what sdk-go accepts (%v): %v\n%v", err, h, want)
		case err == nil:
			sameEvent(t, got, *want)
		}
	})
}
