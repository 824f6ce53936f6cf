package ceio

import (
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/cejson"
)

// MarshalJSON encodes e in structured mode: sdk-go's Event.MarshalJSON
// with invalid UTF-8 replaced (cejson.Marshal), so a stored event is always
// valid JSON.
func MarshalJSON(e event.Event) ([]byte, error) { return cejson.Marshal(e) }
