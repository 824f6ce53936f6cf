package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKillLoop is the short version of the kill -9 loop CI runs: a few
// kills over a few dozen runs (go run ./hack/chaos for the full one).
func TestKillLoop(t *testing.T) {
	bin, root := runtimeBinary(t)
	rep, err := KillLoop(context.Background(), Options{Binary: bin, RepoRoot: root, Runs: 24, Services: 4, Tasks: 3,
		Kills: 6, MaxUp: 1500 * time.Millisecond, Timeout: 4 * time.Minute, Seed: uint64(time.Now().UnixNano())})
	t.Logf("%+v", rep)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kills != 6 {
		t.Fatalf("%d kills, want 6", rep.Kills)
	}
	for _, p := range rep.Problems {
		t.Error(p)
	}
}

// TestKillLoopFirestore is the short version of the Firestore kill -9 loop:
// two runtime processes on one emulator database, one of them killed at a
// time (go run ./hack/chaos -store firestore for the full one).
func TestKillLoopFirestore(t *testing.T) {
	if os.Getenv("FIRESTORE_EMULATOR_HOST") == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("FIRESTORE_EMULATOR_HOST is not set (hack/test.sh starts the emulator)")
		}
		t.Skip("FIRESTORE_EMULATOR_HOST is not set (eval \"$(hack/emulator.sh start)\")")
	}
	bin, root := runtimeBinary(t)
	seed := uint64(time.Now().UnixNano())
	logs := t.TempDir()
	rep, err := KillLoop(context.Background(), Options{Binary: bin, RepoRoot: root, Store: StoreFirestore,
		Runs: 60, Services: 15, Tasks: 3, Kills: 8, MaxUp: 1500 * time.Millisecond, Work: 200 * time.Millisecond,
		Timeout: 5 * time.Minute, Seed: seed, LogDir: logs})
	t.Logf("seed %d: %+v", seed, rep)
	defer func() {
		if t.Failed() {
			logTails(t, logs)
		}
	}()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kills != 8 || rep.Processes != 2 {
		t.Fatalf("%d kills of %d processes, want 8 of 2", rep.Kills, rep.Processes)
	}
	for _, p := range rep.Problems {
		t.Error(p)
	}
}

// logTails logs the warnings and errors of the runtimes' logs (the last 40
// of each), so a failure in CI shows what the processes saw.
func logTails(t *testing.T, dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var bad []string
		for _, l := range strings.Split(string(raw), "\n") {
			if strings.Contains(l, `"level":"warn"`) || strings.Contains(l, `"level":"error"`) {
				bad = append(bad, l)
			}
		}
		t.Logf("%s: %d warnings and errors, the last: %s", filepath.Base(f), len(bad), strings.Join(bad[max(0, len(bad)-40):], "\n"))
	}
}
