package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// The knative-deployer needs client-go, which stays out of the root module:
// it runs as its own process (shared/deployer/knative/cmd/knative-deployer-local,
// the deployer on fakeserving's in-memory Knative Serving) and the local
// runtime routes triggers/knative-deployer.yaml to it through
// SLIPWAY_KNATIVE_DEPLOYER_URL.

var (
	deployerOnce sync.Once
	deployerBin  string
	deployerErr  error
)

type fakeDeployer struct {
	t   *testing.T
	URL string
	cmd *exec.Cmd
}

func startDeployer(t *testing.T) *fakeDeployer {
	t.Helper()
	deployerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "slipway-e2e-deployer")
		if err != nil {
			deployerErr = err
			return
		}
		deployerBin = filepath.Join(dir, "knative-deployer-local")
		cmd := exec.Command("go", "build", "-race", "-o", deployerBin, "./cmd/knative-deployer-local")
		cmd.Dir = filepath.Join(repoRoot(), "shared", "deployer", "knative")
		if out, err := cmd.CombinedOutput(); err != nil {
			deployerErr = fmt.Errorf("build knative-deployer-local: %v\n%s", err, out)
		}
	})
	if deployerErr != nil {
		t.Fatal(deployerErr)
	}
	cmd := exec.Command(deployerBin)
	cmd.Env = append(os.Environ(), "SLIPWAY_DEPLOYER_ADDR=127.0.0.1:0", "DEPLOY_TIMEOUT=30s")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &strings.Builder{}
	var mu sync.Mutex
	cmd.Stderr = &lockedWriter{mu: &mu, w: logs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &fakeDeployer{t: t, cmd: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			mu.Lock()
			t.Logf("deployer logs:\n%s", tail(logs.String(), 60))
			mu.Unlock()
		}
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "DEPLOYER_URL="); ok {
			d.URL = v
			break
		}
	}
	if d.URL == "" {
		t.Fatal("knative-deployer-local exited before it was up")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	return d
}

func (d *fakeDeployer) put(path, body string) {
	d.t.Helper()
	req, err := http.NewRequest(http.MethodPut, d.URL+path, strings.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		d.t.Fatalf("PUT %s: %d", path, res.StatusCode)
	}
}

// traffic renders a Service's routed traffic as "tag=image@percent ...".
func (d *fakeDeployer) traffic(ns, name string) string {
	d.t.Helper()
	res, err := http.Get(d.URL + "/fake/services/" + ns + "/" + name)
	if err != nil {
		d.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Sprintf("(status %d)", res.StatusCode)
	}
	var out struct {
		Traffic []struct {
			Tag, Image string
			Percent    int64
		}
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		d.t.Fatal(err)
	}
	var parts []string
	for _, t := range out.Traffic {
		parts = append(parts, fmt.Sprintf("%s=%s@%d", t.Tag, t.Image, t.Percent))
	}
	return strings.Join(parts, " ")
}

const podtatoShipyard = `apiVersion: spec.keptn.sh/0.2.4
kind: Shipyard
metadata: {name: podtato}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          tasks:
            - {name: deployment, properties: {deploymentstrategy: direct}}
            - {name: test}
            - {name: release}
    - name: hardening
      sequences:
        - name: delivery
          triggeredOn: [{event: dev.delivery.finished, selector: {match: {result: pass}}}]
          tasks:
            - {name: deployment, properties: {deploymentstrategy: blue_green_service}}
            - {name: test}
            - {name: evaluation}
            - {name: release}
        - name: rollback
          triggeredOn: [{event: hardening.delivery.finished, selector: {match: {result: fail}}}]
          tasks:
            - {name: rollback}
    - name: production
      sequences:
        - name: delivery
          triggeredOn: [{event: hardening.delivery.finished, selector: {match: {result: pass}}}]
          tasks:
            - {name: deployment, properties: {deploymentstrategy: blue_green_service}}
            - {name: release}
`

// The test task: a generic-executor script that reads the URL of the new
// version from the .triggered event (Keptn's deployment.deploymentURIsPublic,
// merged from the deployment task's .finished) and reports it.
const podtatoTestScript = `#!/usr/bin/env bash
set -eu
url="${DATA_DEPLOYMENT_DEPLOYMENTURISPUBLIC_0:?no deployment URI in the event}"
echo "tested ${url}"
`

// TestPodtatoHeadBlueGreen: a full delivery dev (direct) → hardening
// (blue/green, tested through the candidate's URL, quality gate) →
// production (blue/green), then a second version whose evaluation fails in
// hardening and is rolled back, leaving the first version in production
// and as hardening's primary.
func TestPodtatoHeadBlueGreen(t *testing.T) {
	d := startDeployer(t)
	s := start(t, "", "SLIPWAY_KNATIVE_DEPLOYER_URL="+d.URL, "PROMETHEUS_URL=http://127.0.0.1:1")
	d.put("/fake/sink", s.Broker)
	const p, svc = "podtato", "podtato-head"
	s.createProject(p, podtatoShipyard, svc)
	s.exResource(p, "", "", "generic-executor/test.triggered.sh", podtatoTestScript)
	s.exResource(p, "", "", "slo.yaml", sampleFile(t, "resources/slo.yaml"))
	s.exResource(p, "", "", "lighthouse-config.yaml", "sli-provider: e2e-sli\n")

	// answerSLI plays the SLI provider for the hardening evaluation.
	answerSLI := func(kctx string, good bool) {
		t.Helper()
		gs := s.waitHistory(p, kctx, "sh.keptn.event.get-sli.triggered")
		getSLI, _ := gs.Data["getSli"].(map[string]any)
		rt, errRate := 120.0, 0.1
		if !good {
			rt, errRate = 9000, 60
		}
		scope := map[string]any{"project": p, "stage": "hardening", "service": svc}
		data := map[string]any{"status": "succeeded", "result": "pass", "getSli": map[string]any{
			"start": getSLI["start"], "end": getSLI["end"], "indicatorValues": []map[string]any{
				{"metric": "response_time_p95", "value": rt, "success": true},
				{"metric": "error_rate", "value": errRate, "success": true},
				{"metric": "throughput", "value": 12, "success": true}}}}
		for k, v := range scope {
			data[k] = v
		}
		s.send(map[string]any{"type": "sh.keptn.event.get-sli.started", "source": "e2e-sli", "shkeptncontext": kctx,
			"triggeredid": gs.ID, "data": map[string]any{"project": p, "stage": "hardening", "service": svc, "status": "succeeded"}})
		s.send(map[string]any{"type": "sh.keptn.event.get-sli.finished", "source": "e2e-sli", "shkeptncontext": kctx,
			"triggeredid": gs.ID, "data": data})
	}
	finishedOf := func(kctx, typ, stage string) ceEvent {
		t.Helper()
		var found ceEvent
		s.eventually(typ+" in "+stage, func() bool {
			for _, e := range s.history(p, kctx, typ) {
				if e.Data["stage"] == stage {
					found = e
					return true
				}
			}
			return false
		})
		return found
	}

	// Version 1, Keptn CLI style (--image and --tag).
	const v1, v2 = "ghcr.io/podtato-head/podtato-server:v0.3.1", "ghcr.io/podtato-head/podtato-server:v0.3.2"
	kctx := s.trigger(p, "dev", "delivery", svc, map[string]any{"configurationChange": map[string]any{
		"values": map[string]any{"image": "ghcr.io/podtato-head/podtato-server", "tag": "v0.3.1"}}})
	answerSLI(kctx, true)
	prod := finishedOf(kctx, "sh.keptn.event.production.delivery.finished", "production")
	if prod.Data["result"] != "pass" {
		t.Fatalf("production delivery %v", prod.Data)
	}
	// The hardening test ran against the candidate: its .triggered carried
	// the candidate's tag URL, and the script reports having used it.
	candidate := "http://candidate-podtato-head.podtato-hardening.example.com"
	var tested bool
	for _, e := range s.history(p, kctx, "sh.keptn.event.test.triggered") {
		if e.Data["stage"] != "hardening" {
			continue
		}
		// The control plane merges the task outputs of the context (Keptn
		// appends lists, newest first): the hardening candidate comes first,
		// dev's URL after it.
		dep, _ := e.Data["deployment"].(map[string]any)
		uris, _ := dep["deploymentURIsPublic"].([]any)
		if len(uris) == 0 || uris[0] != candidate {
			t.Fatalf("hardening test.triggered deployment %v, want the candidate URL %s", dep, candidate)
		}
		tested = true
	}
	if !tested {
		t.Fatal("no hardening test.triggered")
	}
	if fin := finishedOf(kctx, "sh.keptn.event.test.finished", "hardening"); !strings.Contains(fmt.Sprint(fin.Data["message"]), "tested "+candidate) {
		t.Fatalf("hardening test.finished %v", fin.Data)
	}
	for _, c := range []struct{ stage, want string }{
		{"dev", "primary=" + v1 + "@100"},
		{"hardening", "primary=" + v1 + "@100"},
		{"production", "primary=" + v1 + "@100"},
	} {
		if got := d.traffic(p+"-"+c.stage, svc); got != c.want {
			t.Errorf("%s traffic %q, want %q", c.stage, got, c.want)
		}
	}

	// Version 2 fails the quality gate in hardening and is rolled back.
	kctx2 := s.trigger(p, "dev", "delivery", svc, map[string]any{"configurationChange": map[string]any{
		"values": map[string]any{"image": v2}}})
	answerSLI(kctx2, false)
	if fin, ev := s.evalOf(p, kctx2); fin.Data["result"] != "fail" {
		t.Fatalf("evaluation %v %v", fin.Data, ev)
	}
	rb := finishedOf(kctx2, "sh.keptn.event.rollback.finished", "hardening")
	if rb.Data["result"] != "pass" || rb.Source != "knative-deployer" {
		t.Fatalf("rollback.finished %v from %s", rb.Data, rb.Source)
	}
	if got, want := d.traffic(p+"-hardening", svc), "primary="+v1+"@100"; got != want {
		t.Errorf("hardening after rollback %q, want %q", got, want)
	}
	if got, want := d.traffic(p+"-dev", svc), "primary="+v2+"@100"; got != want {
		t.Errorf("dev %q, want %q (direct: the new version)", got, want)
	}
	if got, want := d.traffic(p+"-production", svc), "primary="+v1+"@100"; got != want {
		t.Errorf("production %q, want %q (never reached)", got, want)
	}
	if evs := s.history(p, kctx2, "sh.keptn.event.production.delivery.triggered"); len(evs) != 0 {
		t.Fatalf("production delivery triggered after a failed hardening: %v", evs)
	}
}

// annotations returns the deployer's annotations on a Service of the
// fake cluster.
func (d *fakeDeployer) annotations(ns, name string) map[string]string {
	d.t.Helper()
	res, err := http.Get(d.URL + "/fake/services/" + ns + "/" + name)
	if err != nil {
		d.t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Annotations map[string]string
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		d.t.Fatal(err)
	}
	return out.Annotations
}

// TestDeployerAbortLeavesPrimary: aborting a sequence while the deployer
// waits for a blue/green candidate that never becomes Ready sends
// deployment.aborted; the deployer stops waiting, drops the candidate
// (traffic stays on the primary) and reports errored "aborted".
func TestDeployerAbortLeavesPrimary(t *testing.T) {
	d := startDeployer(t)
	s := start(t, "", "SLIPWAY_KNATIVE_DEPLOYER_URL="+d.URL)
	d.put("/fake/sink", s.Broker)
	const p, svc = "bg", "web"
	s.createProject(p, `apiVersion: spec.keptn.sh/0.2.4
kind: Shipyard
metadata: {name: bg}
spec:
  stages:
    - name: hardening
      sequences:
        - name: delivery
          tasks:
            - {name: deployment, properties: {deploymentstrategy: blue_green_service}}
            - {name: release}
`, svc)
	const v1, v2 = "example.org/web:1", "example.org/web:2"
	deliver := func(image string) string {
		return s.trigger(p, "hardening", "delivery", svc, map[string]any{"configurationChange": map[string]any{
			"values": map[string]any{"image": image}}})
	}
	k1 := deliver(v1)
	s.waitState(p, k1, "finished")
	if got, want := d.traffic(p+"-hardening", svc), "primary="+v1+"@100"; got != want {
		t.Fatalf("after v1: %q, want %q", got, want)
	}
	d.put("/fake/outcome?image="+v2+"&outcome=pending", "")
	k2 := deliver(v2)
	s.waitHistory(p, k2, "sh.keptn.event.deployment.started")
	s.eventually("the candidate annotated", func() bool { return d.annotations(p+"-hardening", svc)["deploy.slipway.dev/candidate"] != "" })
	s.mustDo("POST", "/api/controlPlane/v1/sequence/"+p+"/"+k2+"/control", map[string]any{"state": "abort"}, nil, 200)
	fin := s.waitHistory(p, k2, "sh.keptn.event.deployment.finished")
	if fin.Data["status"] != "errored" || !strings.Contains(fmt.Sprint(fin.Data["message"]), "aborted") {
		t.Fatalf("deployment.finished after abort: %v", fin.Data)
	}
	ann := d.annotations(p+"-hardening", svc)
	if ann["deploy.slipway.dev/candidate"] != "" {
		t.Fatalf("candidate still there after abort: %v", ann)
	}
	if got, want := d.traffic(p+"-hardening", svc), "primary="+v1+"@100"; got != want {
		t.Fatalf("after abort: %q, want %q", got, want)
	}
}
