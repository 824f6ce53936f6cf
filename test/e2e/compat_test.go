package e2e

// Keptn compatibility as a Keptn user meets it (issue 18): the sample
// project's README run as written, the configuration-service aliases, the
// service view's deployedImage and lastEventTypes, the metadata Keptn's CLI
// reads, event paging as go-utils counts it, the secrets API with
// per-project resolution by the executors, and the sequence view on pause
// and resume.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// readmeBlock returns the lines of the ```sh block of config/samples/README.md.
func readmeBlock(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "config", "samples", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	if len(blocks) != 1 {
		t.Fatalf("README.md has %d sh blocks, want 1 (other blocks are text)", len(blocks))
	}
	var lines []string
	for _, l := range strings.Split(blocks[0][1], "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestSampleReadme runs the sample README's command block as written (the
// scripts it names, from config/samples) against a local runtime: the
// project, its resources through the configuration-service paths, its
// secrets, and a delivery whose deployment the service view then shows.
func TestSampleReadme(t *testing.T) {
	dir := filepath.Join(repoRoot(), "config", "samples")
	lines := readmeBlock(t)
	// Every line runs a script of this directory; every script is shown.
	cmd := regexp.MustCompile(`^\./([a-z-]+\.sh)\b`)
	var named []string
	for _, l := range lines {
		m := cmd.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("README line %q does not run a sample script", l)
		}
		named = append(named, m[1])
	}
	scripts, err := filepath.Glob(filepath.Join(dir, "*.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range scripts {
		name := filepath.Base(p)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if name == "lib.sh" {
			continue // sourced by the others
		}
		if st.Mode().Perm()&0o100 == 0 {
			t.Errorf("%s is not executable", name)
		}
		if !slices.Contains(named, name) {
			t.Errorf("%s is not in the README's block", name)
		}
	}

	s := start(t, "")
	secretValue := "hook-" + uuid.NewString()
	run := func(script string) string {
		t.Helper()
		c := exec.Command("bash", "-euo", "pipefail", "-c", script)
		c.Dir = dir
		c.Env = append(os.Environ(), "API="+s.API, "TOKEN="+s.Token, "WEBHOOK_TOKEN="+secretValue)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
		return string(out)
	}
	out := run(strings.Join(lines, "\n"))
	if strings.Contains(out, secretValue) {
		t.Fatalf("a script printed the secret value:\n%s", out)
	}
	if strings.Contains(out, `"code"`) {
		t.Fatalf("an API call answered an error:\n%s", out)
	}

	// The resources are there on both paths.
	for _, p := range []string{
		"/api/resource-service/v1/project/podtato-head/resource/generic-executor%2Fdeployment.triggered.sh",
		"/api/configuration-service/v1/project/podtato-head/resource/slo.yaml",
		"/api/resource-service/v1/project/podtato-head/stage/production/service/head/resource/remediation.yaml",
	} {
		var res struct {
			ResourceURI     string `json:"resourceURI"`
			ResourceContent string `json:"resourceContent"`
		}
		s.mustDo("GET", p, nil, &res, 200)
		if res.ResourceContent == "" {
			t.Fatalf("%s: empty resource", p)
		}
	}
	// The secrets are listed, bound to the project, without values.
	var secretsList struct {
		Secrets []struct {
			Name, Scope, Project string
			Keys                 []string
		} `json:"secrets"`
	}
	s.mustDo("GET", "/api/secrets/v1/secret", nil, &secretsList, 200)
	if len(secretsList.Secrets) != 2 || secretsList.Secrets[1].Name != "webhook-credentials" ||
		secretsList.Secrets[1].Scope != "keptn-webhook-service" || secretsList.Secrets[1].Project != "podtato-head" ||
		!slices.Equal(secretsList.Secrets[1].Keys, []string{"token"}) {
		t.Fatalf("secrets %+v", secretsList.Secrets)
	}

	// The delivery the block started deploys the image in dev (the sample
	// deployment script runs in the generic executor).
	var states struct {
		States []seqState `json:"states"`
	}
	s.mustDo("GET", "/api/controlPlane/v1/sequence/podtato-head", nil, &states, 200)
	if len(states.States) != 1 {
		t.Fatalf("sequences %+v", states.States)
	}
	kctx := states.States[0].ShKeptnContext
	fin := s.exTaskEvent("podtato-head", kctx, "deployment", "finished")
	exCheck(t, fin, "generic-executor-service", "succeeded", "pass")
	const image = "ghcr.io/podtato-head/head:0.3.0"
	view := run("./show-service.sh dev")
	if !strings.Contains(view, `"deployedImage":"`+image+`"`) || !strings.Contains(view, fin.ID) {
		t.Fatalf("show-service.sh does not show the deployment (finished %s):\n%s", fin.ID, view)
	}
}

// compatService is Keptn's ExpandedService as the API answers it.
type compatService struct {
	ServiceName    string `json:"serviceName"`
	DeployedImage  string `json:"deployedImage"`
	LastEventTypes map[string]struct {
		EventID      string `json:"eventId"`
		KeptnContext string `json:"keptnContext"`
		Time         string `json:"time"`
	} `json:"lastEventTypes"`
}

// TestServiceViewAfterDeployment: after deployment.finished of a run whose
// trigger carried configurationChange.values.image, the service, the stage
// and the project views show deployedImage and the latest event per type.
func TestServiceViewAfterDeployment(t *testing.T) {
	s := start(t, "")
	s.createProject("sv", twoStage, "carts")
	kctx := s.trigger("sv", "dev", "delivery", "carts", map[string]any{
		"configurationChange": map[string]any{"values": map[string]any{"image": "docker.io/carts:1.2.3"}}})
	dep := s.openIn("sv", "deployment", kctx)
	if dep.Data["configurationChange"] == nil {
		t.Fatalf("deployment.triggered lacks configurationChange: %v", dep.Data)
	}
	var svc compatService
	s.mustDo("GET", "/api/controlPlane/v1/project/sv/stage/dev/service/carts", nil, &svc, 200)
	if svc.DeployedImage != "" {
		t.Fatalf("deployedImage %q before the deployment finished", svc.DeployedImage)
	}
	s.answer(dep, "started", "", "succeeded", nil)
	s.answer(dep, "finished", "pass", "succeeded", nil)
	fin := s.exTaskEvent("sv", kctx, "deployment", "finished")
	s.eventually("service view shows the deployment", func() bool {
		s.mustDo("GET", "/api/controlPlane/v1/project/sv/stage/dev/service/carts", nil, &svc, 200)
		return svc.DeployedImage == "docker.io/carts:1.2.3"
	})
	for typ, id := range map[string]string{"sh.keptn.event.deployment.triggered": dep.ID, "sh.keptn.event.deployment.finished": fin.ID} {
		got := svc.LastEventTypes[typ]
		if got.EventID != id || got.KeptnContext != kctx {
			t.Fatalf("lastEventTypes[%s] = %+v, want %s in %s", typ, got, id, kctx)
		}
		if _, err := strconv.ParseInt(got.Time, 10, 64); err != nil {
			t.Fatalf("lastEventTypes[%s].time %q is not unix nanoseconds", typ, got.Time)
		}
	}
	var proj struct {
		Stages []struct {
			StageName string          `json:"stageName"`
			Services  []compatService `json:"services"`
		} `json:"stages"`
	}
	s.mustDo("GET", "/api/controlPlane/v1/project/sv", nil, &proj, 200)
	images := map[string]string{}
	for _, st := range proj.Stages {
		for _, sv := range st.Services {
			images[st.StageName+"/"+sv.ServiceName] = sv.DeployedImage
		}
	}
	if images["dev/carts"] != "docker.io/carts:1.2.3" || images["prod/carts"] != "" {
		t.Fatalf("project view images %v", images)
	}
}

// TestCLIMetadataAndGitFlags: Keptn's CLI 1.4.5 reads automaticprovisioning
// to decide whether a git remote is required; a project is created with or
// without git flags, which are accepted and their secrets dropped.
func TestCLIMetadataAndGitFlags(t *testing.T) {
	s := start(t, "")
	var md map[string]any
	s.mustDo("GET", "/api/v1/metadata", nil, &md, 200)
	if md["automaticprovisioning"] != true {
		t.Fatalf("metadata %v", md)
	}
	s.createProject("plain", twoStage)
	s.mustDo("POST", "/api/controlPlane/v1/project", map[string]any{"name": "withgit", "shipyard": b64(twoStage),
		"gitCredentials": map[string]any{"remoteURL": "https://git.example.com/x.git", "user": "me",
			"https": map[string]any{"token": "ghp_secret", "insecureSkipTLS": false}}}, nil, 200, 201)
	var p map[string]any
	s.mustDo("GET", "/api/controlPlane/v1/project/withgit", nil, &p, 200)
	raw, _ := json.Marshal(p)
	if strings.Contains(string(raw), "ghp_secret") {
		t.Fatalf("the git token is shown: %s", raw)
	}
	if p["isUpstreamAutoProvisioned"] != false {
		t.Fatalf("a project with a remote shows as auto-provisioned: %s", raw)
	}
	s.mustDo("GET", "/api/controlPlane/v1/project/plain", nil, &p, 200)
	if p["isUpstreamAutoProvisioned"] != true {
		t.Fatalf("a project without a remote is not shown auto-provisioned: %v", p)
	}
}

// TestEventPagingAsGoUtils walks the history the way go-utils v0.20.4 does:
// it stops on nextPageKey "" or "0" and counts pages with strconv.Atoi.
func TestEventPagingAsGoUtils(t *testing.T) {
	s := start(t, "")
	s.createProject("pg", twoStage, "carts")
	kctx := s.trigger("pg", "dev", "single", "carts", nil)
	s.complete(s.openIn("pg", "lonely", kctx), "pass")
	s.waitState("pg", kctx, "finished")
	var total int
	s.eventually("history complete", func() bool {
		total = len(s.history("pg", kctx, ""))
		return total >= 5 // sequence triggered, task triggered/started/finished, sequence finished
	})
	var ids []string
	key, pages := "", 0
	for {
		var out struct {
			Events []struct {
				ID string `json:"id"`
			} `json:"events"`
			NextPageKey string `json:"nextPageKey"`
		}
		s.mustDo("GET", "/api/mongodb-datastore/event?project=pg&pageSize=2&nextPageKey="+key, nil, &out, 200)
		for _, e := range out.Events {
			ids = append(ids, e.ID)
		}
		pages++
		if out.NextPageKey == "" || out.NextPageKey == "0" {
			break
		}
		n, err := strconv.Atoi(out.NextPageKey)
		if err != nil || n != 2*pages {
			t.Fatalf("page %d: nextPageKey %q is not the offset %d", pages, out.NextPageKey, 2*pages)
		}
		if pages > total {
			t.Fatal("paging does not end")
		}
		key = out.NextPageKey
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("event %s twice", id)
		}
		seen[id] = true
	}
	if len(ids) < total {
		t.Fatalf("walked %d of %d events", len(ids), total)
	}
}

// TestSecretsAPIAndProjectScope: secrets are created, listed (never with
// values), updated and deleted through Keptn's secrets API, and a webhook
// resolves a secret bound to its own project but not another project's.
func TestSecretsAPIAndProjectScope(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{} // path -> Authorization
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		got[r.URL.Path] = r.Header.Get("Authorization")
		mu.Unlock()
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	s := start(t, "", "SLIPWAY_HTTP_ALLOW_HOSTS="+host)

	own, other := "own-"+uuid.NewString(), "other-"+uuid.NewString()
	for _, sec := range []map[string]any{
		{"name": "hook-a", "scope": "keptn-webhook-service", "project": "a", "data": map[string]string{"token": own}},
		{"name": "hook-b", "scope": "keptn-webhook-service", "project": "b", "data": map[string]string{"token": other}},
		{"name": "default-scope", "project": "a", "data": map[string]string{"token": other}},
	} {
		s.mustDo("POST", "/api/secrets/v1/secret", sec, nil, 201)
	}
	s.mustDo("POST", "/api/secrets/v1/secret", map[string]any{"name": "hook-a", "data": map[string]string{"k": "v"}}, nil, 409)
	var list struct {
		Secrets []struct {
			Name, Scope, Project string
			Keys                 []string
		} `json:"secrets"`
	}
	s.mustDo("GET", "/api/secrets/v1/secret", nil, &list, 200)
	if len(list.Secrets) != 3 || list.Secrets[0].Name != "default-scope" || list.Secrets[0].Scope != "keptn-default" {
		t.Fatalf("list %+v", list.Secrets)
	}

	shipyard := `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: x}
spec:
  stages:
    - name: dev
      sequences:
        - name: notify
          tasks: [{name: hook}]
`
	s.createProject("a", shipyard, "carts")
	hook := func(secret string) string {
		return `apiVersion: webhookconfig.keptn.sh/v1beta1
kind: WebhookConfig
metadata: {name: e2e}
spec:
  webhooks:
    - type: sh.keptn.event.hook.triggered
      sendStarted: true
      sendFinished: true
      envFrom:
        - name: token
          secretRef: {name: ` + secret + `, key: token}
      requests:
        - url: http://` + host + `/hooks/` + secret + `
          method: POST
          headers:
            - key: Authorization
              value: "Bearer {{.env.token}}"
          payload: '{}'
`
	}
	cases := []struct {
		secret, result string
	}{
		{"hook-a", "pass"},        // own project's secret in the webhook scope
		{"hook-b", "fail"},        // another project's secret
		{"default-scope", "fail"}, // a scope webhooks do not read
	}
	for _, c := range cases {
		t.Run(c.secret, func(t *testing.T) {
			s.exResource("a", "", "", "webhook/webhook.yaml", hook(c.secret))
			kctx := s.trigger("a", "dev", "notify", "carts", nil)
			fin := s.exTaskEvent("a", kctx, "hook", "finished")
			if fin.Data["result"] != c.result {
				t.Fatalf("hook.finished %v, want result %s", fin.Data, c.result)
			}
			s.waitState("a", kctx, "finished")
			mu.Lock()
			auth, called := got["/hooks/"+c.secret]
			mu.Unlock()
			switch {
			case c.result == "pass" && auth != "Bearer "+own:
				t.Fatalf("webhook sent %q", auth)
			case c.result == "fail" && called:
				t.Fatalf("webhook called with another project's or scope's secret (%q)", auth)
			}
			all, _ := json.Marshal(s.history("a", kctx, ""))
			if strings.Contains(string(all), own) || strings.Contains(string(all), other) {
				t.Fatal("a secret value is in the event history")
			}
		})
	}

	// Update and delete as keptn update/delete secret do.
	s.mustDo("PUT", "/api/secrets/v1/secret", map[string]any{"name": "hook-a", "scope": "keptn-webhook-service",
		"project": "a", "data": map[string]string{"token": "rotated"}}, nil, 200)
	s.mustDo("DELETE", "/api/secrets/v1/secret?name=hook-b&scope=keptn-default", nil, nil, 404)
	s.mustDo("DELETE", "/api/secrets/v1/secret?name=hook-b&scope=keptn-webhook-service", nil, nil, 200)
	var scopes struct {
		Scopes []string `json:"scopes"`
	}
	s.mustDo("GET", "/api/secrets/v1/scope", nil, &scopes, 200)
	if !slices.Contains(scopes.Scopes, "keptn-webhook-service") {
		t.Fatalf("scopes %v", scopes.Scopes)
	}
	// The values are sealed in the data directory's store.
	s.stop()
	var stored []byte
	err := filepath.Walk(filepath.Join(s.dataDir, "store"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, rerr := os.ReadFile(p)
			if rerr == nil {
				stored = append(stored, b...)
			}
		}
		return nil
	})
	if err != nil || len(stored) == 0 {
		t.Fatalf("read store files: %v (%d bytes)", err, len(stored))
	}
	for _, v := range []string{own, "rotated", other} {
		if strings.Contains(string(stored), v) {
			t.Fatalf("secret value %q is stored in clear", v)
		}
	}
	if st, err := os.Stat(filepath.Join(s.dataDir, "secrets.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
}

// TestPauseResumeView: Keptn 1.4.5's sequence view on pause and resume: a
// pause without a stage marks the context and leaves the stage's state, a
// stage pause marks only the stage, and resuming a stage shows it started.
func TestPauseResumeView(t *testing.T) {
	s := start(t, "")
	s.createProject("pv", twoStage, "carts")
	kctx := s.trigger("pv", "dev", "queued", "carts", nil)
	t1 := s.openIn("pv", "task1", kctx)
	s.answer(t1, "started", "", "succeeded", nil)
	control := func(state, stage string) {
		t.Helper()
		body := map[string]any{"state": state}
		if stage != "" {
			body["stage"] = stage
		}
		s.mustDo("POST", "/api/controlPlane/v1/sequence/pv/"+kctx+"/control", body, nil, 200)
	}
	want := func(step, state, dev string) {
		t.Helper()
		st := s.state("pv", kctx)
		if st.State != state || len(st.Stages) != 1 || st.Stages[0].State != dev {
			t.Fatalf("%s: state %s, stages %+v; want %s, dev %s", step, st.State, st.Stages, state, dev)
		}
	}
	want("running", "started", "triggered")
	control("pause", "dev")
	want("stage paused", "started", "paused")
	control("resume", "dev")
	want("stage resumed", "started", "started")
	control("pause", "")
	want("context paused", "paused", "started")
	s.answer(t1, "finished", "pass", "succeeded", nil)
	s.never("task2 sent while paused", time.Second/2, func() bool { return len(s.open("pv", "task2")) > 0 })
	control("resume", "")
	want("context resumed", "started", "started")
	s.complete(s.openIn("pv", "task2", kctx), "pass")
	s.waitState("pv", kctx, "finished")
	if st := s.state("pv", kctx); st.Stages[0].State != "succeeded" {
		t.Fatalf("finished stage %+v", st.Stages)
	}
}

// TestTaskSecureParametersFromSecretsAPI: a KeptnTaskDefinition's
// secureParameters.secret resolves a secret created through the secrets API
// (scope keptn-default) for its own project, and not for another project.
func TestTaskSecureParametersFromSecretsAPI(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
			t.Fatalf("python3 not found: %v", err)
		}
		t.Skipf("python3 not found: %v", err)
	}
	s := start(t, "")
	value := "api-" + uuid.NewString()
	s.mustDo("POST", "/api/secrets/v1/secret", map[string]any{"name": "py-api", "project": "tsa",
		"data": map[string]string{"SECURE_DATA": `{"apiKey": "` + value + `"}`}}, nil, 201)
	const shipyard = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: x}
spec:
  stages:
    - name: dev
      sequences:
        - name: verify
          tasks:
            - name: checks
              properties: {taskDefinitions: [py-check]}
`
	const def = `apiVersion: lifecycle.keptn.sh/v1
kind: KeptnTaskDefinition
metadata: {name: py-check}
spec:
  python:
    secureParameters: {secret: py-api}
    inline:
      code: |
        import json, os
        secure = json.loads(os.environ["SECURE_DATA"])
        print("key length %d" % len(secure["apiKey"]))
`
	for _, c := range []struct{ project, result string }{{"tsa", "pass"}, {"tsb", "fail"}} {
		t.Run(c.project, func(t *testing.T) {
			s.createProject(c.project, shipyard, "carts")
			s.exResource(c.project, "", "", "task-definitions/py-check.yaml", def)
			kctx := s.trigger(c.project, "dev", "verify", "carts", nil)
			fin := s.exTaskEvent(c.project, kctx, "checks", "finished")
			raw, _ := json.Marshal(fin)
			if fin.Data["result"] != c.result || strings.Contains(string(raw), value) {
				t.Fatalf("checks.finished %s, want result %s and no secret", raw, c.result)
			}
			if c.result == "pass" && !strings.Contains(string(raw), "key length "+strconv.Itoa(len(value))) {
				t.Fatalf("the task did not read the secret: %s", raw)
			}
			if c.result == "fail" && !strings.Contains(string(raw), "secureParameters") {
				t.Fatalf("the task failed for another reason than the secret: %s", raw)
			}
		})
	}
}
