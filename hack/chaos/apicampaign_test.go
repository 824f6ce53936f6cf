package main

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	bin       string
	buildErr  error
)

func runtimeBinary(t *testing.T) (string, string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	buildOnce.Do(func() { bin, buildErr = Build(root) })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bin, root
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bin != "" {
		os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

// TestAuthCampaign: every route refuses a request without a token, with a
// wrong token and with the token in the query string, with a Keptn error
// body, and neither token reaches the runtime's (debug) log.
func TestAuthCampaign(t *testing.T) {
	b, root := runtimeBinary(t)
	rep, err := AuthCampaign(context.Background(), b, root)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d routes, %d requests", rep.Routes, rep.Requests)
	if rep.Routes < 40 {
		t.Fatalf("only %d routes tried", rep.Routes)
	}
	for _, p := range rep.Problems {
		t.Error(p)
	}
}

// TestFuzzAPIShort is the CI-sized fuzzer run (go run ./hack/chaos -mode
// fuzz -requests 100000 for the full one).
func TestFuzzAPIShort(t *testing.T) {
	b, root := runtimeBinary(t)
	rep, err := FuzzAPI(context.Background(), b, root, 3000, 1) // a fixed seed: a failure reproduces
	t.Logf("%d requests, by status %v, %d batches state-checked", rep.Requests, rep.ByStatus, rep.CheckedBatches)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Error(p)
	}
	if rep.CheckedBatches == 0 {
		t.Fatal("no batch was state-checked")
	}
}
