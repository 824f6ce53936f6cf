package ceio

import (
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/cejson"
)

// MarshalJSON encodes e in structured mode (cejson.Marshal: the object
// sdk-go's Event.MarshalJSON writes, in one buffer).
func MarshalJSON(e event.Event) ([]byte, error) { return cejson.Marshal(e) }
