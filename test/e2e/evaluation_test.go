package e2e

// The quality gate end to end: the local runtime's evaluator and Prometheus
// SLI provider against a real Prometheus scraping a test exporter. The
// sample slo.yaml and prometheus/sli.yaml from config/samples are the ones
// evaluated.

import (
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sampleFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "config", "samples", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// qualityGate starts the exporter, Prometheus and the runtime pointed at it.
func qualityGate(t *testing.T, env ...string) (*slipway, *testExporter, *promServer) {
	t.Helper()
	x := startExporter(t)
	p := startPrometheus(t, hostOf(x.URL))
	s := start(t, "", append([]string{"PROMETHEUS_URL=" + p.URL}, env...)...)
	return s, x, p
}

// evalOf waits for the context's evaluation.finished and returns it.
func (s *slipway) evalOf(project, kctx string) (ceEvent, map[string]any) {
	s.t.Helper()
	e := s.waitHistory(project, kctx, "sh.keptn.event.evaluation.finished")
	ev, _ := e.Data["evaluation"].(map[string]any)
	if ev == nil {
		s.t.Fatalf("evaluation.finished without data.evaluation: %v", e.Data)
	}
	return e, ev
}

func indicator(t *testing.T, ev map[string]any, metric string) map[string]any {
	t.Helper()
	irs, _ := ev["indicatorResults"].([]any)
	for _, x := range irs {
		ir := x.(map[string]any)
		if v, _ := ir["value"].(map[string]any); v["metric"] == metric {
			return ir
		}
	}
	t.Fatalf("no indicator %s in %v", metric, ev)
	return nil
}

const gateShipyard = `apiVersion: spec.keptn.sh/0.2.4
kind: Shipyard
metadata: {name: gate}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          tasks:
            - name: deployment
            - name: test
            - name: evaluation
              properties: {timeframe: 5m}
            - name: approval
              properties: {pass: automatic, warning: manual}
            - name: release
`

// TestQualityGate: a delivery with an evaluation passes, warns (and waits
// for a manual approval) and fails on the values the test sets; relative
// criteria compare with the previous passed evaluation; the results are
// queryable through the datastore with Keptn's filters.
func TestQualityGate(t *testing.T) {
	s, x, p := qualityGate(t)
	s.createProject("gate", gateShipyard, "head")
	for _, f := range []string{"generic-executor/deployment.triggered.sh", "generic-executor/test.triggered.py",
		"generic-executor/release.triggered.sh", "slo.yaml", "prometheus/sli.yaml", "lighthouse-config.yaml"} {
		s.exResource("gate", "", "", f, sampleFile(t, "resources/"+f))
	}
	run := func(responseMS, errorPercent float64) (string, ceEvent, map[string]any) {
		t.Helper()
		setAndScrape(x, p, "head", "dev", responseMS, errorPercent)
		p.waitAny(`sum(rate(http_requests_total{service="head",stage="dev"}[300s]))`)
		kctx := s.trigger("gate", "dev", "delivery", "head", nil)
		fin, ev := s.evalOf("gate", kctx)
		return kctx, fin, ev
	}
	seqResult := func(kctx string) string {
		t.Helper()
		s.waitState("gate", kctx, "finished")
		return s.waitHistory("gate", kctx, "sh.keptn.event.dev.delivery.finished").Data["result"].(string)
	}

	// 1. pass: nothing to compare with yet, every absolute criterion holds.
	k1, fin1, ev := run(300, 0)
	exCheck(t, fin1, "lighthouse-service", "succeeded", "pass")
	if ev["score"] != 100.0 || ev["result"] != "pass" || ev["timeStart"] == "" || ev["timeEnd"] == "" {
		t.Fatalf("evaluation 1: %v", ev)
	}
	if slo, _ := base64.StdEncoding.DecodeString(ev["sloFileContent"].(string)); string(slo) != sampleFile(t, "resources/slo.yaml") {
		t.Fatalf("sloFileContent %q", slo)
	}
	rt := indicator(t, ev, "response_time_p95")
	if v := rt["value"].(map[string]any); v["value"] != 300.0 || v["success"] != true || rt["status"] != "pass" {
		t.Fatalf("response time %v", rt)
	}
	if tp := indicator(t, ev, "throughput"); tp["status"] != "info" {
		t.Fatalf("throughput %v", tp)
	}
	if r := seqResult(k1); r != "pass" {
		t.Fatalf("delivery 1 result %s", r)
	}

	// 2. warning: 700 ms is above 300+10 % and 600 but within 800; the
	// approval (warning: manual) waits for an operator.
	k2, fin2, ev := run(700, 0)
	exCheck(t, fin2, "lighthouse-service", "succeeded", "warning")
	if ev["score"] != 75.0 {
		t.Fatalf("evaluation 2 score %v", ev["score"])
	}
	if ce, _ := ev["comparedEvents"].([]any); len(ce) != 1 || ce[0] != fin1.ID {
		t.Fatalf("evaluation 2 compared with %v, want [%s]", ce, fin1.ID)
	}
	rt = indicator(t, ev, "response_time_p95")
	targets, _ := rt["passTargets"].([]any)
	if rt["status"] != "warning" || len(targets) != 2 || targets[0].(map[string]any)["targetValue"] != 330.0 || targets[0].(map[string]any)["violated"] != true {
		t.Fatalf("response time %v", rt)
	}
	open := s.openIn("gate", "approval", k2)
	if len(s.history("gate", k2, "sh.keptn.event.approval.finished")) != 0 {
		t.Fatal("a warning was approved automatically")
	}
	s.answer(open, "finished", "pass", "succeeded", nil)
	if r := seqResult(k2); r != "warning" {
		t.Fatalf("delivery 2 result %s", r)
	}

	// 3. 340 ms compares with the last *passed* evaluation (300 → 330):
	// warning. Compared with the warning's 700 it would have passed.
	k3, fin3, ev := run(340, 0)
	exCheck(t, fin3, "lighthouse-service", "succeeded", "warning")
	if ce, _ := ev["comparedEvents"].([]any); len(ce) != 1 || ce[0] != fin1.ID {
		t.Fatalf("evaluation 3 compared with %v, want the passed one [%s]", ce, fin1.ID)
	}
	if v := indicator(t, ev, "response_time_p95")["value"].(map[string]any); v["comparedValue"] != 300.0 {
		t.Fatalf("compared value %v", v)
	}
	s.answer(s.openIn("gate", "approval", k3), "finished", "pass", "succeeded", nil)
	seqResult(k3)

	// 4. fail: the key SLI error_rate is beyond its warning band.
	k4, fin4, ev := run(320, 9)
	exCheck(t, fin4, "lighthouse-service", "succeeded", "fail", "key SLI error_rate failed")
	if er := indicator(t, ev, "error_rate"); er["status"] != "fail" || er["keySli"] != true {
		t.Fatalf("error rate %v", er)
	}
	if r := seqResult(k4); r != "fail" {
		t.Fatalf("delivery 4 result %s", r)
	}
	if len(s.history("gate", k4, "sh.keptn.event.release.triggered")) != 0 {
		t.Fatal("a failed evaluation was released")
	}

	// The results are kept: the datastore's by-type query with Keptn's
	// filters (what comparisons and the Bridge's heatmap read).
	var out struct {
		Events []ceEvent `json:"events"`
	}
	q := "/api/mongodb-datastore/event/type/sh.keptn.event.evaluation.finished?filter=" +
		url.QueryEscape("data.project:gate AND data.stage:dev AND data.service:head") + "&limit=3"
	s.mustDo("GET", q, nil, &out, 200)
	if len(out.Events) != 3 || out.Events[0].ID != fin4.ID || out.Events[1].ID != fin3.ID || out.Events[2].ID != fin2.ID {
		t.Fatalf("evaluation.finished by type: %d events %v", len(out.Events), out.Events)
	}
	q = "/api/mongodb-datastore/event/type/sh.keptn.event.evaluation.finished?filter=" +
		url.QueryEscape("data.project:gate AND data.result:pass") + "&limit=10"
	s.mustDo("GET", q, nil, &out, 200)
	if len(out.Events) != 1 || out.Events[0].ID != fin1.ID {
		t.Fatalf("passed evaluations: %v", out.Events)
	}
}

// TestQualityGateBadInput: a malformed slo.yaml or sli.yaml, an
// unreachable Prometheus and an indicator without data each end the
// evaluation with result fail and a message naming the problem; no run
// stalls.
func TestQualityGateBadInput(t *testing.T) {
	// Loopback allowed, so that a prometheus/config.yaml may name a local
	// server that is down.
	s, _, _ := qualityGate(t, "SLIPWAY_HTTP_ALLOW_HOSTS=127.0.0.1")
	shipyard := `apiVersion: spec.keptn.sh/0.2.4
kind: Shipyard
metadata: {name: bad}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          tasks: [{name: evaluation, properties: {timeframe: 5m}}]
`
	s.createProject("bad", shipyard, "badslo", "badsli", "nodata", "down")
	s.exResource("bad", "", "", "slo.yaml", sampleFile(t, "resources/slo.yaml"))
	s.exResource("bad", "", "", "prometheus/sli.yaml", sampleFile(t, "resources/prometheus/sli.yaml"))
	s.exResource("bad", "", "", "lighthouse-config.yaml", "sliProvider: prometheus\n")
	s.exResource("bad", "dev", "badslo", "slo.yaml", "spec_version: '1.0'\nobjectives:\n  - sli: error_rate\n    pass: [{criteria: ['<=1', 'low']}]\n")
	s.exResource("bad", "dev", "badsli", "prometheus/sli.yaml", "spec_version: '1.0'\nindicators:\n  error_rate: [not, a, query]\n")
	s.exResource("bad", "dev", "down", "prometheus/config.yaml", "url: http://"+exFreePort(t)+"\n")
	tests := map[string]struct {
		service string
		msg     []string
	}{
		"malformed slo.yaml": {"badslo", []string{"slo.yaml: objectives[0].pass[0].criteria[1]", "(service level)"}},
		"malformed sli.yaml": {"badsli", []string{"lighthouse failed because SLI failed", "prometheus/sli.yaml (service level)", "indicators must map"}},
		"no data":            {"nodata", []string{"lighthouse failed because SLI failed", "returned no data"}},
		"unreachable server": {"down", []string{"lighthouse failed because SLI failed", "connection refused"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			kctx := s.trigger("bad", "dev", "delivery", tc.service, nil)
			fin, ev := s.evalOf("bad", kctx)
			exCheck(t, fin, "lighthouse-service", "", "fail", tc.msg...)
			if ev["result"] != "fail" {
				t.Fatalf("evaluation block %v", ev)
			}
			s.waitState("bad", kctx, "finished")
		})
	}
}

// TestSampleProjectQualityGate runs config/samples' shipyard: the dev
// delivery (deployment and test scripts, the evaluation against the test
// Prometheus, release) passes and starts hardening, whose evaluation
// passes too.
func TestSampleProjectQualityGate(t *testing.T) {
	s, x, p := qualityGate(t)
	s.createProject("podtato-head", sampleFile(t, "shipyard.yaml"), "head")
	for _, f := range []string{"generic-executor/deployment.triggered.sh", "generic-executor/test.triggered.py",
		"generic-executor/release.triggered.sh", "slo.yaml", "prometheus/sli.yaml", "lighthouse-config.yaml"} {
		s.exResource("podtato-head", "", "", f, sampleFile(t, "resources/"+f))
	}
	for _, stage := range []string{"dev", "hardening"} {
		setAndScrape(x, p, "head", stage, 250, 0.5)
		p.waitAny(`sum(rate(http_requests_total{service="head",stage="` + stage + `"}[300s]))`)
	}
	kctx := s.trigger("podtato-head", "dev", "delivery", "head", map[string]any{
		"configurationChange": map[string]any{"values": map[string]any{"image": "ghcr.io/podtato-head/head:0.3.0"}}})
	fin, ev := s.evalOf("podtato-head", kctx)
	exCheck(t, fin, "lighthouse-service", "succeeded", "pass")
	if ev["score"] != 100.0 || fin.Data["stage"] != "dev" {
		t.Fatalf("dev evaluation %v", fin.Data)
	}
	// The sample shipyard's timeframe: 5m is the evaluated window.
	ts, err1 := time.Parse(time.RFC3339, ev["timeStart"].(string))
	te, err2 := time.Parse(time.RFC3339, ev["timeEnd"].(string))
	if err1 != nil || err2 != nil || te.Sub(ts) != 5*time.Minute {
		t.Fatalf("evaluated window %v..%v", ev["timeStart"], ev["timeEnd"])
	}
	rel := s.waitHistory("podtato-head", kctx, "sh.keptn.event.release.finished")
	exCheck(t, rel, "generic-executor-service", "succeeded", "pass", "releasing head in dev")
	done := s.waitHistory("podtato-head", kctx, "sh.keptn.event.dev.delivery.finished")
	if done.Data["result"] != "pass" {
		t.Fatalf("dev delivery %v", done.Data)
	}
	// hardening starts from dev.delivery.finished in the same context.
	var hard ceEvent
	s.eventually("hardening evaluation", func() bool {
		for _, e := range s.history("podtato-head", kctx, "sh.keptn.event.evaluation.finished") {
			if e.Data["stage"] == "hardening" {
				hard = e
				return true
			}
		}
		return false
	})
	if hard.Data["result"] != "pass" || !strings.Contains(hard.Source, "lighthouse") {
		t.Fatalf("hardening evaluation %v", hard.Data)
	}
}

// TestExternalSLIProvider: the SLI provider is chosen per project
// (lighthouse-config.yaml), so a Keptn SLI provider such as dynatrace-service
// answers get-sli.triggered instead of Prometheus; the evaluation comes from
// the API's evaluation trigger (controlPlane .../evaluation) with a timeframe.
func TestExternalSLIProvider(t *testing.T) {
	s := start(t, "", "PROMETHEUS_URL=http://127.0.0.1:1")
	s.createProject("ext", `apiVersion: spec.keptn.sh/0.2.4
kind: Shipyard
metadata: {name: ext}
spec:
  stages:
    - name: prod
      sequences:
        - name: delivery
          tasks: [{name: release}]
`, "web")
	s.exResource("ext", "", "", "slo.yaml", sampleFile(t, "resources/slo.yaml"))
	s.exResource("ext", "", "", "lighthouse-config.yaml", "sli-provider: dynatrace\n")
	var out struct {
		KeptnContext string `json:"keptnContext"`
	}
	s.mustDo("POST", "/api/controlPlane/v1/project/ext/stage/prod/service/web/evaluation", map[string]any{
		"start": "2026-01-01T10:00:00.000Z", "end": "2026-01-01T10:15:00.000Z", "labels": map[string]string{"buildId": "42"}}, &out, 200)
	kctx := out.KeptnContext
	gs := s.waitHistory("ext", kctx, "sh.keptn.event.get-sli.triggered")
	getSLI, _ := gs.Data["getSli"].(map[string]any)
	if gs.Source != "lighthouse-service" || getSLI["sliProvider"] != "dynatrace" || getSLI["start"] != "2026-01-01T10:00:00.000Z" ||
		getSLI["end"] != "2026-01-01T10:15:00.000Z" || !exJSONEqual(getSLI["indicators"], []string{"response_time_p95", "error_rate", "throughput"}) {
		t.Fatalf("get-sli.triggered %v", gs.Data)
	}
	if l, _ := gs.Data["labels"].(map[string]any); l["buildId"] != "42" {
		t.Fatalf("labels %v", gs.Data["labels"])
	}
	// dynatrace-service answers through the API, as a Keptn integration does.
	data := map[string]any{"project": "ext", "stage": "prod", "service": "web", "status": "succeeded", "result": "pass",
		"getSli": map[string]any{"start": getSLI["start"], "end": getSLI["end"], "indicatorValues": []map[string]any{
			{"metric": "response_time_p95", "value": 420.5, "success": true},
			{"metric": "error_rate", "value": 0.2, "success": true},
			{"metric": "throughput", "value": 12, "success": true}}}}
	s.send(map[string]any{"type": "sh.keptn.event.get-sli.started", "source": "dynatrace-service", "shkeptncontext": kctx,
		"triggeredid": gs.ID, "data": map[string]any{"project": "ext", "stage": "prod", "service": "web", "status": "succeeded"}})
	s.send(map[string]any{"type": "sh.keptn.event.get-sli.finished", "source": "dynatrace-service", "shkeptncontext": kctx,
		"triggeredid": gs.ID, "data": data})
	fin, ev := s.evalOf("ext", kctx)
	exCheck(t, fin, "lighthouse-service", "succeeded", "pass")
	if ev["score"] != 100.0 || ev["timeStart"] != "2026-01-01T10:00:00.000Z" || ev["timeEnd"] != "2026-01-01T10:15:00.000Z" {
		t.Fatalf("evaluation %v", ev)
	}
	if v := indicator(t, ev, "response_time_p95")["value"].(map[string]any); v["value"] != 420.5 {
		t.Fatalf("value %v", v)
	}
	s.waitState("ext", kctx, "finished")
	// Prometheus was not asked: its provider ignores another provider's request.
	for _, e := range s.history("ext", kctx, "") {
		if e.Source == "prometheus-service" {
			t.Fatalf("prometheus-service answered a dynatrace request: %v", e)
		}
	}
}

// TestEvaluationTimeoutWithoutProvider: when no SLI provider answers, the
// evaluation task's timeout (Slipway extension) ends the run instead of
// leaving it waiting.
func TestEvaluationTimeoutWithoutProvider(t *testing.T) {
	s := start(t, "")
	s.createProject("silent", `apiVersion: spec.keptn.sh/0.2.4
kind: Shipyard
metadata: {name: silent}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          tasks: [{name: evaluation, timeout: 2s}]
`, "web")
	s.exResource("silent", "", "", "slo.yaml", sampleFile(t, "resources/slo.yaml"))
	s.exResource("silent", "", "", "lighthouse-config.yaml", "sliProvider: nobody\n")
	kctx := s.trigger("silent", "dev", "delivery", "web", nil)
	gs := s.waitHistory("silent", kctx, "sh.keptn.event.get-sli.triggered")
	if gs.Data["getSli"].(map[string]any)["sliProvider"] != "nobody" {
		t.Fatalf("get-sli.triggered %v", gs.Data)
	}
	s.waitState("silent", kctx, "timedOut")
	fin := s.waitHistory("silent", kctx, "sh.keptn.event.dev.delivery.finished")
	if fin.Data["result"] != "fail" || fin.Data["status"] != "errored" {
		t.Fatalf("delivery finished %v", fin.Data)
	}
}
