package e2e

// End-to-end tests of the executors served by the local runtime: the
// generic executor (scripts looked up service → stage → project), the
// webhook executor (webhook.yaml with a secret), the remediation responder
// (remediation.yaml) together with the sample action provider, and abort
// reaching a running script.

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

// exResource uploads a resource through the resource-service API at the
// project (stage ""), stage (service "") or service level.
func (s *slipway) exResource(project, stage, service, uri, content string) {
	s.t.Helper()
	p := "/api/resource-service/v1/project/" + project
	if stage != "" {
		p += "/stage/" + stage
		if service != "" {
			p += "/service/" + service
		}
	}
	s.mustDo("POST", p+"/resource", map[string]any{"resources": []map[string]any{
		{"resourceURI": uri, "resourceContent": b64(content)}}}, nil, 200, 201)
}

// exTaskEvent waits for the task's <kind> event in the context's history.
func (s *slipway) exTaskEvent(project, kctx, task, kind string) ceEvent {
	s.t.Helper()
	return s.waitHistory(project, kctx, "sh.keptn.event."+task+"."+kind)
}

// exCheck asserts source, status, result and that the message contains
// every wanted fragment.
func exCheck(t *testing.T, e ceEvent, source, status, result string, msg ...string) {
	t.Helper()
	if e.Source != source {
		t.Errorf("%s: source %q, want %q (data %v)", e.Type, e.Source, source, e.Data)
	}
	if status != "" && e.Data["status"] != status {
		t.Errorf("%s: status %v, want %s (data %v)", e.Type, e.Data["status"], status, e.Data)
	}
	if result != "" && e.Data["result"] != result {
		t.Errorf("%s: result %v, want %s (data %v)", e.Type, e.Data["result"], result, e.Data)
	}
	m, _ := e.Data["message"].(string)
	for _, want := range msg {
		if !strings.Contains(m, want) {
			t.Errorf("%s: message %q lacks %q", e.Type, m, want)
		}
	}
}

func exJSONEqual(a, b any) bool {
	ra, err1 := json.Marshal(a)
	rb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ra) == string(rb)
}

const exShipyard = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: executors}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          tasks: [{name: task1}, {name: task2}, {name: task3}]
        - name: failing
          tasks: [{name: broken}, {name: after}]
        - name: long
          tasks: [{name: sleeper}, {name: never}]
`

// Each task is run by a script found at a different level; task1 exists at
// all three levels and the service one wins. A JSON object a script prints
// last lands under data.<task> and reaches the next task's environment.
func TestExecutorScriptsByLevel(t *testing.T) {
	s := start(t, "")
	s.createProject("ges", exShipyard, "carts")
	script := func(level string) string {
		return `#!/usr/bin/env bash
set -euo pipefail
echo "task1 (` + level + ` level) for ${DATA_SERVICE} in ${DATA_STAGE} of ${PROJECT}"
echo "{\"level\":\"` + level + `\",\"service\":\"${DATA_SERVICE}\",\"image\":\"${DATA_CONFIGURATIONCHANGE_VALUES_IMAGE:-}\"}"
`
	}
	s.exResource("ges", "dev", "carts", "generic-executor/task1.triggered.sh", script("service"))
	s.exResource("ges", "dev", "", "generic-executor/task1.triggered.sh", script("stage"))
	s.exResource("ges", "", "", "generic-executor/task1.triggered.sh", script("project"))
	s.exResource("ges", "dev", "", "generic-executor/task2.triggered.sh", `#!/usr/bin/env bash
set -euo pipefail
echo "task2 sees task1 from the ${DATA_TASK1_LEVEL} level"
printf '{"level":"stage","fromTask1":"%s"}\n' "${DATA_TASK1_LEVEL}"
`)
	s.exResource("ges", "", "", "generic-executor/task2.triggered.sh", "#!/usr/bin/env bash\necho '{\"level\":\"project\"}'\n")
	s.exResource("ges", "", "", "generic-executor/task3.triggered.py", `import json, sys
with open(sys.argv[1]) as f:
    event = json.load(f)
data = event["data"]
print("task3 in python for " + data["service"])
print(json.dumps({"level": "project", "fromTask2": data["task2"]["fromTask1"], "context": event["shkeptncontext"]}))
`)

	kctx := s.trigger("ges", "dev", "delivery", "carts", map[string]any{
		"configurationChange": map[string]any{"values": map[string]any{"image": "carts:1.2.3"}}})
	s.waitState("ges", kctx, "finished")
	if fin := s.waitHistory("ges", kctx, "sh.keptn.event.dev.delivery.finished"); fin.Data["result"] != "pass" {
		t.Fatalf("dev.delivery.finished = %v", fin.Data)
	}

	tests := []struct {
		task, file, level string
		msg               string
		payload           map[string]any
	}{
		{"task1", "generic-executor/task1.triggered.sh", "service", "task1 (service level) for carts in dev of ges",
			map[string]any{"level": "service", "service": "carts", "image": "carts:1.2.3"}},
		{"task2", "generic-executor/task2.triggered.sh", "stage", "task2 sees task1 from the service level",
			map[string]any{"level": "stage", "fromTask1": "service"}},
		{"task3", "generic-executor/task3.triggered.py", "project", "task3 in python for carts",
			map[string]any{"level": "project", "fromTask2": "service", "context": kctx}},
	}
	for _, tc := range tests {
		t.Run(tc.task, func(t *testing.T) {
			started := s.exTaskEvent("ges", kctx, tc.task, "started")
			exCheck(t, started, "generic-executor-service", "succeeded", "",
				fmt.Sprintf("Found script %s (%s level)", tc.file, tc.level))
			if n := len(s.history("ges", kctx, "sh.keptn.event."+tc.task+".finished")); n != 1 {
				t.Errorf("%d %s.finished events, want 1", n, tc.task)
			}
			fin := s.exTaskEvent("ges", kctx, tc.task, "finished")
			exCheck(t, fin, "generic-executor-service", "succeeded", "pass", tc.msg)
			if !exJSONEqual(fin.Data[tc.task], tc.payload) {
				t.Errorf("data.%s = %v, want %v", tc.task, fin.Data[tc.task], tc.payload)
			}
			trig := s.exTaskEvent("ges", kctx, tc.task, "triggered")
			if fin.Triggeredid != trig.ID || started.Triggeredid != trig.ID {
				t.Errorf("responses answer %q/%q, want the .triggered %q", started.Triggeredid, fin.Triggeredid, trig.ID)
			}
		})
	}
}

// A script exiting 1 fails its task (succeeded/fail, output as message) and
// the sequence stops: the next task is never triggered.
func TestExecutorFailingScriptStopsRun(t *testing.T) {
	s := start(t, "")
	s.createProject("gesfail", exShipyard, "carts")
	s.exResource("gesfail", "", "", "generic-executor/broken.triggered.sh", "#!/usr/bin/env bash\necho 'cannot deploy carts'\nexit 1\n")
	s.exResource("gesfail", "", "", "generic-executor/after.triggered.sh", "#!/usr/bin/env bash\necho '{\"ran\":true}'\n")
	kctx := s.trigger("gesfail", "dev", "failing", "carts", nil)
	fin := s.exTaskEvent("gesfail", kctx, "broken", "finished")
	exCheck(t, fin, "generic-executor-service", "succeeded", "fail",
		"generic-executor/broken.triggered.sh: exit code 1", "cannot deploy carts")
	seq := s.waitHistory("gesfail", kctx, "sh.keptn.event.dev.failing.finished")
	if seq.Data["result"] != "fail" {
		t.Fatalf("dev.failing.finished = %v", seq.Data)
	}
	s.waitState("gesfail", kctx, "finished")
	for _, e := range s.history("gesfail", kctx, "") {
		if strings.HasPrefix(e.Type, "sh.keptn.event.after.") {
			t.Fatalf("%s after the failed task: the run did not stop", e.Type)
		}
	}
}

type exHookRequest struct {
	method, path, auth, contentType string
	body                            []byte
}

// A webhook.yaml task calls a local server with a rendered request; the
// secret reaches the server but every stored event shows it as ***.
func TestWebhookTaskWithSecret(t *testing.T) {
	secret := "s3cr3t-" + uuid.NewString()
	var mu sync.Mutex
	var got []exHookRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, exHookRequest{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		// The echoed token must come back redacted in the event.
		_ = json.NewEncoder(w).Encode(map[string]any{"accepted": true, "ticket": "T-42",
			"echo": strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")})
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	if !strings.HasPrefix(host, "127.0.0.1:") {
		t.Fatalf("test server on %s, want 127.0.0.1", host)
	}
	secrets := t.TempDir()
	if err := os.MkdirAll(filepath.Join(secrets, "hook-credentials"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secrets, "hook-credentials", "token"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	s := start(t, "", "SLIPWAY_HTTP_ALLOW_HOSTS="+host, "SLIPWAY_SECRETS_DIR="+secrets)
	s.createProject("wh", `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: wh}
spec:
  stages:
    - name: dev
      sequences:
        - name: notify
          tasks: [{name: hook, properties: {channel: releases}}]
`, "carts")
	s.exResource("wh", "", "", "webhook/webhook.yaml", `apiVersion: webhookconfig.keptn.sh/v1beta1
kind: WebhookConfig
metadata: {name: e2e}
spec:
  webhooks:
    - type: sh.keptn.event.hook.triggered
      sendStarted: true
      sendFinished: true
      envFrom:
        - name: token
          secretRef: {name: hook-credentials, key: token}
      requests:
        - url: http://`+host+`/hooks/{{.data.project}}/{{.data.service}}
          method: POST
          headers:
            - key: Content-Type
              value: application/json
            - key: Authorization
              value: "Bearer {{.env.token}}"
          payload: '{"text": "{{.data.project}}/{{.data.service}} in {{.data.stage}}", "channel": "{{.data.hook.channel}}", "context": "{{.shkeptncontext}}"}'
`)
	kctx := s.trigger("wh", "dev", "notify", "carts", nil)
	s.waitState("wh", kctx, "finished")

	mu.Lock()
	reqs := append([]exHookRequest(nil), got...)
	mu.Unlock()
	if len(reqs) != 1 {
		t.Fatalf("server got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != "POST" || r.path != "/hooks/wh/carts" || r.contentType != "application/json" || r.auth != "Bearer "+secret {
		t.Errorf("request = %s %s (content-type %q, authorization %q)", r.method, r.path, r.contentType, r.auth)
	}
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	if want := map[string]any{"text": "wh/carts in dev", "channel": "releases", "context": kctx}; !exJSONEqual(body, want) {
		t.Errorf("body = %v, want %v", body, want)
	}

	if n := len(s.history("wh", kctx, "sh.keptn.event.hook.started")); n != 1 {
		t.Errorf("%d hook.started events, want 1", n)
	}
	fin := s.exTaskEvent("wh", kctx, "hook", "finished")
	exCheck(t, fin, "webhook-service", "succeeded", "pass")
	hook, _ := fin.Data["hook"].(map[string]any)
	want := []any{map[string]any{"accepted": true, "ticket": "T-42", "echo": "***"}}
	if !exJSONEqual(hook["responses"], want) {
		t.Errorf("data.hook.responses = %v, want %v", hook["responses"], want)
	}
	all, err := json.Marshal(s.history("wh", kctx, ""))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(all), secret) {
		t.Errorf("the secret appears in the event history: %s", all)
	}
}

// exFreePort returns a 127.0.0.1 port that was free a moment ago (for a
// process that binds its own listener from ADDR).
func exFreePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// exStartActionProvider builds and runs samples/action-provider on addr,
// replying to sink.
func exStartActionProvider(t *testing.T, addr, sink string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "action-provider")
	build := exec.Command("go", "build", "-race", "-o", bin, "./samples/action-provider")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build samples/action-provider: %v\n%s", err, out)
	}
	var logs strings.Builder
	var mu sync.Mutex
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "ADDR="+addr, "K_SINK="+sink)
	w := &lockedWriter{mu: &mu, w: &logs}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("action provider log:\n%s", tail(logs.String(), 40))
			mu.Unlock()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			t.Fatalf("action provider exited:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("action provider not listening on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A remediation loop: the generic executor answers get-action from
// remediation.yaml, the sample action provider (a separate process
// subscribed by its own Trigger) runs the action, the evaluator answers the
// evaluation, and a sequence triggered on remediation.finished follows.
func TestRemediationLoopWithActionProvider(t *testing.T) {
	addr := exFreePort(t)
	triggers := t.TempDir()
	for _, typ := range []string{"triggered", "aborted"} {
		manifest := fmt.Sprintf(`apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: e2e-action-provider-%s}
spec:
  broker: default
  filters: [{exact: {type: sh.keptn.event.action.%s}}]
  subscriber: {uri: "http://%s/"}
`, typ, typ, addr)
		if err := os.WriteFile(filepath.Join(triggers, "action-"+typ+".yaml"), []byte(manifest), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := start(t, "", "SLIPWAY_TRIGGER_DIRS="+triggers)
	exStartActionProvider(t, addr, s.Broker)

	s.createProject("rem", `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: rem}
spec:
  stages:
    - name: production
      sequences:
        - name: remediation
          tasks: [{name: get-action}, {name: action}, {name: evaluation}]
        - name: report
          triggeredOn: [{event: production.remediation.finished}]
          tasks: [{name: notify-ops}]
`, "carts")
	s.exResource("rem", "production", "carts", "remediation.yaml", `apiVersion: spec.keptn.sh/0.1.4
kind: Remediation
metadata: {name: carts-remediation}
spec:
  remediations:
    - problemType: Response time degradation
      actionsOnOpen:
        - name: Scale up
          action: scale
          description: Add replicas.
          value: {replicas: 3}
    - problemType: default
      actionsOnOpen:
        - {name: Say hello, action: echo, description: Echo a value., value: hello}
`)
	kctx := s.trigger("rem", "production", "remediation", "carts", map[string]any{
		"problem": map[string]any{"problemTitle": "High latency", "rootCause": "Response time degradation"}})

	ga := s.exTaskEvent("rem", kctx, "get-action", "finished")
	exCheck(t, ga, "remediation-service", "succeeded", "pass")
	wantAction := map[string]any{"name": "Scale up", "action": "scale", "description": "Add replicas.",
		"value": map[string]any{"replicas": 3}}
	if !exJSONEqual(ga.Data["action"], wantAction) {
		t.Errorf("get-action.finished data.action = %v, want %v", ga.Data["action"], wantAction)
	}
	if idx, _ := ga.Data["get-action"].(map[string]any); idx["actionIndex"] != float64(1) {
		t.Errorf("get-action.finished data.get-action = %v, want actionIndex 1", ga.Data["get-action"])
	}

	trig := s.exTaskEvent("rem", kctx, "action", "triggered")
	if a, _ := trig.Data["action"].(map[string]any); a["action"] != "scale" {
		t.Errorf("action.triggered data.action = %v, want the action from get-action", trig.Data["action"])
	}
	started := s.exTaskEvent("rem", kctx, "action", "started")
	exCheck(t, started, "sample-action-provider", "succeeded", "", "running action scale")
	fin := s.exTaskEvent("rem", kctx, "action", "finished")
	exCheck(t, fin, "sample-action-provider", "succeeded", "pass", "scaled carts in rem/production to 3 replicas")
	if fin.Triggeredid != trig.ID || started.Triggeredid != trig.ID {
		t.Errorf("provider answered %q/%q, want the action.triggered %q", started.Triggeredid, fin.Triggeredid, trig.ID)
	}
	if a, _ := fin.Data["action"].(map[string]any); a["replicas"] != float64(3) {
		t.Errorf("action.finished data.action = %v, want replicas 3", fin.Data["action"])
	}

	// The evaluator (lighthouse) answers the evaluation: the project has no
	// slo.yaml, so it passes with Keptn's note.
	ev := s.exTaskEvent("rem", kctx, "evaluation", "triggered")
	if p, _ := ev.Data["problem"].(map[string]any); p["rootCause"] != "Response time degradation" {
		t.Errorf("evaluation.triggered data.problem = %v", ev.Data["problem"])
	}
	evf := s.exTaskEvent("rem", kctx, "evaluation", "finished")
	exCheck(t, evf, "lighthouse-service", "succeeded", "pass", "no SLO file configured")
	if evf.Triggeredid != ev.ID {
		t.Errorf("evaluation.finished answers %q, want the evaluation.triggered %q", evf.Triggeredid, ev.ID)
	}
	rf := s.waitHistory("rem", kctx, "sh.keptn.event.production.remediation.finished")
	if rf.Data["result"] != "pass" {
		t.Errorf("production.remediation.finished = %v", rf.Data)
	}

	s.complete(s.openIn("rem", "notify-ops", kctx), "pass")
	if f := s.waitHistory("rem", kctx, "sh.keptn.event.production.report.finished"); f.Data["result"] != "pass" {
		t.Errorf("production.report.finished = %v", f.Data)
	}
}

// exCmdline returns a process's command line ("" when it is gone or a
// zombie, whose command line is empty).
func exCmdline(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	return strings.ReplaceAll(string(b), "\x00", " ")
}

// exProcsWith lists live processes whose command line contains marker.
func exProcsWith(marker string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if strings.Contains(exCmdline(pid), marker) {
			out = append(out, pid)
		}
	}
	return out
}

// Aborting the sequence while a long script runs kills the script and its
// child, and the executor reports the task errored/fail "aborted".
func TestAbortKillsRunningScript(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("inspects /proc")
	}
	pidDir := t.TempDir()
	// Scripts run on a uid of their own (the runtime runs as root in CI):
	// the directory they report to must be theirs to write, as /tmp is.
	for _, d := range []string{pidDir, filepath.Dir(pidDir)} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	marker := "slipway-e2e-sleeper-" + uuid.NewString()
	s := start(t, "", "E2E_PID_DIR="+pidDir, "SLIPWAY_ENV_ALLOWLIST=E2E_PID_DIR", "SLIPWAY_SCRIPT_TIMEOUT=10m")
	s.createProject("ab", exShipyard, "carts")
	s.exResource("ab", "", "", "generic-executor/sleeper.triggered.sh", `#!/usr/bin/env bash
set -euo pipefail
( exec -a `+marker+` sleep 3600 ) &
child=$!
echo "$$ $child" > "$ENV_E2E_PID_DIR/pids.tmp"
mv "$ENV_E2E_PID_DIR/pids.tmp" "$ENV_E2E_PID_DIR/pids"
wait
`)
	s.exResource("ab", "", "", "generic-executor/never.triggered.sh", "#!/usr/bin/env bash\necho '{\"ran\":true}'\n")

	// Whatever happens, leave no process of ours behind.
	t.Cleanup(func() {
		for _, pid := range exProcsWith(marker) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})

	kctx := s.trigger("ab", "dev", "long", "carts", nil)
	exCheck(t, s.exTaskEvent("ab", kctx, "sleeper", "started"), "generic-executor-service", "succeeded", "",
		"generic-executor/sleeper.triggered.sh")
	var scriptPID, childPID int
	s.eventually("the script wrote its pids", func() bool {
		b, err := os.ReadFile(filepath.Join(pidDir, "pids"))
		if err != nil {
			return false
		}
		_, err = fmt.Sscan(string(b), &scriptPID, &childPID)
		return err == nil
	})
	if !strings.Contains(exCmdline(scriptPID), "sleeper.triggered.sh") || !strings.Contains(exCmdline(childPID), marker) {
		t.Fatalf("script %d (%q) and child %d (%q) are not running", scriptPID, exCmdline(scriptPID), childPID, exCmdline(childPID))
	}

	s.mustDo("POST", "/api/controlPlane/v1/sequence/ab/"+kctx+"/control", map[string]any{"state": "abort"}, nil, 200)
	s.waitState("ab", kctx, "aborted")
	fin := s.exTaskEvent("ab", kctx, "sleeper", "finished")
	exCheck(t, fin, "generic-executor-service", "errored", "fail")
	if fin.Data["message"] != "aborted" {
		t.Errorf("sleeper.finished message %q, want \"aborted\"", fin.Data["message"])
	}
	s.eventually("script and child gone", func() bool {
		return !strings.Contains(exCmdline(scriptPID), "sleeper.triggered.sh") &&
			!strings.Contains(exCmdline(childPID), marker) && len(exProcsWith(marker)) == 0
	})
	for _, e := range s.history("ab", kctx, "") {
		if strings.HasPrefix(e.Type, "sh.keptn.event.never.") {
			t.Fatalf("%s after the abort", e.Type)
		}
	}
}

// The sample generic-executor scripts shipped in config/samples run as they
// are (deployment.triggered.sh, test.triggered.py).
func TestExecutorRunsSampleScripts(t *testing.T) {
	s := start(t, "")
	s.createProject("samples", `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: samples}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          tasks:
            - {name: deployment, properties: {deploymentstrategy: direct}}
            - {name: test, properties: {teststrategy: functional}}
`, "head")
	for _, f := range []string{"generic-executor/deployment.triggered.sh", "generic-executor/test.triggered.py"} {
		b, err := os.ReadFile(filepath.Join(repoRoot(), "config", "samples", "resources", f))
		if err != nil {
			t.Fatal(err)
		}
		s.exResource("samples", "", "", f, string(b))
	}
	kctx := s.trigger("samples", "dev", "delivery", "head", nil)
	dep := s.exTaskEvent("samples", kctx, "deployment", "finished")
	exCheck(t, dep, "generic-executor-service", "succeeded", "pass", "deploying head to dev of samples (context "+kctx+")")
	test := s.exTaskEvent("samples", kctx, "test", "finished")
	exCheck(t, test, "generic-executor-service", "succeeded", "pass", "testing head in dev (functional)")
	s.waitState("samples", kctx, "finished")
}
