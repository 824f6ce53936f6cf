package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/localrt"
	"github.com/slipwayhq/slipway/shared/store"
)

// TestStoreOpener: the store is the one SLIPWAY_STORE names, never chosen
// from FIRESTORE_EMULATOR_HOST alone, and a configuration that cannot be
// honoured is refused with an error that says what to set.
func TestStoreOpener(t *testing.T) {
	emulator := os.Getenv("FIRESTORE_EMULATOR_HOST")
	tests := map[string]struct {
		env       map[string]string
		retention time.Duration
		wantErr   string // "" = opens
		embedded  bool
		needsEmu  bool
	}{
		"default is embedded":                   {env: map[string]string{}, embedded: true},
		"embedded although the emulator is set": {env: map[string]string{"FIRESTORE_EMULATOR_HOST": "127.0.0.1:1"}, embedded: true},
		"unknown kind":                          {env: map[string]string{"SLIPWAY_STORE": "bolt"}, wantErr: `SLIPWAY_STORE="bolt"`},
		"firestore without project or emulator": {env: map[string]string{"SLIPWAY_STORE": "firestore"}, wantErr: "needs FIRESTORE_PROJECT"},
		"firestore with retention": {env: map[string]string{"SLIPWAY_STORE": "firestore", "FIRESTORE_PROJECT": "p"},
			retention: time.Hour, wantErr: "SLIPWAY_HISTORY_RETENTION applies to the embedded store only"},
		"firestore on the emulator": {env: map[string]string{"SLIPWAY_STORE": "firestore", "FIRESTORE_EMULATOR_HOST": emulator,
			"FIRESTORE_PREFIX": fmt.Sprintf("storeopener%d_", time.Now().UnixNano())}, needsEmu: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.needsEmu && emulator == "" {
				if os.Getenv("CI") != "" {
					t.Fatal("FIRESTORE_EMULATOR_HOST is not set (hack/test.sh starts the emulator)")
				}
				t.Skip("FIRESTORE_EMULATOR_HOST is not set")
			}
			for _, k := range []string{"SLIPWAY_STORE", "FIRESTORE_EMULATOR_HOST", "FIRESTORE_PROJECT", "FIRESTORE_PREFIX", "FIRESTORE_DATABASE"} {
				t.Setenv(k, tc.env[k])
				if _, ok := tc.env[k]; !ok {
					os.Unsetenv(k)
				}
			}
			cfg := localrt.Config{HistoryRetention: tc.retention}
			open, embedded, err := storeOpener(context.Background(), cfg, zap.NewNop())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to say %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if embedded != tc.embedded {
				t.Fatalf("embedded = %v, want %v", embedded, tc.embedded)
			}
			dir := t.TempDir()
			st, err := open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			// The store works, and the embedded one lives in the data directory.
			if err := st.CreateProject(context.Background(), &store.Project{Name: "demo"}); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(dir + "/store"); (err == nil) != tc.embedded {
				t.Fatalf("store directory in the data dir: %v, want %v", err == nil, tc.embedded)
			}
		})
	}
}
