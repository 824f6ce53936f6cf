package main

import (
	"context"

	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/localrt"
)

// executors builds the executor functions the local runtime serves next to
// the control plane and the API.
func executors(ctx context.Context, cfg localrt.Config, log *zap.Logger) func(brokerURL, apiURL, token string) ([]localrt.Function, error) {
	return func(brokerURL, apiURL, token string) ([]localrt.Function, error) {
		return nil, nil
	}
}
