package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kelseyhightower/envconfig"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/localrt"
	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
	"github.com/slipwayhq/slipway/shared/store/storeconn"
)

// Store kinds SLIPWAY_STORE accepts.
const (
	storeEmbedded  = "embedded"
	storeFirestore = "firestore"
)

// emulatorProject is the Firestore project the local runtime uses on the
// emulator when FIRESTORE_PROJECT is unset: the emulator accepts any id, and
// naming one avoids the client's project detection (credentials files, the
// metadata server), which means nothing on a laptop.
const emulatorProject = "slipway-local"

// storeConfig chooses the local runtime's store (environment).
type storeConfig struct {
	// Kind is embedded (the data directory) or firestore. It is explicit:
	// FIRESTORE_EMULATOR_HOST left in a shell by a test run must not move a
	// developer's runtime off its data directory without a word.
	Kind string `envconfig:"SLIPWAY_STORE" default:"embedded"`
}

// storeOpener returns how the runtime opens its store, and whether it is the
// embedded one (localrt.TuneRuntime's argument). It refuses a configuration
// it cannot honour instead of starting on another store than asked for.
func storeOpener(ctx context.Context, cfg localrt.Config, log *zap.Logger) (localrt.OpenStore, bool, error) {
	var sc storeConfig
	if err := envconfig.Process("", &sc); err != nil {
		return nil, false, err
	}
	switch sc.Kind {
	case storeEmbedded:
		if h := os.Getenv("FIRESTORE_EMULATOR_HOST"); h != "" {
			log.Info("FIRESTORE_EMULATOR_HOST is set; the store stays embedded (SLIPWAY_STORE=firestore to use it)",
				zap.String("emulator", h))
		}
		return openEmbedded(log), true, nil
	case storeFirestore:
		open, err := openFirestore(ctx, cfg)
		return open, false, err
	default:
		return nil, false, fmt.Errorf("SLIPWAY_STORE=%q: want %s or %s", sc.Kind, storeEmbedded, storeFirestore)
	}
}

func openEmbedded(log *zap.Logger) localrt.OpenStore {
	return func(dir string) (store.Store, error) {
		// Until 2026-11-30 the store was a bbolt file beside it; say so
		// rather than look as if its runs were lost.
		if _, err := os.Stat(filepath.Join(dir, "slipway.db")); err == nil {
			log.Warn("an older store file (bbolt) is in the data directory; this version keeps its store in the store/ directory and does not read it",
				zap.String("file", filepath.Join(dir, "slipway.db")))
		}
		return embedded.Open(filepath.Join(dir, "store"))
	}
}

// openFirestore opens the Firestore store storeconn opens for the deployed
// functions. The data directory still holds the API token and the secrets
// key file: several runtimes on one database need SLIPWAY_API_TOKEN and
// SLIPWAY_SECRETS_KEY set alike (README, "Configuration").
func openFirestore(ctx context.Context, cfg localrt.Config) (localrt.OpenStore, error) {
	var fc storeconn.Config
	if err := envconfig.Process("", &fc); err != nil {
		return nil, err
	}
	emulator := os.Getenv("FIRESTORE_EMULATOR_HOST") != ""
	if fc.FirestoreProject == "" && !emulator {
		return nil, errors.New("SLIPWAY_STORE=firestore needs FIRESTORE_PROJECT (a Google Cloud project) or FIRESTORE_EMULATOR_HOST (the emulator)")
	}
	if cfg.HistoryRetention > 0 {
		// The retention sweep is the embedded store's; on Firestore a TTL
		// policy does that job. Starting anyway would keep what the user
		// asked to delete.
		return nil, errors.New("SLIPWAY_HISTORY_RETENTION applies to the embedded store only; on Firestore use a TTL policy on the events collection, or unset it")
	}
	if fc.FirestoreProject == "" {
		fc.FirestoreProject = emulatorProject
	}
	return func(string) (store.Store, error) {
		st, err := storeconn.Open(ctx, fc)
		if err != nil {
			return nil, err
		}
		// One read now, so a wrong address or project fails the start
		// instead of the first request.
		pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if _, _, err := st.ListProjects(pctx, store.Page{Size: 1}); err != nil {
			_ = st.Close()
			return nil, fmt.Errorf("firestore project %s: %w", fc.FirestoreProject, err)
		}
		return st, nil
	}, nil
}
