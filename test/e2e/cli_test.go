package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// cliBinary builds cmd/slipway once per test process.
func cliBinary(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		dir, err := os.MkdirTemp("", "slipway-e2e-cli")
		if err != nil {
			cliErr = err
			return
		}
		cliPath = filepath.Join(dir, "slipway")
		cmd := exec.Command("go", "build", "-race", "-o", cliPath, "./cmd/slipway")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			cliErr = fmt.Errorf("build cmd/slipway: %v\n%s", err, out)
		}
	})
	if cliErr != nil {
		t.Fatal(cliErr)
	}
	return cliPath
}

// cliUser is a user of the CLI with their own config directory.
type cliUser struct {
	t      *testing.T
	bin    string
	home   string
	config string // XDG_CONFIG_HOME
	dir    string // working directory for files
}

// with returns the user reporting to t (a subtest).
func (u *cliUser) with(t *testing.T) *cliUser {
	c := *u
	c.t = t
	return &c
}

func newCLIUser(t *testing.T) *cliUser {
	home := t.TempDir()
	return &cliUser{t: t, bin: cliBinary(t), home: home, config: filepath.Join(home, ".config"), dir: t.TempDir()}
}

// env is the CLI's environment: the test's, without any SLIPWAY_API_*
// (the CLI must use its config file), with its own HOME and config dir.
func (u *cliUser) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SLIPWAY_API_") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") || strings.HasPrefix(kv, "HOME=") ||
			strings.HasPrefix(kv, "GORACE=") {
			continue
		}
		env = append(env, kv)
	}
	// A -race binary sleeps 1 s before it exits unless told not to.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	return append(env, "HOME="+u.home, "XDG_CONFIG_HOME="+u.config, "GORACE="+gorace)
}

type cliResult struct {
	out, err string
	code     int
}

// run runs the CLI with its stdout on a pipe (not a terminal).
func (u *cliUser) run(args ...string) cliResult {
	u.t.Helper()
	cmd := exec.Command(u.bin, args...)
	cmd.Env = u.env()
	cmd.Dir = u.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		u.t.Fatalf("run slipway %v: %v", args, err)
	}
	return cliResult{out: out.String(), err: errb.String(), code: code}
}

// ok runs the CLI and fails the test unless it exits 0.
func (u *cliUser) ok(args ...string) string {
	u.t.Helper()
	r := u.run(args...)
	if r.code != 0 {
		u.t.Fatalf("slipway %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}

// fails runs the CLI and checks the exit code and that stderr holds want.
func (u *cliUser) fails(code int, want string, args ...string) cliResult {
	u.t.Helper()
	r := u.run(args...)
	if r.code != code || !strings.Contains(r.err, want) {
		u.t.Fatalf("slipway %s: exit %d, stderr %q; want exit %d and %q (stdout %q)", strings.Join(args, " "), r.code, r.err, code, want, r.out)
	}
	return r
}

func (u *cliUser) file(name, content string) string {
	u.t.Helper()
	p := filepath.Join(u.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		u.t.Fatal(err)
	}
	return p
}

var ctxRe = regexp.MustCompile(`ID of Keptn context: ([0-9a-f-]{36})`)

func keptnContextOf(t *testing.T, out string) string {
	t.Helper()
	m := ctxRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no keptn context in %q", out)
	}
	return m[1]
}

const cliShipyard = `apiVersion: spec.keptn.sh/0.2.4
kind: Shipyard
metadata: {name: cli}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          tasks: [{name: deployment}, {name: test}]
        - name: check
          tasks: [{name: test}]
    - name: prod
      sequences:
        - name: delivery
          triggeredOn: [{event: dev.delivery.finished}]
          tasks:
            - {name: approval, properties: {pass: manual, warning: manual}}
            - {name: release}
`

// TestCLI drives every verb of the built CLI against a local runtime, as a
// user at a shell or a CI job would.
func TestCLI(t *testing.T) {
	s := start(t, "")
	u := newCLIUser(t)

	t.Run("usage errors exit 2", func(t *testing.T) {
		u := u.with(t)
		r := u.fails(2, `required flag(s) "image", "project", "service" not set`, "trigger", "delivery")
		if !strings.Contains(r.err, "Usage:") {
			t.Fatalf("no usage on a usage error: %q", r.err)
		}
		u.fails(2, "unknown flag: --nope", "get", "projects", "--nope")
		u.fails(2, `unknown command "nope"`, "nope")
		u.fails(2, `unknown output format "xml"`, "get", "projects", "-o", "xml")
		u.fails(2, "create project expects PROJECTNAME", "create", "project", "--shipyard=x.yaml")
	})

	t.Run("not authenticated", func(t *testing.T) {
		u := u.with(t)
		u.fails(1, "not authenticated: run `slipway auth", "get", "projects")
	})

	t.Run("auth", func(t *testing.T) {
		u := u.with(t)
		u.fails(1, "authentication was not successful: unauthenticated or invalid credentials",
			"auth", "--endpoint="+s.API, "--api-token=wrong")
		out := u.ok("auth", "--endpoint="+s.API, "--api-token="+s.Token)
		if !strings.Contains(out, "Successfully authenticated against "+s.API+"/api") {
			t.Fatalf("auth said %q", out)
		}
		cfg := filepath.Join(u.config, "slipway", "config.yaml")
		st, err := os.Stat(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("config mode %v, want 0600", st.Mode().Perm())
		}
		raw, _ := os.ReadFile(cfg)
		if !strings.Contains(string(raw), "endpoint: "+s.API+"/api") || !strings.Contains(string(raw), s.Token) {
			t.Fatalf("config file: %s", raw)
		}
		out = u.ok("status")
		for _, want := range []string{"Endpoint: " + s.API + "/api", "Authenticated: yes", "Keptn API version"} {
			if !strings.Contains(out, want) {
				t.Fatalf("status lacks %q: %s", want, out)
			}
		}
	})

	t.Run("projects and services", func(t *testing.T) {
		u := u.with(t)
		bad := u.file("bad.yaml", "apiVersion: spec.keptn.sh/0.2.4\nkind: Shipyard\nmetadata: {name: x}\nspec:\n  stages:\n    - name: dev\n      sequences:\n        - name: delivery\n          tasks:\n            - nme: deployment\n")
		u.fails(1, "spec.stages[0].sequences[0].tasks[0].name: must not be empty", "create", "project", "bad", "--shipyard="+bad)
		u.fails(1, "no such file", "create", "project", "bad", "--shipyard=missing.yaml")
		sy := u.file("shipyard.yaml", cliShipyard)
		if out := u.ok("create", "project", "cli", "--shipyard="+sy); !strings.Contains(out, "Project cli created") {
			t.Fatalf("create project said %q", out)
		}
		u.fails(1, "already exists", "create", "project", "cli", "--shipyard="+sy)
		u.ok("create", "service", "carts", "--project=cli")
		u.fails(1, "Service carts already exists in project cli", "create", "service", "carts", "--project=cli")
		u.fails(1, "Project not found: nope", "create", "service", "carts", "--project=nope")

		out := u.ok("get", "projects")
		if !regexp.MustCompile(`(?m)^cli\s+dev,prod\s+1\s+spec.keptn.sh/0.2.4$`).MatchString(out) {
			t.Fatalf("get projects table:\n%s", out)
		}
		var projects []struct {
			ProjectName string `json:"projectName"`
			Stages      []struct {
				StageName string `json:"stageName"`
			} `json:"stages"`
		}
		if err := json.Unmarshal([]byte(u.ok("get", "projects", "-o", "json")), &projects); err != nil {
			t.Fatal(err)
		}
		if len(projects) != 1 || projects[0].ProjectName != "cli" || len(projects[0].Stages) != 2 {
			t.Fatalf("get projects -o json = %+v", projects)
		}
		if y := u.ok("get", "project", "cli", "-o", "yaml"); !strings.Contains(y, "projectName: cli\n") || !strings.Contains(y, "- stageName: prod\n") {
			t.Fatalf("get project -o yaml:\n%s", y)
		}
		u.fails(1, "Project not found: nope", "get", "project", "nope")
		if out := u.ok("get", "stages", "--project=cli"); !regexp.MustCompile(`(?m)^prod\s+carts$`).MatchString(out) {
			t.Fatalf("get stages:\n%s", out)
		}
		var svcs []struct {
			Stage   string `json:"stage"`
			Service struct {
				ServiceName string `json:"serviceName"`
			} `json:"service"`
		}
		if err := json.Unmarshal([]byte(u.ok("get", "services", "carts", "--project=cli", "--stage=dev", "-o", "json")), &svcs); err != nil {
			t.Fatal(err)
		}
		if len(svcs) != 1 || svcs[0].Stage != "dev" || svcs[0].Service.ServiceName != "carts" {
			t.Fatalf("get services -o json = %+v", svcs)
		}
		u.fails(1, "service nope not found in project cli", "get", "services", "nope", "--project=cli")

		// update: same stages pass, a removed stage is refused by the API.
		u.ok("update", "project", "cli", "--shipyard="+sy)
		less := u.file("less.yaml", strings.Split(cliShipyard, "    - name: prod")[0])
		u.fails(1, "stage", "update", "project", "cli", "--shipyard="+less)
		u.fails(2, "nothing to update", "update", "project", "cli")

		// a throwaway service and project are deleted again
		u.ok("create", "service", "tmp", "--project=cli")
		u.ok("delete", "service", "tmp", "--project=cli")
		u.ok("create", "project", "gone", "--shipyard="+sy)
		if out := u.ok("delete", "project", "gone"); !strings.Contains(out, "Project gone deleted") {
			t.Fatalf("delete project said %q", out)
		}
		u.fails(1, "gone", "get", "project", "gone")
	})

	t.Run("add-resource", func(t *testing.T) {
		u := u.with(t)
		f := u.file("slo.yaml", "spec_version: '1.0'\nobjectives: []\n")
		out := u.ok("add-resource", "--project=cli", "--stage=dev", "--service=carts", "--resource="+f, "--resourceUri=slo.yaml")
		if !strings.Contains(out, "Resource slo.yaml added to project cli stage dev service carts") {
			t.Fatalf("add-resource said %q", out)
		}
		var res struct {
			ResourceContent string `json:"resourceContent"`
		}
		s.mustDo("GET", "/api/resource-service/v1/project/cli/stage/dev/service/carts/resource/slo.yaml", nil, &res, 200)
		if res.ResourceContent != b64("spec_version: '1.0'\nobjectives: []\n") {
			t.Fatalf("stored resource = %q", res.ResourceContent)
		}
		out = u.ok("add-resource", "--project=cli", "--all-stages", "--resource="+f)
		if !strings.Contains(out, "stage dev") || !strings.Contains(out, "stage prod") {
			t.Fatalf("add-resource --all-stages said %q", out)
		}
		s.mustDo("GET", "/api/resource-service/v1/project/cli/stage/prod/resource/slo.yaml", nil, nil, 200)
		u.fails(2, "--service needs --stage or --all-stages", "add-resource", "--project=cli", "--service=carts", "--resource="+f)
		u.fails(1, "Project not found", "add-resource", "--project=nope", "--resource="+f)
	})

	// deliver runs a delivery through dev to prod's approval.
	deliver := func(t *testing.T, tag string) string {
		t.Helper()
		out := u.ok("trigger", "delivery", "--project=cli", "--service=carts", "--image=docker.io/demo/carts", "--tag="+tag, "--labels=buildId="+tag)
		kctx := keptnContextOf(t, out)
		if !strings.Contains(out, "Triggered delivery of carts in cli/dev with image docker.io/demo/carts:"+tag) {
			t.Fatalf("trigger delivery said %q", out)
		}
		u.ok("finish", "--keptn-context="+kctx, "--task=deployment", "--project=cli")
		s.openIn("cli", "test", kctx)
		u.ok("finish", "--keptn-context="+kctx, "--task=test", "--reason=all green")
		s.openIn("cli", "approval", kctx)
		return kctx
	}

	t.Run("delivery, approve, watch on a pipe", func(t *testing.T) {
		u := u.with(t)
		u.fails(1, "Project not found: nope", "trigger", "delivery", "--project=nope", "--service=carts", "--image=x/y")
		u.fails(1, "service nope not found in stage dev of project cli", "trigger", "delivery", "--project=cli", "--service=nope", "--image=x/y")
		u.fails(2, "already has a tag", "trigger", "delivery", "--project=cli", "--service=carts", "--image=x/y:1", "--tag=2")
		kctx := deliver(t, "1.0")

		trig := s.waitHistory("cli", kctx, "sh.keptn.event.dev.delivery.triggered")
		cc, _ := trig.Data["configurationChange"].(map[string]any)
		vals, _ := cc["values"].(map[string]any)
		labels, _ := trig.Data["labels"].(map[string]any)
		if vals["image"] != "docker.io/demo/carts:1.0" || labels["buildId"] != "1.0" {
			t.Fatalf("delivery.triggered data = %v", trig.Data)
		}
		test := s.waitHistory("cli", kctx, "sh.keptn.event.test.finished")
		if test.Data["result"] != "pass" || test.Data["status"] != "succeeded" || test.Data["message"] != "all green" || test.Source == "" {
			t.Fatalf("test.finished = %+v", test)
		}
		var events []struct {
			Shkeptncontext string         `json:"shkeptncontext"`
			Data           map[string]any `json:"data"`
		}
		if err := json.Unmarshal([]byte(u.ok("get", "event", "test.finished", "--project=cli", "--keptn-context="+kctx, "-o", "json")), &events); err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].Shkeptncontext != kctx || events[0].Data["message"] != "all green" {
			t.Fatalf("get event -o json = %+v", events)
		}
		if out := u.ok("get", "event", "sh.keptn.event.test.finished", "--project=cli", "--keptn-context="+kctx); !strings.Contains(out, "sh.keptn.event.test.finished  dev") {
			t.Fatalf("get event table:\n%s", out)
		}
		u.fails(1, "Project not found: nope", "get", "event", "test.finished", "--project=nope")

		// approve without an id lists the open approval
		open := s.openIn("cli", "approval", kctx)
		list := u.ok("approve", "--project=cli", "--stage=prod")
		if !strings.Contains(list, open.ID) || !strings.Contains(list, kctx) || !strings.Contains(list, "docker.io/demo/carts:1.0") {
			t.Fatalf("approve list:\n%s", list)
		}
		// get event approval.triggered lists the open approvals, as Keptn's CLI did.
		var approvals []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(u.ok("get", "event", "approval.triggered", "--project=cli", "--stage=prod", "--keptn-context="+kctx, "-o", "json")), &approvals); err != nil {
			t.Fatal(err)
		}
		if len(approvals) != 1 || approvals[0].ID != open.ID {
			t.Fatalf("get event approval.triggered = %+v, want %s", approvals, open.ID)
		}
		u.fails(1, "no open approval nope", "approve", "--project=cli", "--id=nope")
		u.ok("approve", "--project=cli", "--stage=prod", "--id="+open.ID)
		fin := s.waitHistory("cli", kctx, "sh.keptn.event.approval.finished")
		if fin.Data["result"] != "pass" || fin.Triggeredid != open.ID {
			t.Fatalf("approval.finished = %+v", fin)
		}
		s.openIn("cli", "release", kctx) // the control plane has applied the approval
		u.ok("finish", "--keptn-context="+kctx, "--task=release")
		if out := u.ok("get", "event", "approval.triggered", "--project=cli", "--keptn-context="+kctx); !strings.Contains(out, "No sh.keptn.event.approval.triggered events found") {
			t.Fatalf("get event approval.triggered after approving:\n%s", out)
		}

		r := u.run("watch", "--keptn-context="+kctx, "--watch-timeout=60s", "--watch-interval=100ms")
		if r.code != 0 {
			t.Fatalf("watch: exit %d\n%s\n%s", r.code, r.out, r.err)
		}
		if strings.ContainsRune(r.out, 0x1b) {
			t.Fatalf("watch on a pipe wrote control codes: %q", r.out)
		}
		for _, want := range []string{
			"sequence delivery of cli/carts context " + kctx + ": finished",
			"dev delivery deployment: pass",
			"dev delivery test: pass",
			"prod delivery approval: pass",
			"prod delivery: result pass",
			"sequence delivery finished: result pass after",
		} {
			if !strings.Contains(r.out, want) {
				t.Fatalf("watch output lacks %q:\n%s", want, r.out)
			}
		}
	})

	t.Run("keptn's send event approval.finished", func(t *testing.T) {
		u := u.with(t)
		kctx := deliver(t, "4.0")
		appr := s.openIn("cli", "approval", kctx)
		u.ok("send", "event", "approval.finished", "--project=cli", "--stage=prod", "--id="+appr.ID)
		s.openIn("cli", "release", kctx)
		fin := s.waitHistory("cli", kctx, "sh.keptn.event.approval.finished")
		if fin.Data["result"] != "pass" || fin.Triggeredid != appr.ID {
			t.Fatalf("approval.finished = %+v", fin)
		}
		u.ok("abort", "--project=cli", "--keptn-context="+kctx)
	})

	t.Run("decline fails the watch", func(t *testing.T) {
		u := u.with(t)
		kctx := deliver(t, "2.0")
		u.ok("decline", "--project=cli", "--keptn-context="+kctx, "--reason=not today")
		r := u.run("watch", "--keptn-context="+kctx, "--project=cli", "--watch-interval=100ms", "--watch-timeout=60s")
		if r.code != 1 || !strings.Contains(r.out, "prod delivery approval: fail") {
			t.Fatalf("watch after decline: exit %d\n%s%s", r.code, r.out, r.err)
		}
	})

	t.Run("warning exits 2", func(t *testing.T) {
		u := u.with(t)
		out := u.ok("trigger", "sequence", "check", "--project=cli", "--stage=dev", "--service=carts", "--data=test.strategy=smoke")
		kctx := keptnContextOf(t, out)
		trig := s.openIn("cli", "test", kctx)
		if st, _ := trig.Data["test"].(map[string]any); st["strategy"] != "smoke" {
			t.Fatalf("test.triggered data = %v", trig.Data)
		}
		u.ok("finish", "--keptn-context="+kctx, "--task=test", "--result=warning")
		r := u.run("watch", "--keptn-context="+kctx, "--watch-interval=100ms", "--watch-timeout=60s")
		if r.code != 2 || !strings.Contains(r.out, "result warning") {
			t.Fatalf("watch: exit %d\n%s%s", r.code, r.out, r.err)
		}
		u.fails(2, "--result must be pass, warning or fail", "finish", "--keptn-context="+kctx, "--task=test", "--result=great")
		u.fails(1, "no open sh.keptn.event.test.triggered in keptn-context "+kctx, "finish", "--keptn-context="+kctx, "--task=test")
		u.fails(1, "stage nope not found in project cli", "trigger", "sequence", "check", "--project=cli", "--stage=nope", "--service=carts")
	})

	t.Run("pause, resume, abort", func(t *testing.T) {
		u := u.with(t)
		out := u.ok("trigger", "sequence", "check", "--project=cli", "--stage=dev", "--service=carts")
		kctx := keptnContextOf(t, out)
		s.openIn("cli", "test", kctx)
		u.ok("pause", "--project=cli", "--keptn-context="+kctx)
		s.waitState("cli", kctx, "paused")
		u.ok("resume", "sequence", "--project=cli", "--keptn-context="+kctx, "--stage=dev")
		s.waitState("cli", kctx, "started")
		u.fails(1, "keptn context nope not found in project cli", "abort", "--project=cli", "--keptn-context=nope")
		u.fails(1, "Project not found: nope", "abort", "--project=nope", "--keptn-context="+kctx)
		u.fails(2, "takes no arguments", "abort", "everything", "--project=cli", "--keptn-context="+kctx)
		u.ok("abort", "--project=cli", "--keptn-context="+kctx)
		r := u.run("watch", "--keptn-context="+kctx, "--watch-interval=100ms", "--watch-timeout=60s")
		if r.code != 3 || !strings.Contains(r.out, "sequence check aborted: result aborted") {
			t.Fatalf("watch after abort: exit %d\n%s%s", r.code, r.out, r.err)
		}
	})

	t.Run("watch timeout exits 3", func(t *testing.T) {
		u := u.with(t)
		kctx := keptnContextOf(t, u.ok("trigger", "sequence", "check", "--project=cli", "--stage=dev", "--service=carts"))
		s.openIn("cli", "test", kctx)
		r := u.run("watch", "--keptn-context="+kctx, "--project=cli", "--watch-interval=100ms", "--watch-timeout=300ms")
		if r.code != 3 || !strings.Contains(r.out, "watch timed out after 300ms (state started)") {
			t.Fatalf("watch: exit %d\n%s%s", r.code, r.out, r.err)
		}
		u.ok("abort", "--project=cli", "--keptn-context="+kctx)
		// trigger … --watch follows the context it started, with watch's exit codes.
		r = u.run("trigger", "sequence", "check", "--project=cli", "--stage=dev", "--service=carts", "--watch", "--watch-interval=100ms", "--watch-timeout=300ms")
		if r.code != 3 || !strings.Contains(r.out, "ID of Keptn context: ") || !strings.Contains(r.out, "watch timed out after 300ms") {
			t.Fatalf("trigger --watch: exit %d\n%s%s", r.code, r.out, r.err)
		}
		u.ok("abort", "--project=cli", "--keptn-context="+keptnContextOf(t, r.out))
		u.fails(1, "no events for keptn-context 00000000-0000-0000-0000-000000000000", "watch", "--keptn-context=00000000-0000-0000-0000-000000000000")
		u.fails(1, "Project not found: nope", "watch", "--keptn-context="+kctx, "--project=nope")
	})

	t.Run("trigger evaluation", func(t *testing.T) {
		u := u.with(t)
		u.fails(2, "--timeframe and --end cannot be used together", "trigger", "evaluation", "--project=cli", "--stage=dev", "--service=carts", "--timeframe=5m", "--start=2026-01-02T15:00:00", "--end=2026-01-02T15:10:00")
		u.fails(1, "project not found", "trigger", "evaluation", "--project=nope", "--stage=dev", "--service=carts")
		kctx := keptnContextOf(t, u.ok("trigger", "evaluation", "--project=cli", "--stage=dev", "--service=carts", "--start=2026-01-02T15:00:00", "--timeframe=10m", "--labels=run=7"))
		ev := s.waitHistory("cli", kctx, "sh.keptn.event.dev.evaluation.triggered")
		eval, _ := ev.Data["evaluation"].(map[string]any)
		if !strings.HasPrefix(fmt.Sprint(eval["start"]), "2026-01-02T15:00:00") || !strings.HasPrefix(fmt.Sprint(eval["end"]), "2026-01-02T15:10:00") {
			t.Fatalf("evaluation.triggered data = %v", ev.Data)
		}
	})

	t.Run("send event", func(t *testing.T) {
		u := u.with(t)
		f := u.file("event.json", `{"type":"sh.keptn.event.dev.check.triggered","specversion":"1.0","source":"file",
"data":{"project":"cli","stage":"dev","service":"carts"}}`)
		kctx := keptnContextOf(t, u.ok("send", "event", "-f", f))
		s.openIn("cli", "test", kctx)
		u.ok("abort", "--project=cli", "--keptn-context="+kctx)
		bad := u.file("bad.json", `{"type":`)
		u.fails(1, "is not a JSON object", "send", "event", "--file="+bad)
		invalid := u.file("invalid.json", `{"type":"sh.keptn.event.dev.check.triggered","specversion":"1.0","source":"file","data":{"project":"cli","stage":"prod","service":"carts"}}`)
		u.fails(1, "stage name in event data and in event type does not match", "send", "event", "-f", invalid)
		u.fails(2, `required flag(s) "file" not set`, "send", "event")
	})
}

// TestCLIWatchTerminal runs `slipway watch` in a real terminal (tmux) and
// reads the screen: the view is redrawn in place while the run moves on.
func TestCLIWatchTerminal(t *testing.T) {
	tmux := os.Getenv("SLIPWAY_TMUX")
	if tmux == "" {
		tmux, _ = exec.LookPath("tmux")
	}
	if tmux == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux not found (SLIPWAY_TMUX unset); hack/packages.sh installs it")
		}
		t.Skip("tmux not found; set SLIPWAY_TMUX")
	}
	s := start(t, "")
	u := newCLIUser(t)
	u.ok("auth", "--endpoint="+s.API, "--api-token="+s.Token)
	u.ok("create", "project", "tty", "--shipyard="+u.file("shipyard.yaml", cliShipyard))
	u.ok("create", "service", "carts", "--project=tty")
	kctx := keptnContextOf(t, u.ok("trigger", "delivery", "--project=tty", "--service=carts", "--image=docker.io/demo/carts:3.0"))
	s.openIn("tty", "deployment", kctx)

	sock := filepath.Join(u.home, "tmux.sock")
	tm := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(tmux, append([]string{"-S", sock}, args...)...)
		cmd.Env = append(u.env(), "TERM=xterm-256color")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	script := u.file("watch.sh", fmt.Sprintf("#!/bin/sh\n%q watch --keptn-context=%s --watch-interval=100ms --watch-timeout=120s\necho \"EXIT=$?\"\nsleep 600\n", u.bin, kctx))
	if err := os.Chmod(script, 0o700); err != nil {
		t.Fatal(err)
	}
	tm("new-session", "-d", "-s", "watch", "-x", "120", "-y", "40", script)
	t.Cleanup(func() {
		cmd := exec.Command(tmux, "-S", sock, "kill-server")
		_ = cmd.Run()
	})
	screen := func() string { return tm("capture-pane", "-p", "-t", "watch") }
	waitScreen := func(what string, cond func(string) bool) string {
		t.Helper()
		var last string
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if last = screen(); cond(last) {
				return last
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("screen never showed %s:\n%s", what, last)
		return ""
	}
	running := regexp.MustCompile(`(?m)^    > deployment\s+running\s+\d`)
	sc := waitScreen("deployment running", running.MatchString)
	for _, want := range []string{"delivery tty/carts  context " + kctx, "state started", "dev            delivery   started", "0/2 tasks", "      test             pending"} {
		if !strings.Contains(sc, want) {
			t.Fatalf("screen lacks %q:\n%s", want, sc)
		}
	}

	u.ok("finish", "--keptn-context="+kctx, "--task=deployment")
	sc = waitScreen("test running", regexp.MustCompile(`(?m)^    > test\s+running`).MatchString)
	if !regexp.MustCompile(`(?m)^    \+ deployment\s+pass\s+\d`).MatchString(sc) || !strings.Contains(sc, "1/2 tasks") {
		t.Fatalf("screen after deployment:\n%s", sc)
	}
	u.ok("finish", "--keptn-context="+kctx, "--task=test", "--result=fail", "--reason=broken")
	sc = waitScreen("the exit code", func(s string) bool { return strings.Contains(s, "EXIT=") })
	if !strings.Contains(sc, "EXIT=1") || !strings.Contains(sc, "result fail") {
		t.Fatalf("final screen:\n%s", sc)
	}
	// Redrawn in place: the header is on the screen once, not once per frame.
	if n := strings.Count(sc, "delivery tty/carts  context "+kctx); n != 1 {
		t.Fatalf("header shown %d times (frames stacked, not redrawn):\n%s", n, sc)
	}
	if !regexp.MustCompile(`(?m)^    x test\s+fail\s+\d`).MatchString(sc) {
		t.Fatalf("failed task not marked:\n%s", sc)
	}
}
