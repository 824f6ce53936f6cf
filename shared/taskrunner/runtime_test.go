package taskrunner

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/shared/keptn"
)

const denoProbe = `
const out: Record<string, unknown> = {
  data: JSON.parse(Deno.env.get("DATA") ?? "null"),
  ctx: JSON.parse(Deno.env.get("KEPTN_CONTEXT") ?? "null"),
  script: Deno.env.get("SCRIPT"),
};
for (const name of ["HOME", "PATH", "SLIPWAY_TEST_SECRET", "DENO_DIR"]) {
  try { out[name] = Deno.env.get(name) ?? "unset"; } catch (e) { out[name] = "blocked:" + (e as Error).name; }
}
try { Deno.env.toObject(); out.all = "readable"; } catch (e) { out.all = "blocked:" + (e as Error).name; }
try { await Deno.readTextFile("/etc/hostname"); out.read = "allowed"; } catch (e) { out.read = "blocked:" + (e as Error).name; }
console.log("RESULT" + JSON.stringify(out));
`

const pythonProbe = `
import json, os, sys
print("RESULT" + json.dumps({
  "data": json.loads(os.environ.get("DATA", "null")),
  "ctx": json.loads(os.environ["KEPTN_CONTEXT"]),
  "script": os.environ.get("SCRIPT"),
  "env": sorted(os.environ.keys()),
  "argv": sys.argv[1:],
}))
`

// result extracts the RESULT{...} line a probe printed.
func result(t *testing.T, output string) map[string]any {
	t.Helper()
	i := strings.Index(output, "RESULT")
	if i < 0 {
		t.Fatalf("no RESULT in output:\n%s", output)
	}
	line := output[i+len("RESULT"):]
	if j := strings.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("RESULT %q: %v", line, err)
	}
	return m
}

func TestDenoRuntimeSandbox(t *testing.T) {
	needDeno(t)
	t.Setenv("SLIPWAY_TEST_SECRET", "runner-secret-value")
	h := newHarness(t, map[string]string{
		"//task-definitions/greet.yaml": def("greet", "  deno:\n    inline:\n      code: |\n"+indent(denoProbe, 8)+"\n    parameters:\n      map: {greeting: hello}\n"),
	})
	f := h.run(triggered(t, "greet", nil))
	f.want(t, keptn.StatusSucceeded, keptn.ResultPass)
	s := f.def(t, "greet")
	if s.Status != StateSucceeded || s.Attempts != 1 || s.Runtime != "deno" {
		t.Fatalf("status %+v", s)
	}
	m := result(t, s.Output)
	if d, _ := m["data"].(map[string]any); d["greeting"] != "hello" {
		t.Errorf("DATA = %v", m["data"])
	}
	ctx, _ := m["ctx"].(map[string]any)
	for k, want := range map[string]string{"project": "sockshop", "stage": "dev", "service": "carts", "keptnContext": "ctx-1234", "appName": "sockshop", "workloadName": "carts", "taskType": "greet", "task": "greet", "taskDefinition": "greet", "triggeredid": "trig-TestDenoRuntimeSandbox"} {
		if ctx[k] != want {
			t.Errorf("KEPTN_CONTEXT.%s = %v, want %s", k, ctx[k], want)
		}
	}
	for _, k := range []string{"HOME", "PATH", "SLIPWAY_TEST_SECRET", "DENO_DIR", "all", "read"} {
		if v, _ := m[k].(string); !strings.HasPrefix(v, "blocked:NotCapable") {
			t.Errorf("%s: %v, want blocked:NotCapable", k, m[k])
		}
	}
	if strings.Contains(s.Output, "runner-secret-value") {
		t.Error("runner env leaked into output")
	}
}

func TestPythonRuntimeEnvironment(t *testing.T) {
	t.Setenv("SLIPWAY_TEST_SECRET", "runner-secret-value")
	h := newHarness(t, map[string]string{
		"dev/carts/task-definitions/probe.yaml": def("probe", "  python:\n    inline:\n      code: |\n"+indent(pythonProbe+"\nprint('secure=' + os.environ['SECURE_DATA'])\n", 8)+"\n    secureParameters: {secret: tok}\n    cmdParameters: \"-v --flag\"\n"),
	})
	h.secret("tok", `{"token":"s3cr3t-token"}`)
	f := h.run(triggered(t, "probe", nil))
	f.want(t, keptn.StatusSucceeded, keptn.ResultPass)
	s := f.def(t, "probe")
	m := result(t, s.Output)
	allowed := map[string]bool{"PATH": true, "HOME": true, "LANG": true, "KEPTN_CONTEXT": true, "SECURE_DATA": true, "CMD_ARGS": true, "SCRIPT": true, "DATA": true}
	env, _ := m["env"].([]any)
	for _, k := range env {
		if !allowed[k.(string)] {
			t.Errorf("python sees %s", k)
		}
	}
	if m["data"] != nil {
		t.Errorf("DATA set without parameters: %v", m["data"])
	}
	if got := m["argv"].([]any); len(got) != 2 || got[0] != "-v" || got[1] != "--flag" {
		t.Errorf("argv = %v", got)
	}
	if strings.Contains(s.Output, "s3cr3t-token") || !strings.Contains(s.Output, "***") {
		t.Errorf("secure data not redacted:\n%s", s.Output)
	}
	if !strings.HasSuffix(m["script"].(string), "function.py") {
		t.Errorf("SCRIPT = %v", m["script"])
	}
}

// TestCodeSources runs every code source in both runtimes.
func TestCodeSources(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/probe.ts":
			_, _ = w.Write([]byte(denoProbe))
		case "/probe.py":
			_, _ = w.Write([]byte(pythonProbe))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	configMap := func(name, code string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata:\n  code: |\n" + indent(code, 4) + "\n"
	}
	for _, rt := range []struct{ runtime, probe, ext string }{{"deno", denoProbe, "ts"}, {"python", pythonProbe, "py"}} {
		tests := map[string]struct {
			files  map[string]string
			data   map[string]any // want DATA
			script string         // want SCRIPT suffix
		}{
			"inline": {
				files:  map[string]string{"//task-definitions/t.yaml": def("t", "  "+rt.runtime+":\n    inline:\n      code: |\n"+indent(rt.probe, 8)+"\n")},
				script: "function." + rt.ext,
			},
			"httpRef": {
				files:  map[string]string{"dev//task-definitions/t.yaml": def("t", "  "+rt.runtime+":\n    httpRef: {url: '"+srv.URL+"/probe."+rt.ext+"'}\n")},
				script: srv.URL + "/probe." + rt.ext,
			},
			"configMapRef in configmaps dir": {
				files: map[string]string{
					"//task-definitions/t.yaml":                       def("t", "  "+rt.runtime+":\n    configMapRef: {name: code}\n"),
					"dev/carts/task-definitions/configmaps/code.yaml": configMap("code", rt.probe),
				},
				script: "function." + rt.ext,
			},
			"configMapRef in same file": {
				files:  map[string]string{"//task-definitions/t.yaml": def("t", "  "+rt.runtime+":\n    configMapRef: {name: code}\n") + "---\n" + configMap("code", rt.probe)},
				script: "function." + rt.ext,
			},
			"functionRef": {
				files: map[string]string{
					"//task-definitions/t.yaml":      def("t", "  "+rt.runtime+":\n    functionRef: {name: parent}\n    parameters: {map: {a: child}}\n"),
					"//task-definitions/parent.yaml": def("parent", "  "+rt.runtime+":\n    inline:\n      code: |\n"+indent(rt.probe, 8)+"\n    parameters: {map: {a: parent, b: parent}}\n"),
				},
				data:   map[string]any{"a": "child", "b": "parent", "c": "task"},
				script: "function." + rt.ext,
			},
		}
		for name, tc := range tests {
			t.Run(rt.runtime+"/"+name, func(t *testing.T) {
				if rt.runtime == "deno" {
					needDeno(t)
				}
				h := newHarness(t, tc.files, func(c *Config, _ *Deps) { c.HTTPRefAllowHosts = []string{"127.0.0.1"} })
				f := h.run(triggered(t, "t", map[string]any{"parameters": map[string]any{"a": "task", "c": "task"}}))
				f.want(t, keptn.StatusSucceeded, keptn.ResultPass)
				m := result(t, f.def(t, "t").Output)
				want := tc.data
				if want == nil {
					want = map[string]any{"a": "task", "c": "task"}
				}
				got, _ := json.Marshal(m["data"])
				exp, _ := json.Marshal(want)
				if string(got) != string(exp) {
					t.Errorf("DATA = %s, want %s", got, exp)
				}
				if s, _ := m["script"].(string); !strings.HasSuffix(s, tc.script) {
					t.Errorf("SCRIPT = %q, want suffix %q", s, tc.script)
				}
			})
		}
	}
}

func TestHTTPRefFailureFailsTask(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/empty.py" {
			return
		}
		http.Error(w, "nope", http.StatusInternalServerError)
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	tests := map[string]string{
		"non-2xx":            srv.URL + "/missing.py",
		"empty body":         srv.URL + "/empty.py",
		"connection refused": closedURL + "/x.py",
	}
	for name, url := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, map[string]string{
				"//task-definitions/t.yaml": def("t", "  python:\n    httpRef: {url: '"+url+"'}\n  retries: 3\n"),
			}, func(c *Config, _ *Deps) { c.HTTPRefAllowHosts = []string{"127.0.0.1"} })
			f := h.run(triggered(t, "t", nil))
			f.want(t, keptn.StatusErrored, keptn.ResultFail)
			s := f.def(t, "t")
			if s.Status != StateFailed || s.Reason != ReasonCodeUnavailable || s.Attempts != 0 {
				t.Fatalf("status %+v", s)
			}
		})
	}
	t.Run("loopback denied without allow-list", func(t *testing.T) {
		h := newHarness(t, map[string]string{"//task-definitions/t.yaml": def("t", "  python:\n    httpRef: {url: '"+srv.URL+"/x.py'}\n")})
		f := h.run(triggered(t, "t", nil))
		f.want(t, keptn.StatusErrored, keptn.ResultFail)
		if s := f.def(t, "t"); s.Reason != ReasonCodeUnavailable || !strings.Contains(s.Message, "denied") {
			t.Fatalf("status %+v", s)
		}
	})
}

// counterScript fails until it has run `succeedAt` times (never when 0),
// counting in a file outside the per-attempt work dir.
func counterScript(counter string, succeedAt int) string {
	return "import sys\np = " + jsonString(counter) + "\ntry:\n    n = int(open(p).read())\nexcept FileNotFoundError:\n    n = 0\nn += 1\nopen(p, 'w').write(str(n))\nprint('attempt', n)\nsys.exit(0 if " + jsonString(succeedAt) + " and n >= " + jsonString(succeedAt) + " else 3)\n"
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestRetries(t *testing.T) {
	dir := t.TempDir()
	// The script (on a slot uid, as root) keeps its counter here.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	tests := map[string]struct {
		succeedAt, retries int
		status             keptn.Status
		result             keptn.Result
		state              State
		reason             string
		attempts           int
	}{
		"fails twice then succeeds": {succeedAt: 3, retries: 10, status: keptn.StatusSucceeded, result: keptn.ResultPass, state: StateSucceeded, attempts: 3},
		"always fails":              {succeedAt: 0, retries: 2, status: keptn.StatusSucceeded, result: keptn.ResultFail, state: StateFailed, reason: ReasonBackoffLimitExceeded, attempts: 3},
		"no retries":                {succeedAt: 0, retries: 0, status: keptn.StatusSucceeded, result: keptn.ResultFail, state: StateFailed, reason: ReasonBackoffLimitExceeded, attempts: 1},
		"success is not retried":    {succeedAt: 1, retries: 5, status: keptn.StatusSucceeded, result: keptn.ResultPass, state: StateSucceeded, attempts: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			counter := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			h := newHarness(t, map[string]string{
				"//task-definitions/t.yaml": def("t", "  python:\n    inline:\n      code: |\n"+indent(counterScript(counter, tc.succeedAt), 8)+"\n  retries: "+jsonString(tc.retries)+"\n"),
			}, func(c *Config, _ *Deps) { c.ScriptConcurrency = 1 }) // every attempt on one uid: it owns the counter
			f := h.run(triggered(t, "t", nil))
			f.want(t, tc.status, tc.result)
			s := f.def(t, "t")
			if s.Status != tc.state || s.Reason != tc.reason || s.Attempts != tc.attempts {
				t.Fatalf("status %+v", s)
			}
			b, _ := os.ReadFile(counter)
			if string(b) != jsonString(tc.attempts) {
				t.Fatalf("script ran %s times, want %d", b, tc.attempts)
			}
			if !strings.Contains(s.Output, "attempt "+jsonString(tc.attempts)) {
				t.Fatalf("output is not the last attempt's: %q", s.Output)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	h := newHarness(t, map[string]string{
		"//task-definitions/slow.yaml": def("slow", "  python:\n    inline:\n      code: |\n        import time\n        print('sleeping', flush=True)\n        time.sleep(60)\n  timeout: 300ms\n  retries: 5\n"),
	})
	f := h.run(triggered(t, "slow", nil))
	f.want(t, keptn.StatusErrored, keptn.ResultFail)
	s := f.def(t, "slow")
	if s.Status != StateFailed || s.Reason != ReasonDeadlineExceeded || s.Attempts != 1 {
		t.Fatalf("status %+v", s)
	}
	if !strings.Contains(s.Output, "sleeping") {
		t.Fatalf("output of the timed-out attempt is lost: %q", s.Output)
	}
}

func TestDenoFailureAndOutputCap(t *testing.T) {
	needDeno(t)
	h := newHarness(t, map[string]string{
		"//task-definitions/t.yaml": def("t", "  deno:\n    inline:\n      code: |\n        console.log(\"x\".repeat(100000));\n        throw new Error(\"boom\");\n  retries: 1\n"),
	}, func(c *Config, _ *Deps) { c.MaxOutput = 2048 })
	f := h.run(triggered(t, "t", nil))
	f.want(t, keptn.StatusSucceeded, keptn.ResultFail)
	s := f.def(t, "t")
	if s.Reason != ReasonBackoffLimitExceeded || s.Attempts != 2 || !s.OutputTruncated || len(s.Output) > 2300 || !strings.Contains(s.Output, "boom") {
		t.Fatalf("status %+v (output %d bytes)", s, len(s.Output))
	}
}

// TestSecretAtTheOutputCap prints the secure data so that it straddles the
// cap's head cut by every number of bytes: no part of it may reach the
// status (redacting after the cap let a prefix through).
func TestSecretAtTheOutputCap(t *testing.T) {
	const (
		secret = "SQCRZTVALUEXJK" // no byte in common with padding or marker
		max    = 64               // head 32
	)
	code := `
import json, os, sys
off = int(json.loads(os.environ["DATA"])["off"])
sys.stdout.write("." * off + os.environ["SECURE_DATA"] + "." * 100)
`
	files := map[string]string{}
	var names []any
	for off := max/2 - len(secret) + 1; off < max/2; off++ {
		n := fmt.Sprintf("cut-%d", off)
		names = append(names, n)
		files["//task-definitions/"+n+".yaml"] = def(n, fmt.Sprintf("  python:\n    inline:\n      code: |\n%s\n    parameters: {map: {off: \"%d\"}}\n    secureParameters: {secret: tok}\n", indent(code, 8), off))
	}
	h := newHarness(t, files, func(c *Config, _ *Deps) { c.MaxOutput = max })
	h.secret("tok", secret)
	f := h.run(triggered(t, "test", map[string]any{"taskDefinitions": names}))
	f.want(t, keptn.StatusSucceeded, keptn.ResultPass)
	for _, n := range names {
		s := f.def(t, n.(string))
		if !s.OutputTruncated || strings.ContainsAny(s.Output, secret) || !strings.Contains(s.Output, "*") {
			t.Errorf("%s: output %q (truncated %v)", n, s.Output, s.OutputTruncated)
		}
	}
}
