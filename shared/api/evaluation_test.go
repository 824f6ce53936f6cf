package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/keptn"
)

func TestEvaluationWindow(t *testing.T) {
	now := t0
	for _, tc := range []struct {
		name, start, end, tf string
		wantStart, wantEnd   string
		err                  bool
	}{
		{"default 5m ending now", "", "", "", "2024-05-01T11:55:00.000Z", "2024-05-01T12:00:00.000Z", false},
		{"timeframe only", "", "", "1h", "2024-05-01T11:00:00.000Z", "2024-05-01T12:00:00.000Z", false},
		{"start and timeframe", "2024-01-02T15:00:00", "", "10m", "2024-01-02T15:00:00.000Z", "2024-01-02T15:10:00.000Z", false},
		{"start and end rfc3339", "2024-01-02T15:00:00Z", "2024-01-02T16:00:00.500Z", "", "2024-01-02T15:00:00.000Z", "2024-01-02T16:00:00.500Z", false},
		{"days", "2024-01-02T00:00:00", "", "2d", "2024-01-02T00:00:00.000Z", "2024-01-04T00:00:00.000Z", false},
		{"timeframe and end", "2024-01-02T15:00:00", "2024-01-02T16:00:00", "5m", "", "", true},
		{"start alone", "2024-01-02T15:00:00", "", "", "", "", true},
		{"end alone", "", "2024-01-02T15:00:00", "", "", "", true},
		{"bad timeframe", "", "", "soon", "", "", true},
		{"negative timeframe", "", "", "-5m", "", "", true},
		{"bad start", "yesterday", "", "5m", "", "", true},
		{"end before start", "2024-01-02T15:00:00", "2024-01-02T14:00:00", "", "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, e, err := evaluationWindow(tc.start, tc.end, tc.tf, now)
			if tc.err {
				if err == nil {
					t.Fatalf("want error, got %v..%v", s, e)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Format(keptnTime) != tc.wantStart || e.Format(keptnTime) != tc.wantEnd {
				t.Fatalf("got %s..%s", s.Format(keptnTime), e.Format(keptnTime))
			}
		})
	}
}

func TestEvaluationEndpoint(t *testing.T) {
	e := newEnv(t, Config{})
	e.mkProject(t, "p", "carts")
	e.pub.events = nil
	w := e.do(t, "POST", "/api/controlPlane/v1/project/p/stage/hardening/service/carts/evaluation",
		map[string]any{"labels": map[string]string{"build": "42"}, "timeframe": "10m", "gitcommitid": "abc"})
	wantStatus(t, w, 200)
	kctx := decode[map[string]string](t, w)["keptnContext"]
	ev := e.pub.last()
	if ev.Type() != "sh.keptn.event.hardening.evaluation.triggered" || keptn.Context(ev) != kctx || kctx == "" ||
		keptn.GitCommitID(ev) != "abc" || ev.Source() != APISource {
		t.Fatalf("event %s", ev)
	}
	var data struct {
		Project, Stage, Service string
		Labels                  map[string]string
		Evaluation              struct{ Start, End string }
	}
	if err := json.Unmarshal(ev.Data(), &data); err != nil {
		t.Fatal(err)
	}
	if data.Project != "p" || data.Stage != "hardening" || data.Service != "carts" || data.Labels["build"] != "42" ||
		data.Evaluation.Start != t0.Add(-10*time.Minute).Format(keptnTime) || data.Evaluation.End != t0.Format(keptnTime) {
		t.Fatalf("data %+v", data)
	}

	for _, tc := range []struct{ name, path, msg string }{
		{"project", "/api/controlPlane/v1/project/x/stage/dev/service/carts/evaluation", "project not found"},
		{"stage", "/api/controlPlane/v1/project/p/stage/qa/service/carts/evaluation", "stage not found"},
		{"service", "/api/controlPlane/v1/project/p/stage/dev/service/nope/evaluation", "service not found"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantError(t, e.do(t, "POST", tc.path, map[string]any{}), 400, tc.msg) })
	}
	wantError(t, e.do(t, "POST", "/api/controlPlane/v1/project/p/stage/dev/service/carts/evaluation", map[string]any{"end": "2024-01-01T00:00:00"}), 400, "end needs start")
	e.pub.fail = true
	wantError(t, e.do(t, "POST", "/api/controlPlane/v1/project/p/stage/dev/service/carts/evaluation", map[string]any{}), 500, "could not send")
}
