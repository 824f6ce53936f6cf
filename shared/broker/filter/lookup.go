package filter

import (
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
)

// LookupAttribute returns the value of a CloudEvents context attribute or
// extension by its lower-case name, like Knative's attributes.LookupAttribute:
// the context attributes always exist (an unset optional one is ""), time is
// its RFC 3339 text, schemaurl is an alias of dataschema, and any other name
// is looked up among the extensions, where it may be missing.
func LookupAttribute(e event.Event, name string) (any, bool) {
	switch name {
	case "specversion":
		return e.SpecVersion(), true
	case "type":
		return e.Type(), true
	case "source":
		return e.Source(), true
	case "subject":
		return e.Subject(), true
	case "id":
		return e.ID(), true
	case "time":
		b, err := e.Time().MarshalText()
		if err != nil {
			return nil, false
		}
		return string(b), true
	case "dataschema", "schemaurl":
		return e.DataSchema(), true
	case "datacontenttype":
		return e.DataContentType(), true
	case "datamediatype":
		return e.DataMediaType(), true
	case "datacontentencoding":
		return e.DeprecatedDataContentEncoding(), true
	default:
		// Not e.Extensions(): it copies the map, and a filter looks up
		// one attribute per delivery.
		if c, ok := e.Context.(*event.EventContextV1); ok {
			v, ok := c.Extensions[name]
			return v, ok
		}
		v, ok := e.Extensions()[name]
		return v, ok
	}
}

// stringValue renders an attribute value as the subscriptions-API dialects
// compare it: strings as they are, anything else through %v.
func stringValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprintf("%v", v)
}
