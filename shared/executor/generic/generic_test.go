package generic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/safehttp"
)

type recorder struct {
	mu     sync.Mutex
	events []event.Event
}

func (r *recorder) Send(_ context.Context, e event.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) all() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Event(nil), r.events...)
}

func (r *recorder) waitFor(t *testing.T, n int) []event.Event {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if ev := r.all(); len(ev) >= n {
			return ev
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d events, got %d", n, len(r.all()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func newEvent(t *testing.T, typ string, data map[string]any, ext map[string]string) event.Event {
	t.Helper()
	e, err := keptn.NewEvent(typ, keptn.Meta{ID: fmt.Sprintf("ev-%d", time.Now().UnixNano()), Source: "test", Time: time.Now(), Context: "ctx-1", GitCommitID: ext["gitcommitid"]}, data)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range ext {
		e.SetExtension(k, v)
	}
	return e
}

func baseData() map[string]any {
	return map[string]any{"project": "p", "stage": "dev", "service": "svc", "labels": map[string]any{"owner": "me"}}
}

type finished struct {
	keptn.Data
	all map[string]any
}

func decode(t *testing.T, e event.Event) finished {
	t.Helper()
	d, m, err := keptn.DecodeData(e)
	if err != nil {
		t.Fatal(err)
	}
	return finished{d, m}
}

func setup(t *testing.T, cfg Config) (*Executor, *executor.MemResources, *recorder) {
	t.Helper()
	res := &executor.MemResources{}
	rec := &recorder{}
	cfg.WorkDir = sharedDir(t)
	x := New(cfg, res, rec, nil)
	t.Cleanup(x.Wait)
	return x, res, rec
}

// run handles e, waits for background work and returns the emitted events.
func run(t *testing.T, x *Executor, rec *recorder, e event.Event) []event.Event {
	t.Helper()
	if err := x.Handle(context.Background(), e); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	x.Wait()
	return rec.all()
}

func TestLookupOrder(t *testing.T) {
	type file struct{ level, name string }
	tests := map[string]struct {
		files []file
		typ   string
		data  map[string]any
		want  string // "<level>:<uri>" or "" for none
	}{
		"service wins over stage and project": {
			files: []file{{"service", "deployment.triggered.sh"}, {"stage", "deployment.triggered.sh"}, {"project", "deployment.triggered.sh"}},
			typ:   "sh.keptn.event.deployment.triggered", want: "service:deployment.triggered.sh",
		},
		"stage wins over project": {
			files: []file{{"stage", "deployment.triggered.sh"}, {"project", "deployment.triggered.sh"}},
			typ:   "sh.keptn.event.deployment.triggered", want: "stage:deployment.triggered.sh",
		},
		"project only": {
			files: []file{{"project", "deployment.triggered.py"}},
			typ:   "sh.keptn.event.deployment.triggered", want: "project:deployment.triggered.py",
		},
		"specific at project beats all.events at service (documented)": {
			files: []file{{"project", "deployment.triggered.sh"}, {"service", "all.events.sh"}},
			typ:   "sh.keptn.event.deployment.triggered", want: "project:deployment.triggered.sh",
		},
		"sh beats py beats http": {
			files: []file{{"service", "deployment.triggered.http"}, {"service", "deployment.triggered.py"}, {"project", "deployment.triggered.sh"}},
			typ:   "sh.keptn.event.deployment.triggered", want: "project:deployment.triggered.sh",
		},
		"all.events fallback": {
			files: []file{{"stage", "all.events.py"}},
			typ:   "sh.keptn.event.test.finished", want: "stage:all.events.py",
		},
		"nothing": {typ: "sh.keptn.event.deployment.triggered"},
		"action never claimed by all.events": {
			files: []file{{"service", "all.events.sh"}, {"service", "action.triggered.sh"}},
			typ:   "sh.keptn.event.action.triggered", data: map[string]any{"action": map[string]any{"action": "scale"}},
		},
		"action-specific file": {
			files: []file{{"service", "all.events.sh"}, {"project", "action.triggered.scale.http"}},
			typ:   "sh.keptn.event.action.triggered", data: map[string]any{"action": map[string]any{"action": "scale"}},
			want: "project:action.triggered.scale.http",
		},
		"other action's file": {
			files: []file{{"service", "action.triggered.restart.sh"}},
			typ:   "sh.keptn.event.action.triggered", data: map[string]any{"action": map[string]any{"action": "scale"}},
		},
		"action name with traversal": {
			files: []file{{"service", "action.triggered.sh"}},
			typ:   "sh.keptn.event.action.triggered", data: map[string]any{"action": map[string]any{"action": "../x"}},
		},
		"sequence event drops the stage": {
			files: []file{{"project", "delivery.triggered.sh"}},
			typ:   "sh.keptn.event.dev.delivery.triggered", want: "project:delivery.triggered.sh",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := &executor.MemResources{}
			for _, f := range tc.files {
				switch f.level {
				case "service":
					res.Put("p", "dev", "svc", Dir+f.name, []byte("x"))
				case "stage":
					res.Put("p", "dev", "", Dir+f.name, []byte("x"))
				case "project":
					res.Put("p", "", "", Dir+f.name, []byte("x"))
				}
			}
			typ, _ := keptn.ParseType(tc.typ)
			found, err := executor.Find(context.Background(), res, executor.Scope{Project: "p", Stage: "dev", Service: "svc"}, Candidates(typ, tc.data))
			if tc.want == "" {
				if !errors.Is(err, executor.ErrNotFound) {
					t.Fatalf("want nothing, got %+v %v", found, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(found.Level) + ":" + strings.TrimPrefix(found.URI, Dir); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestGitCommitPinning(t *testing.T) {
	x, res, rec := setup(t, Config{})
	e := newEvent(t, "sh.keptn.event.deployment.triggered", baseData(), map[string]string{"gitcommitid": "abc123"})
	if got := run(t, x, rec, e); len(got) != 0 {
		t.Fatalf("no file: want no events, got %d", len(got))
	}
	for _, r := range res.Reads() {
		project := strings.HasPrefix(r, "p///")
		if project && !strings.HasSuffix(r, "@") || !project && !strings.HasSuffix(r, "@abc123") {
			t.Errorf("read %s: stage/service reads pinned, project reads unpinned", r)
		}
	}
}

func TestScriptResponses(t *testing.T) {
	tests := map[string]struct {
		file, script string
		status       keptn.Status
		result       keptn.Result
		msg          string // substring
		payload      map[string]any
	}{
		"exit 0 plain":   {"deployment.triggered.sh", "echo hello", keptn.StatusSucceeded, keptn.ResultPass, "hello", nil},
		"exit 1":         {"deployment.triggered.sh", "echo oops; exit 1", keptn.StatusSucceeded, keptn.ResultFail, "exit code 1", nil},
		"json last line": {"deployment.triggered.sh", `echo progress >&2; echo '{"url":"http://x","n":2}'`, keptn.StatusSucceeded, keptn.ResultPass, "progress", map[string]any{"url": "http://x", "n": 2.0}},
		"error object":   {"deployment.triggered.sh", `echo '{"error":"it broke"}'`, keptn.StatusSucceeded, keptn.ResultFail, "it broke", nil},
		"result file":    {"deployment.triggered.sh", `echo '{"k":"v"}' > "$RESULT_FILE"; echo not json`, keptn.StatusSucceeded, keptn.ResultPass, "not json", map[string]any{"k": "v"}},
		"python":         {"deployment.triggered.py", "import sys, json\nev = json.load(open(sys.argv[1]))\nprint(json.dumps({'ctx': ev['shkeptncontext'], 'svc': ev['data']['service']}))", keptn.StatusSucceeded, keptn.ResultPass, "ctx-1", map[string]any{"ctx": "ctx-1", "svc": "svc"}},
		"bad python":     {"deployment.triggered.py", "raise SystemExit(3)", keptn.StatusSucceeded, keptn.ResultFail, "exit code 3", nil},
		"event file arg": {"deployment.triggered.sh", `grep -q '"shkeptncontext":"ctx-1"' "$1" && grep -q '"specversion":"1.0"' "$1" && echo full-event`, keptn.StatusSucceeded, keptn.ResultPass, "full-event", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			x, res, rec := setup(t, Config{})
			res.Put("p", "dev", "svc", Dir+tc.file, []byte(tc.script))
			e := newEvent(t, "sh.keptn.event.deployment.triggered", baseData(), nil)
			got := run(t, x, rec, e)
			if len(got) != 2 {
				t.Fatalf("want started+finished, got %d", len(got))
			}
			if got[0].Type() != "sh.keptn.event.deployment.started" || got[1].Type() != "sh.keptn.event.deployment.finished" {
				t.Fatalf("types %s, %s", got[0].Type(), got[1].Type())
			}
			for _, r := range got {
				if keptn.TriggeredID(r) != e.ID() || keptn.Context(r) != "ctx-1" || r.Source() != Source || r.ID() == e.ID() {
					t.Fatalf("bad response attributes: %v", r)
				}
				d := decode(t, r)
				if d.Project != "p" || d.Stage != "dev" || d.Service != "svc" || d.Labels["owner"] != "me" {
					t.Fatalf("bad common data %+v", d.Data)
				}
			}
			f := decode(t, got[1])
			if f.Status != tc.status || f.Result != tc.result || !strings.Contains(f.Message, tc.msg) {
				t.Fatalf("finished %s/%s %q; want %s/%s containing %q", f.Status, f.Result, f.Message, tc.status, tc.result, tc.msg)
			}
			if tc.payload != nil {
				b, _ := json.Marshal(f.all["deployment"])
				w, _ := json.Marshal(tc.payload)
				if string(b) != string(w) {
					t.Fatalf("data.deployment = %s, want %s", b, w)
				}
			}
		})
	}
}

func envOf(output string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(output, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

func TestScriptEnv(t *testing.T) {
	t.Setenv("SLIPWAY_TEST_SECRET", "super-secret-value")
	t.Setenv("KEPTN_API_TOKEN", "token-from-executor")
	x, res, rec := setup(t, Config{Env: map[string]string{"TESTTOKEN": "allowed-token"}})
	res.Put("p", "dev", "svc", Dir+"action.triggered.scale.sh", []byte("env"))
	data := baseData()
	data["labels"] = map[string]any{"Problem URL": "http://problem", "path": "/evil"}
	data["action"] = map[string]any{"action": "scale", "value": map[string]any{"replicas": 3, "message": "hi"}}
	data["problem"] = map[string]any{"problemTitle": "CPU", "PID": "42", "State": "OPEN"}
	data["deployment"] = map[string]any{"deploymentstrategy": "blue_green", "deploymentURIsPublic": []any{"http://pub"}}
	data["ld_preload"] = "/tmp/evil.so"
	data["evaluation"] = map[string]any{"score": 99.5, "pass": true, "nothing": nil}
	data["arr"] = []any{map[string]any{"prop": "x"}}
	e := newEvent(t, "sh.keptn.event.action.triggered", data, map[string]string{"path": "/evil/bin", "ldpreload": "/evil"})
	got := run(t, x, rec, e)
	if len(got) != 2 {
		t.Fatalf("want 2 events, got %d", len(got))
	}
	f := decode(t, got[1])
	if f.Result != keptn.ResultPass {
		t.Fatalf("script failed: %s", f.Message)
	}
	out := f.Message
	if strings.Contains(out, "super-secret-value") || strings.Contains(out, "token-from-executor") || strings.Contains(out, "SLIPWAY_TEST_SECRET") || strings.Contains(out, "KEPTN_API_TOKEN") {
		t.Fatalf("executor env leaked into the script:\n%s", out)
	}
	if strings.Contains(out, "allowed-token") {
		t.Fatalf("allow-listed value must be redacted in the message:\n%s", out)
	}
	env := envOf(out)
	want := map[string]string{
		"ENV_TESTTOKEN":             "***",
		"PROJECT":                   "p",
		"STAGE":                     "dev",
		"SERVICE":                   "svc",
		"CONTEXT":                   "ctx-1",
		"EVENT":                     "sh.keptn.event.action.triggered",
		"SOURCE":                    "test",
		"ACTION":                    "scale",
		"VALUE_REPLICAS":            "3",
		"VALUE_MESSAGE":             "hi",
		"DATA_ACTION_VALUE_MESSAGE": "hi",
		"LABEL_PROBLEM_URL":         "http://problem",
		"LABEL_PATH":                "/evil",
		"PROBLEMURL":                "http://problem",
		"PROBLEMTITLE":              "CPU",
		"PID":                       "42",
		"PROBLEMSTATE":              "OPEN",
		"DEPLOYMENT":                "blue_green",
		"DEPLOYMENTURIPUBLIC":       "http://pub",
		"DATA_EVALUATION_SCORE":     "99.5",
		"DATA_EVALUATION_PASS":      "true",
		"DATA_LD_PRELOAD":           "/tmp/evil.so",
		"DATA_ARR_0_PROP":           "x",
		"DATA_LABELS_PROBLEM_URL":   "http://problem",
		"CE_SHKEPTNCONTEXT":         "ctx-1",
		"CE_PATH":                   "/evil/bin",
		"PATH":                      os.Getenv("PATH"),
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	for _, k := range []string{"LD_PRELOAD", "BASH_ENV", "DATA_EVALUATION_NOTHING"} {
		if _, ok := env[k]; ok {
			t.Errorf("%s must not be set", k)
		}
	}
	if env["HOME"] == "" || env["HOME"] != env["TMPDIR"] || !strings.HasPrefix(env["HOME"], x.cfg.WorkDir) {
		t.Errorf("HOME %q TMPDIR %q: want the private work dir", env["HOME"], env["TMPDIR"])
	}
	if _, ok := env["TIMEUTCMS"]; !ok {
		t.Error("TIMEUTCMS missing")
	}
	// the private work dir is gone
	if entries, _ := os.ReadDir(x.cfg.WorkDir); len(entries) != 0 {
		t.Errorf("work dir not removed: %v", entries)
	}
}

func TestBuildEnvReserved(t *testing.T) {
	e := newEvent(t, "sh.keptn.event.x.triggered", nil, map[string]string{"pythonpath": "y"})
	env := BuildEnv(EnvInput{Event: e, Data: map[string]any{"a": "\x00b"}, Allowed: map[string]string{"PATH": "/evil"}, Base: []string{"PATH=/ok"}})
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := m[k]; dup {
			t.Errorf("duplicate %s", k)
		}
		m[k] = v
	}
	if m["PATH"] != "/ok" || m["ENV_PATH"] != "/evil" || m["DATA_A"] != "b" || m["CE_PYTHONPATH"] != "y" {
		t.Fatalf("env %v", m)
	}
	for _, name := range []string{"PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "BASH_ENV", "PYTHONPATH", "PYTHONSTARTUP", "NODE_OPTIONS", "DENO_DIR", "BASH_FUNC_X%%"} {
		if !Reserved(SanitizeName(name)) {
			t.Errorf("%s should be reserved", name)
		}
	}
}

func childPID(t *testing.T, out string) int {
	t.Helper()
	m := regexp.MustCompile(`child=(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no child pid in %q", out)
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(b), ") Z") {
			return
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("child %d still running", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	x, res, rec := setup(t, Config{Timeout: 500 * time.Millisecond})
	res.Put("p", "", "", Dir+"test.triggered.sh", []byte(`sleep 300 & echo "child=$!"; wait`))
	got := run(t, x, rec, newEvent(t, "sh.keptn.event.test.triggered", baseData(), nil))
	if len(got) != 2 {
		t.Fatalf("want 2 events, got %d", len(got))
	}
	f := decode(t, got[1])
	if f.Status != keptn.StatusErrored || f.Result != keptn.ResultFail || !strings.Contains(f.Message, "timeout") {
		t.Fatalf("finished %s/%s %q", f.Status, f.Result, f.Message)
	}
	waitGone(t, childPID(t, f.Message))
}

func TestFileTimeoutDirective(t *testing.T) {
	x, res, rec := setup(t, Config{Timeout: time.Hour})
	res.Put("p", "", "", Dir+"test.triggered.sh", []byte("# slipway-timeout: 300ms\nsleep 30"))
	got := run(t, x, rec, newEvent(t, "sh.keptn.event.test.triggered", baseData(), nil))
	if f := decode(t, got[1]); f.Status != keptn.StatusErrored || !strings.Contains(f.Message, "timeout after 300ms") {
		t.Fatalf("finished %s %q", f.Status, f.Message)
	}
}

func TestAbortKillsScript(t *testing.T) {
	x, res, rec := setup(t, Config{})
	marker := filepath.Join(sharedDir(t), "pid")
	res.Put("p", "dev", "svc", Dir+"deployment.triggered.sh", []byte(`sleep 300 & echo "$!" > "$ENV_MARKER"; wait`))
	x.cfg.Env = map[string]string{"MARKER": marker}
	trig := newEvent(t, "sh.keptn.event.deployment.triggered", baseData(), nil)
	if err := x.Handle(context.Background(), trig); err != nil {
		t.Fatal(err)
	}
	if ev := rec.waitFor(t, 1); ev[0].Type() != "sh.keptn.event.deployment.started" {
		t.Fatalf("first event %s", ev[0].Type())
	}
	var pid int
	deadline := time.Now().Add(10 * time.Second)
	for pid == 0 {
		if b, err := os.ReadFile(marker); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if time.Now().After(deadline) {
			t.Fatal("script did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !x.Running(trig.ID()) {
		t.Fatal("work not registered")
	}
	abort := newEvent(t, "sh.keptn.event.deployment.aborted", baseData(), map[string]string{keptn.ExtTriggeredID: trig.ID()})
	if err := x.Handle(context.Background(), abort); err != nil {
		t.Fatal(err)
	}
	ev := rec.waitFor(t, 2)
	f := decode(t, ev[1])
	if ev[1].Type() != "sh.keptn.event.deployment.finished" || f.Status != keptn.StatusErrored || f.Result != keptn.ResultFail || f.Message != "aborted" {
		t.Fatalf("finished %s %s/%s %q", ev[1].Type(), f.Status, f.Result, f.Message)
	}
	waitGone(t, pid)
	x.Wait()
	if len(rec.all()) != 2 {
		t.Fatalf("want exactly 2 events, got %d", len(rec.all()))
	}
}

func TestAbortBeforeTriggered(t *testing.T) {
	x, res, rec := setup(t, Config{})
	res.Put("p", "dev", "svc", Dir+"deployment.triggered.sh", []byte("echo hi"))
	trig := newEvent(t, "sh.keptn.event.deployment.triggered", baseData(), nil)
	abort := newEvent(t, "sh.keptn.event.deployment.aborted", baseData(), map[string]string{keptn.ExtTriggeredID: trig.ID()})
	run(t, x, rec, abort)
	if got := run(t, x, rec, trig); len(got) != 0 {
		t.Fatalf("aborted task must not start, got %d events", len(got))
	}
}

func TestOutputCapAndRedaction(t *testing.T) {
	x, res, rec := setup(t, Config{MaxOutput: 1024, Env: map[string]string{"TOKEN": "tok-123456"}})
	res.Put("p", "dev", "svc", Dir+"deployment.triggered.sh", []byte(`echo "token is $ENV_TOKEN"; for i in $(seq 1 5000); do echo "line $i"; done; echo "again $ENV_TOKEN"`))
	got := run(t, x, rec, newEvent(t, "sh.keptn.event.deployment.triggered", baseData(), nil))
	f := decode(t, got[1])
	if f.Result != keptn.ResultPass {
		t.Fatalf("result %s: %s", f.Result, f.Message)
	}
	if len(f.Message) > 1024+200 || !strings.Contains(f.Message, "output truncated") {
		t.Fatalf("message not capped (%d bytes): %.300q", len(f.Message), f.Message)
	}
	if strings.Contains(f.Message, "tok-123456") || !strings.Contains(f.Message, "token is ***") || !strings.Contains(f.Message, "again ***") {
		t.Fatalf("secret not redacted: %q", f.Message)
	}
}

// secretAtCap has no byte in common with the padding, the truncation
// markers or the messages around the output.
const secretAtCap = "SQCRZTVALUEXJK"

// TestSecretAtTheOutputCap prints an executor variable so that it straddles
// the output cap's head cut by every number of bytes: no part of it may
// reach the message (redacting after the cap let a prefix through).
func TestSecretAtTheOutputCap(t *testing.T) {
	const max = 64 // head 32
	for off := max/2 - len(secretAtCap) + 1; off < max/2; off++ {
		t.Run(strconv.Itoa(off), func(t *testing.T) {
			x, res, rec := setup(t, Config{MaxOutput: max, Env: map[string]string{"TOKEN": secretAtCap}})
			script := fmt.Sprintf(`printf '%%s%%s%%s' "$(printf '.%%.0s' $(seq 1 %d))" "$ENV_TOKEN" "$(printf '.%%.0s' $(seq 1 100))"`, off)
			res.Put("p", "dev", "svc", Dir+"deployment.triggered.sh", []byte(script))
			got := run(t, x, rec, newEvent(t, "sh.keptn.event.deployment.triggered", baseData(), nil))
			f := decode(t, got[1])
			if f.Result != keptn.ResultPass || !strings.Contains(f.Message, "output truncated") || strings.ContainsAny(f.Message, secretAtCap) {
				t.Fatalf("result %s, message %q", f.Result, f.Message)
			}
		})
	}
}

// TestHTTPResponseCutMidSecret: a response echoing the secret is cut by
// the size limit inside it; the part left must be masked too.
func TestHTTPResponseCutMidSecret(t *testing.T) {
	const max = 64
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat(".", max-5)+r.Header.Get("X-Token")+strings.Repeat(".", 100))
	}))
	s.Listener = l
	s.Start()
	defer s.Close()
	x, res, rec := setup(t, Config{MaxOutput: max, Env: map[string]string{"TOKEN": secretAtCap}, HTTP: safehttp.Options{AllowHosts: []string{"127.0.0.1"}}})
	res.Put("p", "dev", "svc", Dir+"deployment.triggered.http", []byte("GET "+s.URL+"/\nX-Token: ${env.token}\n"))
	got := run(t, x, rec, newEvent(t, "sh.keptn.event.deployment.triggered", baseData(), nil))
	f := decode(t, got[1])
	if f.Result != keptn.ResultPass || !strings.Contains(f.Message, "response truncated") || strings.ContainsAny(f.Message, secretAtCap) {
		t.Fatalf("result %s, message %q", f.Result, f.Message)
	}
}

func TestNotificationMode(t *testing.T) {
	dir := sharedDir(t)
	marker := filepath.Join(dir, "ran")
	// Each run may land on another slot uid: the file they all append to
	// must be writable by all.
	if err := os.WriteFile(marker, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(marker, 0o666); err != nil {
		t.Fatal(err)
	}
	x, res, rec := setup(t, Config{Env: map[string]string{"MARKER": marker}})
	res.Put("p", "dev", "svc", Dir+"all.events.sh", []byte(`echo "$EVENT" >> "$ENV_MARKER"`))
	for _, typ := range []string{"sh.keptn.event.test.finished", "sh.keptn.event.deployment.started", "sh.keptn.event.dev.delivery.triggered"} {
		if got := run(t, x, rec, newEvent(t, typ, baseData(), nil)); len(got) != 0 {
			t.Fatalf("%s: notification mode must not emit, got %d", typ, len(got))
		}
	}
	b, _ := os.ReadFile(marker)
	if strings.Count(string(b), "\n") != 3 {
		t.Fatalf("scripts ran %q", b)
	}
}

func TestTestTriggeredTimes(t *testing.T) {
	x, res, rec := setup(t, Config{})
	res.Put("p", "dev", "svc", Dir+"test.triggered.sh", []byte(`echo done`))
	got := run(t, x, rec, newEvent(t, "sh.keptn.event.test.triggered", baseData(), nil))
	f := decode(t, got[1])
	test, _ := f.all["test"].(map[string]any)
	for _, k := range []string{"start", "end"} {
		s, _ := test[k].(string)
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			t.Errorf("data.test.%s = %v", k, test[k])
		}
	}
}

func TestDuplicateDeliveryAndBadEvents(t *testing.T) {
	x, res, rec := setup(t, Config{})
	res.Put("p", "dev", "svc", Dir+"deployment.triggered.sh", []byte("echo hi"))
	e := newEvent(t, "sh.keptn.event.deployment.triggered", baseData(), nil)
	run(t, x, rec, e)
	if got := run(t, x, rec, e); len(got) != 2 {
		t.Fatalf("redelivery must not run again: %d events", len(got))
	}
	if err := x.Handle(context.Background(), newEvent(t, "com.example.other", baseData(), nil)); err != nil {
		t.Fatalf("foreign event: %v", err)
	}
	bad := newEvent(t, "sh.keptn.event.deployment.triggered", nil, nil)
	_ = bad.SetData("application/json", []byte("[1,2]"))
	if err := x.Handle(context.Background(), bad); !errors.Is(err, executor.ErrMalformed) {
		t.Fatalf("want ErrMalformed, got %v", err)
	}
	if err := x.Handle(context.Background(), newEvent(t, "sh.keptn.event.a.b.c.d", baseData(), nil)); !errors.Is(err, executor.ErrMalformed) {
		t.Fatalf("want ErrMalformed for bad type, got %v", err)
	}
}

func TestHTTPFile(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var gotAuth, gotBody string
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		gotAuth, gotBody = r.Header.Get("Authorization"), string(b)
		mu.Unlock()
		switch r.URL.Path {
		case "/ok":
			io.WriteString(w, `{"echo":"`+r.Header.Get("Authorization")+`"}`)
		case "/redirect":
			http.Redirect(w, r, "http://169.254.169.254/", http.StatusFound)
		default:
			w.WriteHeader(500)
			io.WriteString(w, "boom")
		}
	}))
	s.Listener = l
	s.Start()
	defer s.Close()
	tests := map[string]struct {
		path   string
		allow  []string
		status keptn.Status
		result keptn.Result
		msg    string
	}{
		"2xx":             {"/ok", []string{"127.0.0.1"}, keptn.StatusSucceeded, keptn.ResultPass, `{"echo":"Bearer ***"}`},
		"500":             {"/fail", []string{"127.0.0.1"}, keptn.StatusSucceeded, keptn.ResultFail, "boom"},
		"denied host":     {"/ok", nil, keptn.StatusErrored, keptn.ResultFail, "denied"},
		"redirect denied": {"/redirect", []string{"127.0.0.1"}, keptn.StatusErrored, keptn.ResultFail, "denied"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			x, res, rec := setup(t, Config{Env: map[string]string{"TOKEN": "s3cr3t"}, HTTP: safehttp.Options{AllowHosts: tc.allow}})
			file := "POST " + s.URL + tc.path + "?project=${data.project}\nAuthorization: Bearer ${env.token}\nContent-Type: application/json\n\n{\"ctx\": \"${shkeptncontext}\"}\n"
			res.Put("p", "dev", "svc", Dir+"deployment.triggered.http", []byte(file))
			got := run(t, x, rec, newEvent(t, "sh.keptn.event.deployment.triggered", baseData(), nil))
			if len(got) != 2 {
				t.Fatalf("want 2 events, got %d", len(got))
			}
			f := decode(t, got[1])
			if f.Status != tc.status || f.Result != tc.result || !strings.Contains(f.Message, tc.msg) {
				t.Fatalf("finished %s/%s %q", f.Status, f.Result, f.Message)
			}
			if name == "2xx" {
				mu.Lock()
				defer mu.Unlock()
				if gotAuth != "Bearer s3cr3t" || gotBody != `{"ctx": "ctx-1"}` {
					t.Fatalf("request auth %q body %q", gotAuth, gotBody)
				}
				if dep, _ := f.all["deployment"].(map[string]any); dep["echo"] != "Bearer ***" {
					t.Fatalf("payload %v", f.all["deployment"])
				}
			}
		})
	}
}

// sharedDir is a temp dir a script's slot uid may use (the executor runs
// scripts on another uid as root): world-writable like /tmp, in a parent
// others may search.
func sharedDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Chmod(filepath.Dir(d), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o1777); err != nil {
		t.Fatal(err)
	}
	return d
}

// A script that finds a secret the executor holds (here by reading a file
// its uid may read) cannot report it: every held secret is redacted, and
// the executor's own environment and root-only files stay closed to it.
func TestScriptCannotReportHeldSecrets(t *testing.T) {
	dir := sharedDir(t)
	open := filepath.Join(dir, "readable")
	if err := os.WriteFile(open, []byte("held-secret-readable"), 0o644); err != nil {
		t.Fatal(err)
	}
	closed := filepath.Join(dir, "closed")
	if err := os.WriteFile(closed, []byte("held-secret-closed"), 0o600); err != nil {
		t.Fatal(err)
	}
	x, res, rec := setup(t, Config{Secrets: []string{"held-secret-readable", "held-secret-closed"}})
	res.Put("p", "dev", "svc", Dir+"deployment.triggered.sh", []byte(
		"cat "+open+"; echo; cat "+closed+" && echo READ-CLOSED; tr '\\0' '\\n' < /proc/$PPID/environ && echo READ-ENVIRON; true"))
	got := run(t, x, rec, newEvent(t, "sh.keptn.event.deployment.triggered", baseData(), nil))
	if len(got) != 2 {
		t.Fatalf("want 2 events, got %d", len(got))
	}
	msg := decode(t, got[1]).Message
	if strings.Contains(msg, "held-secret") || !strings.Contains(msg, "***") {
		t.Fatalf("held secret not redacted:\n%s", msg)
	}
	if os.Geteuid() == 0 && (strings.Contains(msg, "READ-CLOSED") || strings.Contains(msg, "READ-ENVIRON")) {
		t.Fatalf("script read the executor's files or environment:\n%s", msg)
	}
}
