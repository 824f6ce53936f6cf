package main

import (
	"context"
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
