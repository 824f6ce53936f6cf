package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// trShipyard runs two task definitions in the task "checks", then a task
// "report" that an executor answers through the API.
const trShipyard = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: taskrunner}
spec:
  stages:
    - name: dev
      sequences:
        - name: verify
          tasks:
            - name: checks
              properties:
                taskDefinitions: [deno-check, python-check]
                parameters: {env: from-shipyard, greeting: overridden}
            - name: report
`

// trDenoDef is a deno definition with inline code, parameters and a secret.
const trDenoDef = `apiVersion: lifecycle.keptn.sh/v1
kind: KeptnTaskDefinition
metadata: {name: deno-check}
spec:
  deno:
    parameters:
      map: {greeting: hello-deno}
    secureParameters: {secret: deno-secret}
    inline:
      code: |
        const data = JSON.parse(Deno.env.get("DATA") ?? "{}");
        const ctx = JSON.parse(Deno.env.get("KEPTN_CONTEXT") ?? "{}");
        console.log("deno data: greeting=" + data.greeting + " env=" + data.env);
        console.log("deno ctx: service=" + ctx.service + " task=" + ctx.task);
        console.log("deno secure: " + (Deno.env.get("SECURE_DATA") ?? "unset"));
`

// trPythonDef is a python definition whose code is the ConfigMap
// python-check-code, a resource of its own (configMapRef).
const trPythonDef = `apiVersion: lifecycle.keptn.sh/v1
kind: KeptnTaskDefinition
metadata: {name: python-check}
spec:
  retries: 1
  python:
    parameters:
      map: {greeting: hello-python}
    secureParameters: {secret: py-secret}
    configMapRef: {name: python-check-code}
`

// trPythonCode prints its inputs, then enough filler to pass MAX_OUTPUT, then
// a last line (the cap keeps the head and the tail).
const trPythonCode = `apiVersion: v1
kind: ConfigMap
metadata: {name: python-check-code}
data:
  code: |
    import json, os
    data = json.loads(os.environ.get("DATA", "{}"))
    secure = json.loads(os.environ["SECURE_DATA"])
    print("python data: greeting=%s env=%s" % (data["greeting"], data["env"]))
    print("python secure: " + secure["apiKey"])
    print("x" * 6000)
    print("python done")
`

// trPythonFailing overrides the ConfigMap at the service level of orders.
const trPythonFailing = `apiVersion: v1
kind: ConfigMap
metadata: {name: python-check-code}
data:
  code: |
    import sys
    print("python failing on purpose")
    sys.exit(1)
`

const (
	trDenoSecret   = "deno-top-secret-4711"
	trPythonSecret = "py-top-secret-0815"
	trMaxOutput    = 2048
)

// trRuntimes returns the deno binary for the runtime process, after making
// sure deno and python3 exist: missing ones fail the test in CI (CI=true)
// and skip it elsewhere.
func trRuntimes(t *testing.T) string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	deno := os.Getenv("SLIPWAY_DENO")
	if deno == "" {
		out, err := exec.Command(filepath.Join(repoRoot(), "hack", "deno", "install.sh")).Output()
		if err != nil {
			missing("deno: SLIPWAY_DENO is not set and hack/deno/install.sh failed: %v", err)
		}
		deno = strings.TrimSpace(string(out))
	}
	if st, err := os.Stat(deno); err != nil || !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
		missing("deno binary %q is not an executable file (err %v)", deno, err)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		missing("python3 not found: %v", err)
	}
	return deno
}

// trUpload writes resources through the resource-service API at a level
// ("" for the project, "dev" for a stage, "dev/orders" for a service).
func (s *slipway) trUpload(project, level string, files map[string]string) {
	s.t.Helper()
	path := "/api/resource-service/v1/project/" + project
	if stage, svc, ok := strings.Cut(level, "/"); ok {
		path += "/stage/" + stage + "/service/" + svc
	} else if level != "" {
		path += "/stage/" + level
	}
	var res []map[string]string
	for uri, content := range files {
		res = append(res, map[string]string{"resourceURI": uri, "resourceContent": b64(content)})
	}
	s.mustDo("POST", path+"/resource", map[string]any{"resources": res}, nil, 200, 201)
}

type trDefinition struct {
	Name            string `json:"name"`
	Runtime         string `json:"runtime"`
	Status          string `json:"status"`
	Reason          string `json:"reason"`
	Message         string `json:"message"`
	Attempts        int    `json:"attempts"`
	Output          string `json:"output"`
	OutputTruncated bool   `json:"outputTruncated"`
}

// trDefinitions decodes data.checks.definitions of a .finished, by name.
func trDefinitions(t *testing.T, fin ceEvent) map[string]trDefinition {
	t.Helper()
	checks, _ := fin.Data["checks"].(map[string]any)
	raw, err := json.Marshal(checks["definitions"])
	if err != nil {
		t.Fatal(err)
	}
	var defs []trDefinition
	if err := json.Unmarshal(raw, &defs); err != nil {
		t.Fatalf("data.checks.definitions %s: %v", raw, err)
	}
	out := map[string]trDefinition{}
	for _, d := range defs {
		out[d.Name] = d
	}
	if len(out) != 2 {
		t.Fatalf("data.checks.definitions = %s, want deno-check and python-check", raw)
	}
	return out
}

// trOneFromRunner waits for the context's single event of typ and checks
// that the task runner sent it.
func (s *slipway) trOneFromRunner(project, kctx, typ string) ceEvent {
	s.t.Helper()
	e := s.waitHistory(project, kctx, typ)
	if evs := s.history(project, kctx, typ); len(evs) != 1 {
		s.t.Fatalf("%d %s events, want 1", len(evs), typ)
	}
	if e.Source != "task-runner" {
		s.t.Fatalf("%s from %q, want task-runner", typ, e.Source)
	}
	return e
}

// trNoSecrets fails when a secret value appears anywhere in the event.
func trNoSecrets(t *testing.T, e ceEvent) {
	t.Helper()
	raw, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{trDenoSecret, trPythonSecret} {
		if strings.Contains(string(raw), secret) {
			t.Fatalf("%s leaks a secret: %s", e.Type, raw)
		}
	}
}

// TestTaskRunnerDefinitions runs a shipyard task through the local runtime's
// task runner: a deno definition with inline code and a python definition
// whose code is a ConfigMap resource, both with parameters and a secret.
// Run 1 (carts) succeeds and the sequence goes on to the next task; run 2
// (orders, whose service-level ConfigMap makes python exit 1) fails, and the
// sequence stops there.
func TestTaskRunnerDefinitions(t *testing.T) {
	deno := trRuntimes(t)
	dataDir := t.TempDir()
	// default secrets dir of the local runtime: <data dir>/secrets/<name>/SECURE_DATA
	for name, value := range map[string]string{
		"deno-secret": trDenoSecret,
		"py-secret":   `{"apiKey": "` + trPythonSecret + `"}`,
	} {
		dir := filepath.Join(dataDir, "secrets", name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "SECURE_DATA"), []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := start(t, dataDir, "SLIPWAY_DENO="+deno, "MAX_OUTPUT="+strconv.Itoa(trMaxOutput), "SLIPWAY_SECRETS_DIR=")
	s.createProject("tr", trShipyard, "carts", "orders")
	s.trUpload("tr", "", map[string]string{
		"task-definitions/deno-check.yaml":                   trDenoDef,
		"task-definitions/python-check.yaml":                 trPythonDef,
		"task-definitions/configmaps/python-check-code.yaml": trPythonCode,
	})
	s.trUpload("tr", "dev/orders", map[string]string{
		"task-definitions/configmaps/python-check-code.yaml": trPythonFailing,
	})

	// Run 1: both definitions succeed; the sequence goes on to report.
	{
		kctx := s.trigger("tr", "dev", "verify", "carts", nil)
		fin := s.trOneFromRunner("tr", kctx, "sh.keptn.event.checks.finished")
		s.trOneFromRunner("tr", kctx, "sh.keptn.event.checks.started") // counted once the task is done
		if fin.Data["result"] != "pass" || fin.Data["status"] != "succeeded" {
			t.Fatalf("checks.finished result %v status %v, want pass/succeeded: %v", fin.Data["result"], fin.Data["status"], fin.Data)
		}
		trNoSecrets(t, fin)
		defs := trDefinitions(t, fin)
		for _, name := range []string{"deno-check", "python-check"} {
			if d := defs[name]; d.Status != "Succeeded" || d.Attempts != 1 {
				t.Fatalf("%s: %+v, want Succeeded after 1 attempt", name, d)
			}
		}
		d := defs["deno-check"]
		for _, want := range []string{
			"deno data: greeting=hello-deno env=from-shipyard", // definition map beats the task's parameters
			"deno ctx: service=carts task=checks",
			"deno secure: ***",
		} {
			if !strings.Contains(d.Output, want) {
				t.Fatalf("deno-check output lacks %q:\n%s", want, d.Output)
			}
		}
		if d.Runtime != "deno" || d.OutputTruncated {
			t.Fatalf("deno-check: %+v", d)
		}
		p := defs["python-check"]
		for _, want := range []string{
			"python data: greeting=hello-python env=from-shipyard",
			"python secure: ***",
			"output truncated",
			"python done", // the tail is kept
		} {
			if !strings.Contains(p.Output, want) {
				t.Fatalf("python-check output lacks %q:\n%s", want, p.Output)
			}
		}
		if p.Runtime != "python" || !p.OutputTruncated || len(p.Output) > trMaxOutput+100 {
			t.Fatalf("python-check: runtime %s truncated %v output %d bytes, want python, true, about %d",
				p.Runtime, p.OutputTruncated, len(p.Output), trMaxOutput)
		}

		s.complete(s.openIn("tr", "report", kctx), "pass")
		s.waitState("tr", kctx, "finished")
		seqFin := s.waitHistory("tr", kctx, "sh.keptn.event.dev.verify.finished")
		if seqFin.Data["result"] != "pass" {
			t.Fatalf("dev.verify.finished = %v", seqFin.Data)
		}
		for _, e := range s.history("tr", kctx, "") {
			trNoSecrets(t, e)
		}
	}

	// Run 2: python exits 1 in every attempt; the sequence ends there.
	{
		kctx := s.trigger("tr", "dev", "verify", "orders", nil)
		fin := s.trOneFromRunner("tr", kctx, "sh.keptn.event.checks.finished")
		s.trOneFromRunner("tr", kctx, "sh.keptn.event.checks.started") // counted once the task is done
		if fin.Data["result"] != "fail" {
			t.Fatalf("checks.finished result %v, want fail: %v", fin.Data["result"], fin.Data)
		}
		trNoSecrets(t, fin)
		defs := trDefinitions(t, fin)
		if d := defs["deno-check"]; d.Status != "Succeeded" || !strings.Contains(d.Output, "deno ctx: service=orders task=checks") {
			t.Fatalf("deno-check: %+v", d)
		}
		// the service-level ConfigMap beats the project's; retries: 1 → 2 attempts
		p := defs["python-check"]
		if p.Status != "Failed" || p.Reason != "BackoffLimitExceeded" || p.Attempts != 2 ||
			!strings.Contains(p.Output, "python failing on purpose") {
			t.Fatalf("python-check: %+v, want Failed/BackoffLimitExceeded after 2 attempts", p)
		}

		seqFin := s.waitHistory("tr", kctx, "sh.keptn.event.dev.verify.finished")
		if seqFin.Data["result"] != "fail" {
			t.Fatalf("dev.verify.finished = %v, want result fail", seqFin.Data)
		}
		s.waitState("tr", kctx, "finished")
		// The sequence is over, so a report task now would never come.
		if evs := s.history("tr", kctx, "sh.keptn.event.report.triggered"); len(evs) != 0 {
			t.Fatalf("report triggered after failed checks: %+v", evs)
		}
		for _, e := range s.open("tr", "report") {
			if e.Shkeptncontext == kctx {
				t.Fatalf("open report task after failed checks: %+v", e)
			}
		}
		for _, e := range s.history("tr", kctx, "") {
			trNoSecrets(t, e)
		}
	}
}
