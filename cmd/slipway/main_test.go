package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeAPI answers the few paths these tests need, as Slipway does.
func fakeAPI(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("x-token") != "tok" {
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"code":401,"message":"unauthenticated or invalid credentials"}`))
			return
		}
		switch r.Method + " " + r.URL.Path {
		case "POST /api/v1/auth":
		case "GET /api/v1/metadata":
			_, _ = w.Write([]byte(`{"keptnversion":"1.4.5","shipyardversion":"0.2.4","product":"slipway"}`))
		case "GET /api/controlPlane/v1/project":
			_, _ = w.Write([]byte(`{"projects":[{"projectName":"demo","stages":[{"stageName":"dev","services":[]}]}],"nextPageKey":"0","totalCount":1}`))
		default:
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"code":404,"message":"Project not found: nope"}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func invoke(t *testing.T, env environment, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb, env)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	srv := fakeAPI(t)
	vars := map[string]string{envURL: srv.URL, envToken: "tok"}
	env := environment{getenv: func(k string) string { return vars[k] }, configDir: t.TempDir()}
	for name, tc := range map[string]struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		"help":                 {args: nil, code: 0, stdout: "Exit codes: 0 success"},
		"get projects":         {args: []string{"get", "projects"}, code: 0, stdout: "demo  dev"},
		"get projects -o yaml": {args: []string{"get", "projects", "-o", "yaml"}, code: 0, stdout: "- projectName: demo\n"},
		"api error":            {args: []string{"get", "project", "nope"}, code: 1, stderr: "Error: Project not found: nope\n"},
		"api error no usage":   {args: []string{"delete", "project", "nope"}, code: 1, stderr: "Error: Project not found: nope\n"},
		"missing flag":         {args: []string{"create", "service", "carts"}, code: 2, stderr: `required flag(s) "project" not set`},
		"unknown flag":         {args: []string{"status", "--bogus"}, code: 2, stderr: "unknown flag: --bogus"},
		"unknown verb":         {args: []string{"deploy"}, code: 2, stderr: `unknown command "deploy"`},
		"bad output":           {args: []string{"get", "stages", "--project=demo", "-o", "xml"}, code: 2, stderr: `unknown output format "xml"`},
		"conflicting flags":    {args: []string{"trigger", "evaluation", "--project=p", "--stage=s", "--service=x", "--timeframe=5m", "--start=2026-01-01T00:00:00", "--end=2026-01-01T00:05:00"}, code: 2, stderr: "--timeframe and --end cannot be used together"},
		"bad result":           {args: []string{"finish", "--keptn-context=c", "--task=test", "--result=ok"}, code: 2, stderr: "--result must be pass, warning or fail"},
		"bad data path":        {args: []string{"trigger", "sequence", "x", "--project=p", "--stage=s", "--service=v", "--data=a..b=1"}, code: 2, stderr: `--data a..b: empty name in "a..b"`},
	} {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := invoke(t, env, tc.args...)
			if code != tc.code || !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
			}
			if tc.code == 2 && tc.args != nil && !strings.Contains(stderr, "Usage:") {
				t.Fatalf("usage error without usage: %q", stderr)
			}
			if tc.code == 1 && strings.Contains(stderr, "Usage:") {
				t.Fatalf("API error with usage: %q", stderr)
			}
		})
	}
}

func TestAuthStoresConfig(t *testing.T) {
	srv := fakeAPI(t)
	dir := t.TempDir()
	env := environment{getenv: func(string) string { return "" }, configDir: dir}
	if code, _, stderr := invoke(t, env, "status"); code != 1 || !strings.Contains(stderr, "not authenticated") {
		t.Fatalf("status before auth: %d %q", code, stderr)
	}
	if code, _, stderr := invoke(t, env, "auth", "--endpoint="+srv.URL, "--api-token=bad"); code != 1 ||
		!strings.Contains(stderr, "authentication was not successful: unauthenticated or invalid credentials") {
		t.Fatalf("auth with a bad token: %d %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "slipway", "config.yaml")); !os.IsNotExist(err) {
		t.Fatalf("a failed auth wrote the config: %v", err)
	}
	code, stdout, stderr := invoke(t, env, "auth", "--endpoint="+srv.URL, "--api-token=tok")
	if code != 0 || !strings.Contains(stdout, "Successfully authenticated against "+srv.URL+"/api") {
		t.Fatalf("auth: %d %q %q", code, stdout, stderr)
	}
	st, err := os.Stat(filepath.Join(dir, "slipway", "config.yaml"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("config: %v %v", st, err)
	}
	if code, stdout, _ := invoke(t, env, "status"); code != 0 || !strings.Contains(stdout, "API: slipway, Keptn API version 1.4.5") {
		t.Fatalf("status: %d %q", code, stdout)
	}
	if code, _, stderr := invoke(t, env, "auth", "--endpoint=ftp://x", "--api-token=tok"); code != 2 || !strings.Contains(stderr, "scheme must be http or https") {
		t.Fatalf("auth with ftp: %d %q", code, stderr)
	}
}

func TestSetPath(t *testing.T) {
	for name, tc := range map[string]struct {
		keys []string
		want string
		bad  bool
	}{
		"flat":        {keys: []string{"a=1"}, want: "map[a:1]"},
		"nested":      {keys: []string{"test.strategy=direct", "test.x=y"}, want: "map[test:map[strategy:direct x:y]]"},
		"value first": {keys: []string{"a=1", "a.b=2"}, bad: true},
		"empty part":  {keys: []string{".a=1"}, bad: true},
	} {
		t.Run(name, func(t *testing.T) {
			m := map[string]any{}
			var err error
			for _, kv := range tc.keys {
				k, v, _ := strings.Cut(kv, "=")
				if err = setPath(m, k, v); err != nil {
					break
				}
			}
			if tc.bad != (err != nil) {
				t.Fatalf("err = %v, want bad=%v", err, tc.bad)
			}
			if !tc.bad && fmt.Sprint(m) != tc.want {
				t.Fatalf("data = %v, want %s", m, tc.want)
			}
		})
	}
}
