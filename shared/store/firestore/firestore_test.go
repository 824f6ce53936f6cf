package firestore_test

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	fs "cloud.google.com/go/firestore"

	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/firestore"
	"github.com/slipwayhq/slipway/shared/store/firestore/fstest"
	"github.com/slipwayhq/slipway/shared/store/storetest"
)

// projectID is this package's own emulator project, so that parallel test
// packages never clear each other's data.
const projectID = "slipway-store-firestore"

func TestMain(m *testing.M) { os.Exit(fstest.Main(m)) }

var prefixes atomic.Int64

// newDriver gives every (sub)test its own collections on a shared client.
func newDriver(client *fs.Client) func(t *testing.T) store.Driver {
	return func(t *testing.T) store.Driver {
		prefix := fmt.Sprintf("t%d_", prefixes.Add(1))
		return firestore.NewDriver(t.Context(), client, firestore.Options{Prefix: prefix})
	}
}

// TestConformance: Firestore has integrations and secrets and counts its
// documents; history retention is a TTL policy (no PurgeHistory), and the
// other capabilities are the portable ones.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		NewDriver: newDriver(fstest.Client(t, projectID)),
		Flags:     storetest.Flags{Integrations: true, Secrets: true, Stats: true},
	})
}

func BenchmarkTransition(b *testing.B) {
	client := fstest.Client(b, projectID)
	storetest.BenchmarkTransition(b, firestore.New(b.Context(), client, firestore.Options{Prefix: "bench_"}))
}

// TestQueryShapes runs every query shape the driver issues and logs the
// emulator's report of the composite indexes they need (run with -v).
func TestQueryShapes(t *testing.T) {
	const project = projectID + "-indexes" // a clean report: only these queries
	client := fstest.Client(t, project)
	s := firestore.NewDriver(t.Context(), client, firestore.Options{})
	if err := firestore.RunQueryShapes(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	report, err := fstest.IndexUsage(t.Context(), fstest.Host(t), project)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d query shapes; emulator index usage report:\n%s", len(firestore.QueryShapes()), report)
}
