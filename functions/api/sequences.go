package function

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/api"
	"github.com/slipwayhq/slipway/shared/store"
)

// NewSequences is the hook that gives the API the sequence engine's read and
// control side (shared/controlplane) on the function's store and publisher.
// Until the control plane is wired in here, the sequence endpoints answer 500
// and everything else (events, projects, history, resources) works.
func NewSequences(st store.Store, pub api.Publisher, log *zap.Logger) (api.Sequences, error) {
	_, _, _ = st, pub, log
	return unwired{}, nil
}

// errUnwired is returned by the placeholder Sequences.
var errUnwired = errors.New("sequence engine not wired into the api function")

type unwired struct{}

func (unwired) States(context.Context, string, api.StateFilter) ([]json.RawMessage, int, error) {
	return nil, 0, errUnwired
}

func (unwired) Executions(context.Context, store.RunQuery, store.Page) ([]json.RawMessage, string, error) {
	return nil, "", errUnwired
}

func (unwired) Control(context.Context, string, string, string, string) error { return errUnwired }

func (unwired) OpenTriggered(context.Context, store.OpenQuery, store.Page) ([]event.Event, string, error) {
	return nil, "", errUnwired
}
