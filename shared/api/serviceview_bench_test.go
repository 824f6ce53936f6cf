package api

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
)

// BenchmarkProjectView measures GET /project/{p} with the services' views
// derived from the history: 3 stages x 10 services, each with 600 history
// events (more than activityScan) and a deployment.
func BenchmarkProjectView(b *testing.B) {
	benchView(b, "/api/controlPlane/v1/project/p")
}

// BenchmarkServiceView is GET one service of the same project.
func BenchmarkServiceView(b *testing.B) {
	benchView(b, "/api/controlPlane/v1/project/p/stage/dev/service/svc0")
}

func benchView(b *testing.B, path string) {
	t := &testing.T{}
	e := newEnv(t, Config{})
	svcs := make([]string, 10)
	for i := range svcs {
		svcs[i] = fmt.Sprintf("svc%d", i)
	}
	e.mkProject(t, "p", svcs...)
	ctx := context.Background()
	n := 0
	for _, stage := range []string{"dev", "hardening", "production"} {
		for _, svc := range svcs {
			for i := range 600 {
				n++
				id := fmt.Sprintf("e%07d", n)
				typ, tid := "sh.keptn.event.test.started", ""
				data := map[string]any{"project": "p", "stage": stage, "service": svc}
				switch i {
				case 0:
					typ = "sh.keptn.event.deployment.triggered"
					data["configurationChange"] = map[string]any{"values": map[string]any{"image": "x:1"}}
				case 1:
					typ, tid = "sh.keptn.event.deployment.finished", fmt.Sprintf("e%07d", n-1)
				}
				at := t0.Add(time.Duration(n) * time.Millisecond)
				if err := e.store.AppendEvent(ctx, &store.Event{ID: id, Project: "p", KeptnContext: "c", Type: typ, Stage: stage,
					Service: svc, TriggeredID: tid, Time: at, Body: structuredEvent(t, id, typ, at, tid, data)}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		w := e.do(t, "GET", path, nil)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}
