package firestore_test

import (
	"fmt"
	"testing"

	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/firestore"
	"github.com/slipwayhq/slipway/shared/store/firestore/fstest"
	"github.com/slipwayhq/slipway/shared/store/storetest"
)

// integrationProjectID keeps these tests' emulator data apart from the
// conformance suite's.
const integrationProjectID = projectID + "-uniform"

func TestIntegrationConformance(t *testing.T) {
	client := fstest.Client(t, integrationProjectID)
	storetest.RunIntegrations(t, func(t *testing.T) store.IntegrationStore {
		prefix := fmt.Sprintf("u%d_", prefixes.Add(1))
		return firestore.New(t.Context(), client, firestore.Options{Prefix: prefix})
	})
}

// TestIntegrationQueryShapes runs the integration and log queries and logs
// the emulator's report of the composite indexes they need (none: run with -v).
func TestIntegrationQueryShapes(t *testing.T) {
	const project = projectID + "-uniform-indexes"
	client := fstest.Client(t, project)
	s := firestore.New(t.Context(), client, firestore.Options{})
	for _, shape := range firestore.IntegrationQueryShapes() {
		if err := shape.Run(t.Context(), s); err != nil {
			t.Fatalf("query shape %s: %v", shape.Name, err)
		}
	}
	report, err := fstest.IndexUsage(t.Context(), fstest.Host(t), project)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d query shapes; emulator index usage report:\n%s", len(firestore.IntegrationQueryShapes()), report)
}

func TestSecretConformance(t *testing.T) {
	client := fstest.Client(t, integrationProjectID)
	storetest.RunSecrets(t, func(t *testing.T) store.SecretStore {
		prefix := fmt.Sprintf("s%d_", prefixes.Add(1))
		return firestore.New(t.Context(), client, firestore.Options{Prefix: prefix})
	})
}
