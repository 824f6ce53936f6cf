package firestore_test

import (
	"testing"

	"github.com/slipwayhq/slipway/shared/store/firestore"
	"github.com/slipwayhq/slipway/shared/store/firestore/fstest"
)

// integrationProjectID keeps these tests' emulator data apart from the
// conformance suite's (which covers integrations and secrets too).
const integrationProjectID = projectID + "-uniform"

// TestIntegrationQueryShapes runs the integration and log queries and logs
// the emulator's report of the composite indexes they need (none: run with -v).
func TestIntegrationQueryShapes(t *testing.T) {
	const project = projectID + "-uniform-indexes"
	client := fstest.Client(t, project)
	s := firestore.NewDriver(t.Context(), client, firestore.Options{})
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
