// Package cejson writes CloudEvents in structured JSON mode without
// sdk-go's per-event machinery. It has no HTTP code, so the engine (which
// encodes every event it emits into the run's outbox) can use it without
// importing the transport.
package cejson

import (
	"slices"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/slipwayhq/slipway/shared/jsonstr"
)

// Marshal encodes e in structured mode: the object sdk-go's
// Event.MarshalJSON writes, attributes in its order, extensions sorted by
// name, except that invalid UTF-8 in a string becomes U+FFFD (sdk-go
// copies the bytes, which is not valid JSON). Spec 1.0 events with JSON data and string extensions (every Keptn
// event) are written here in one buffer; anything else goes to sdk-go.
// The history stores every event this way, and sdk-go's encoder (a pooled
// jsoniter stream, a sorted copy of the extension names, a second buffer)
// was a fifth of ingesting one.
func Marshal(e event.Event) ([]byte, error) {
	ec, ok := e.Context.(*event.EventContextV1)
	if !ok || ec == nil || e.DataBase64 || !jsonMedia(ec.DataContentType) {
		return e.MarshalJSON()
	}
	var names [16]string
	exts := names[:0]
	for k, v := range ec.Extensions {
		if _, ok := v.(string); !ok {
			return e.MarshalJSON()
		}
		exts = append(exts, k)
	}
	slices.Sort(exts)

	n := 160 + len(ec.ID) + len(ec.Type) + len(e.DataEncoded)
	for _, k := range exts {
		n += len(k) + len(ec.Extensions[k].(string)) + 6
	}
	b := make([]byte, 0, n)
	b = append(b, `{"specversion":"1.0","id":`...)
	b = appendString(b, ec.ID)
	b = append(b, `,"source":`...)
	b = appendString(b, ec.Source.String())
	b = append(b, `,"type":`...)
	b = appendString(b, ec.Type)
	if ec.Subject != nil {
		b = append(b, `,"subject":`...)
		b = appendString(b, *ec.Subject)
	}
	if ec.DataContentType != nil {
		b = append(b, `,"datacontenttype":`...)
		b = appendString(b, *ec.DataContentType)
	}
	if ec.DataSchema != nil {
		b = append(b, `,"dataschema":`...)
		b = appendString(b, ec.DataSchema.String())
	}
	if ec.Time != nil {
		b = append(b, `,"time":`...)
		b = appendString(b, types.FormatTime(ec.Time.Time))
	}
	if e.DataEncoded != nil {
		// As sdk-go does, JSON data goes in as it is: the caller has
		// checked it is JSON (sdk-go does not either).
		b = append(b, `,"data":`...)
		b = append(b, e.DataEncoded...)
	}
	for _, k := range exts {
		b = append(b, ',')
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, ec.Extensions[k].(string))
	}
	return append(b, '}'), nil
}

// jsonMedia reports whether a datacontenttype means JSON data that sdk-go
// writes as it is and reads back as JSON: absent, or application/json with
// any parameters. (sdk-go writes "Application/JSON" data as it is too, but
// its reader then wants a string: that case stays with sdk-go.)
func jsonMedia(ct *string) bool {
	if ct == nil {
		return true
	}
	mt, _, _ := strings.Cut(*ct, ";")
	return strings.TrimSpace(mt) == event.ApplicationJSON
}

// appendString appends s as a JSON string, as encoding/json writes it
// without HTML escaping (sdk-go writes <, > and & as they are too).
func appendString(b []byte, s string) []byte { return jsonstr.Append(b, s, false) }
