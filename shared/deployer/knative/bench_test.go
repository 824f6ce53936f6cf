package knative_test

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkBlueGreenRound measures one blue/green round on the fake
// cluster: deployment.triggered to .finished (candidate Ready at 0 %), then
// release.triggered to .finished (candidate at 100 %). It is the deployer's
// own cost (planning, updates, the watch) plus fakeserving's reconciles; a
// real cluster adds the Serving controller and pod start-up.
func BenchmarkBlueGreenRound(b *testing.B) {
	r := newRig(b, time.Minute)
	if got := r.run(deployEvent(b, "blue_green_service", "podtato:v0")); got["result"] != "pass" {
		b.Fatalf("first deployment: %v", got)
	}
	r.run(triggered(b, "release", nil, nil))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if got := r.run(deployEvent(b, "blue_green_service", fmt.Sprintf("podtato:v%d", i+1))); got["result"] != "pass" {
			b.Fatalf("deployment: %v", got)
		}
		if got := r.run(triggered(b, "release", nil, nil)); got["result"] != "pass" {
			b.Fatalf("release: %v", got)
		}
	}
}
