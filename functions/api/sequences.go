package function

import (
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/api"
	"github.com/slipwayhq/slipway/shared/controlplane"
	"github.com/slipwayhq/slipway/shared/controlplane/apiview"
	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/store"
)

// NewSequences gives the API the control plane's read and control side on
// the function's store: abort, pause and resume run as store transactions
// here, and their events are published to the broker like the control
// plane's own.
func NewSequences(st store.Store, pub api.Publisher, cfg engine.Config, log *zap.Logger) (api.Sequences, error) {
	cp := controlplane.New(st, pub, engine.New(cfg), controlplane.WithLogger(log.Named("control")))
	return apiview.Sequences{CP: cp}, nil
}
