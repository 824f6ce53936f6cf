// Package storeconn opens the store a deployed function is configured for:
// Firestore when FIRESTORE_PROJECT is set (or the emulator is), else the
// embedded store. Every function opens its store the same way.
package storeconn

import (
	"context"
	"fmt"
	"os"

	fs "cloud.google.com/go/firestore"

	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
	"github.com/slipwayhq/slipway/shared/store/firestore"
)

// Config is read from the environment with envconfig.
type Config struct {
	FirestoreProject  string `envconfig:"FIRESTORE_PROJECT"`
	FirestoreDatabase string `envconfig:"FIRESTORE_DATABASE" default:"(default)"`
	// FirestorePrefix prefixes collection names (several installations, or
	// tests, in one database).
	FirestorePrefix string `envconfig:"FIRESTORE_PREFIX"`
	// StorePath is the embedded store (a directory) used without Firestore.
	StorePath string `envconfig:"SLIPWAY_STORE_PATH" default:"slipway-store"`
}

// Open opens the configured store. Closing it also closes the Firestore client.
func Open(ctx context.Context, c Config) (store.Store, error) {
	if c.FirestoreProject == "" && os.Getenv("FIRESTORE_EMULATOR_HOST") == "" {
		st, err := embedded.Open(c.StorePath)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", c.StorePath, err)
		}
		return st, nil
	}
	db := c.FirestoreDatabase
	if db == "" {
		db = "(default)"
	}
	project := c.FirestoreProject
	if project == "" {
		project = fs.DetectProjectID
	}
	client, err := fs.NewClientWithDatabase(ctx, project, db)
	if err != nil {
		return nil, fmt.Errorf("firestore client: %w", err)
	}
	return firestore.New(ctx, client, firestore.Options{Prefix: c.FirestorePrefix, CloseClient: true}), nil
}
