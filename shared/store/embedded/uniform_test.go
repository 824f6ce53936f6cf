package embedded_test

import (
	"testing"

	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
	"github.com/slipwayhq/slipway/shared/store/storetest"
)

func TestIntegrationConformance(t *testing.T) {
	storetest.RunIntegrations(t, func(t *testing.T) store.IntegrationStore { return open(t, embedded.Options{NoSync: true}) })
}

func TestSecretConformance(t *testing.T) {
	storetest.RunSecrets(t, func(t *testing.T) store.SecretStore { return open(t, embedded.Options{NoSync: true}) })
}
