package api

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
)

// TestServiceViewShowsDeployedImage: after a deployment.finished the service
// views show the image of the deployment's trigger and the newest event id
// per task event type, as Keptn's projects view did.
func TestServiceViewShowsDeployedImage(t *testing.T) {
	e := newEnv(t, Config{})
	e.mkProject(t, "p", "carts", "web")
	add := func(id, typ, tid string, at time.Time, data map[string]any) {
		t.Helper()
		d := map[string]any{"project": "p", "stage": "dev", "service": "carts"}
		for k, v := range data {
			d[k] = v
		}
		if err := e.store.AppendEvent(context.Background(), &store.Event{ID: id, Project: "p", KeptnContext: "ctx-" + id[:1],
			Type: typ, Stage: "dev", Service: "carts", TriggeredID: tid, Time: at, Body: structuredEvent(t, id, typ, at, tid, d)}); err != nil {
			t.Fatal(err)
		}
	}
	img := func(tag string) map[string]any {
		return map[string]any{"configurationChange": map[string]any{"values": map[string]any{"image": "ghcr.io/x/carts:" + tag}}}
	}
	add("a1", "sh.keptn.event.dev.delivery.triggered", "", t0, img("1"))
	add("a2", "sh.keptn.event.deployment.triggered", "a1", t0.Add(time.Second), img("1"))
	add("a3", "sh.keptn.event.deployment.started", "a2", t0.Add(2*time.Second), nil)
	add("a4", "sh.keptn.event.deployment.finished", "a2", t0.Add(3*time.Second), nil)
	// A newer run triggered a deployment that has not finished: still 1.
	add("b1", "sh.keptn.event.deployment.triggered", "x", t0.Add(4*time.Second), img("2"))

	type ctx struct{ EventID, KeptnContext, Time string }
	type svc struct {
		ServiceName    string         `json:"serviceName"`
		DeployedImage  string         `json:"deployedImage"`
		LastEventTypes map[string]ctx `json:"lastEventTypes"`
	}
	check := func(name string, s svc) {
		t.Helper()
		if s.DeployedImage != "ghcr.io/x/carts:1" {
			t.Fatalf("%s: deployedImage %q", name, s.DeployedImage)
		}
		want := map[string]string{"sh.keptn.event.deployment.triggered": "b1", "sh.keptn.event.deployment.started": "a3",
			"sh.keptn.event.deployment.finished": "a4"}
		if len(s.LastEventTypes) != len(want) {
			t.Fatalf("%s: lastEventTypes %v", name, s.LastEventTypes)
		}
		for typ, id := range want {
			if got := s.LastEventTypes[typ]; got.EventID != id || got.Time == "" {
				t.Fatalf("%s: lastEventTypes[%s] = %+v, want %s", name, typ, got, id)
			}
		}
		if got := s.LastEventTypes["sh.keptn.event.deployment.finished"]; got.KeptnContext != "ctx-a" ||
			got.Time != strconv.FormatInt(t0.Add(3*time.Second).UnixNano(), 10) {
			t.Fatalf("%s: finished = %+v", name, got)
		}
	}
	check("service", decode[svc](t, e.do(t, "GET", "/api/controlPlane/v1/project/p/stage/dev/service/carts", nil)))
	list := decode[struct{ Services []svc }](t, e.do(t, "GET", "/api/controlPlane/v1/project/p/stage/dev/service", nil))
	for _, s := range list.Services {
		if s.ServiceName == "carts" {
			check("list", s)
		} else if s.DeployedImage != "" || len(s.LastEventTypes) != 0 {
			t.Fatalf("web: %+v", s)
		}
	}
	proj := decode[struct {
		Stages []struct {
			StageName string `json:"stageName"`
			Services  []svc  `json:"services"`
		} `json:"stages"`
	}](t, e.do(t, "GET", "/api/controlPlane/v1/project/p", nil))
	for _, st := range proj.Stages {
		for _, s := range st.Services {
			if st.StageName == "dev" && s.ServiceName == "carts" {
				check("project", s)
			} else if s.DeployedImage != "" {
				t.Fatalf("%s/%s: %+v", st.StageName, s.ServiceName, s)
			}
		}
	}
}
