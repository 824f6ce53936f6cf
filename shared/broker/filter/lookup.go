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
	if s, ok, isContext := contextAttribute(e, name); isContext {
		if !ok {
			return nil, false
		}
		return s, true
	}
	return extension(e, name)
}

// lookupString is LookupAttribute with the value as the dialects compare it
// (stringValue). It boxes nothing for context attributes: the broker runs
// every Trigger's filter on every event, and LookupAttribute's interface
// value was an allocation per attribute per Trigger.
func lookupString(e event.Event, name string) (string, bool) {
	if s, ok, isContext := contextAttribute(e, name); isContext {
		return s, ok
	}
	v, ok := extension(e, name)
	if !ok {
		return "", false
	}
	return stringValue(v), true
}

// contextAttribute returns a context attribute's value; isContext is false
// when name is not one (it is then an extension's).
func contextAttribute(e event.Event, name string) (s string, ok, isContext bool) {
	switch name {
	case "specversion":
		return e.SpecVersion(), true, true
	case "type":
		return e.Type(), true, true
	case "source":
		return e.Source(), true, true
	case "subject":
		return e.Subject(), true, true
	case "id":
		return e.ID(), true, true
	case "time":
		b, err := e.Time().MarshalText()
		if err != nil {
			return "", false, true
		}
		return string(b), true, true
	case "dataschema", "schemaurl":
		return e.DataSchema(), true, true
	case "datacontenttype":
		return e.DataContentType(), true, true
	case "datamediatype":
		return e.DataMediaType(), true, true
	case "datacontentencoding":
		return e.DeprecatedDataContentEncoding(), true, true
	}
	return "", false, false
}

// extension looks name up among e's extensions, where it may be missing.
func extension(e event.Event, name string) (any, bool) {
	// Not e.Extensions(): it copies the map, and a filter looks up one
	// attribute per delivery.
	if c, ok := e.Context.(*event.EventContextV1); ok {
		v, ok := c.Extensions[name]
		return v, ok
	}
	v, ok := e.Extensions()[name]
	return v, ok
}

// stringValue renders an attribute value as the subscriptions-API dialects
// compare it: strings as they are, anything else through %v.
func stringValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprintf("%v", v)
}
