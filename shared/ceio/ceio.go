// Package ceio reads and writes CloudEvents in HTTP binary mode without
// sdk-go's per-event machinery.
//
// In the local runtime every event crosses loopback HTTP at least twice.
// Under load, sdk-go's binding layer (ToEvent's attribute-by-attribute
// builder, the binary writer, client.Send's wrapping, the extension map
// copies and the small allocations behind them) was about 8% of CPU, plus
// the GC it caused. This package builds the event.Event and the
// *http.Request directly, producing and accepting exactly what sdk-go does,
// and leaves everything else (structured and batch mode, spec 0.3) to
// sdk-go.
//
// Header values are sent and read verbatim, not percent-encoded as HTTP
// binding 3.1.3.2 asks: sdk-go does neither (cloudevents/sdk-go#1331) and
// the broker reads and writes events with sdk-go, so encoding on these hops
// alone would corrupt values with '%', spaces or non-ASCII text.
package ceio

import (
	"mime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Binary-mode headers, in the canonical form net/http stores them in.
const (
	ceSpecVersion = "Ce-Specversion"
	ceID          = "Ce-Id"
	ceSource      = "Ce-Source"
	ceType        = "Ce-Type"
	ceSubject     = "Ce-Subject"
	ceTime        = "Ce-Time"
	ceDataSchema  = "Ce-Dataschema"
	contentType   = "Content-Type"

	cePrefix = "Ce-"
)

// memoMax bounds each memo: names and values come from clients.
const memoMax = 512

// memo remembers what was computed from a string seen on the wire (a
// header name, a source URI, a content type): the same few recur on every
// event. A lookup is an atomic load and a map read, with no lock to contend
// on; a store copies the map, which is rare and bounded by memoMax.
type memo[V any] struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string]V]
}

func (c *memo[V]) get(k string) (V, bool) {
	if m := c.m.Load(); m != nil {
		v, ok := (*m)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

func (c *memo[V]) put(k string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	n := 0
	if old != nil {
		if _, ok := (*old)[k]; ok || len(*old) >= memoMax {
			return
		}
		n = len(*old)
	}
	m := make(map[string]V, n+1)
	if old != nil {
		for kk, vv := range *old {
			m[kk] = vv
		}
	}
	// k may point into a larger buffer the memo should not keep alive.
	m[strings.Clone(k)] = v
	c.m.Store(&m)
}

var mediaTypes memo[bool]

// mediaTypeOK reports whether EventContextV1.Validate accepts ct as
// datacontenttype; mime.ParseMediaType allocates on every call.
func mediaTypeOK(ct string) bool {
	ct = strings.TrimSpace(ct)
	if ok, hit := mediaTypes.get(ct); hit {
		return ok
	}
	_, _, err := mime.ParseMediaType(ct)
	ok := ct != "" && err == nil
	mediaTypes.put(ct, ok)
	return ok
}

// validV1 reports that ec.Validate() (and so Event.Validate) returns nil;
// srcOK is whether the source is non-blank once formatted. false means
// "ask Validate", which builds the error: Validate itself allocates even for
// a valid event.
func validV1(ec *event.EventContextV1, srcOK bool) bool {
	return srcOK &&
		strings.TrimSpace(ec.ID) != "" &&
		strings.TrimSpace(ec.Type) != "" &&
		(ec.DataContentType == nil || mediaTypeOK(*ec.DataContentType)) &&
		(ec.DataSchema == nil || ec.DataSchema.IsAbs()) &&
		(ec.Subject == nil || strings.TrimSpace(*ec.Subject) != "")
}

// isV1Attribute reports a context attribute name, which no extension may
// take.
func isV1Attribute(name string) bool {
	switch name {
	case "id", "source", "type", "datacontenttype", "subject", "time", "specversion", "dataschema":
		return true
	}
	return false
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
