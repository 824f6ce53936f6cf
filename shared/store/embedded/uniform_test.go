package bolt_test

import (
	"testing"

	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/bolt"
	"github.com/slipwayhq/slipway/shared/store/storetest"
)

func TestIntegrationConformance(t *testing.T) {
	storetest.RunIntegrations(t, func(t *testing.T) store.IntegrationStore { return open(t, bolt.Options{NoSync: true}) })
}
