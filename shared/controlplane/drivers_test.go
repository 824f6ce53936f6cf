package controlplane_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
	"github.com/slipwayhq/slipway/shared/store/firestore"
	"github.com/slipwayhq/slipway/shared/store/firestore/fstest"
)

func TestMain(m *testing.M) { os.Exit(fstest.Main(m)) }

// drivers are the store drivers every control-plane test runs against.
var drivers = map[string]func(t *testing.T) store.Store{
	"embedded": func(t *testing.T) store.Store {
		st, err := embedded.Open(filepath.Join(t.TempDir(), "cp.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	},
	"firestore": func(t *testing.T) store.Store {
		client := fstest.Client(t, "slipway-controlplane")
		return firestore.New(t.Context(), client, firestore.Options{})
	},
}

func TestConcurrentDuplicatedShuffledDelivery(t *testing.T) {
	for name, open := range drivers {
		t.Run(name, func(t *testing.T) {
			// The emulator serialises contended transactions with up to 1 s
			// back-off, so Firestore gets fewer lanes (the same interleavings).
			services, runs := 6, 3
			if name == "firestore" {
				services = 4
			}
			runConcurrency(t, open(t), services, runs, 1)
		})
	}
}

// TestInstancesShareTheStore: each instance caches the runs it wrote; an
// event of a run another instance changed since must see the new document.
func TestInstancesShareTheStore(t *testing.T) {
	runConcurrency(t, drivers["embedded"](t), 6, 3, 3)
}

func BenchmarkTaskEventFirestore(b *testing.B) {
	client := fstest.Client(b, "slipway-controlplane-bench")
	benchmarkTaskEvent(b, firestore.New(b.Context(), client, firestore.Options{}))
}
