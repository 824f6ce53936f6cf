package taskrunner

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/shared/keptn"
)

// deno gets safehttp's policy: metadata and loopback are denied by deno
// itself (NotCapable), unless the allow-list re-opens an address.
func TestDenoNetPolicy(t *testing.T) {
	needDeno(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("reached")) }))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	port := host[strings.LastIndex(host, ":")+1:]
	code := `for (const u of ["http://169.254.169.254/latest/meta-data/", "` + srv.URL + `/", "http://localhost:` + port + `/"]) {
  try { const r = await fetch(u); console.log(u, "=>", await r.text()); }
  catch (e) { console.log(u, "=>", e.name); }
}`
	spec := "  deno:\n    inline:\n      code: |\n" + indent(code, 8) + "\n"
	for name, tc := range map[string]struct {
		allow []string
		want  []string
	}{
		"default denies metadata and loopback": {
			want: []string{"169.254.169.254/latest/meta-data/ => NotCapable", srv.URL + "/ => NotCapable", "localhost:" + port + "/ => NotCapable"},
		},
		"an allow-listed address is reachable": {
			allow: []string{host},
			want:  []string{"169.254.169.254/latest/meta-data/ => NotCapable", srv.URL + "/ => reached"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, map[string]string{"//task-definitions/net.yaml": def("net", spec)},
				func(c *Config, _ *Deps) { c.HTTPRefAllowHosts = tc.allow })
			f := h.run(triggered(t, "net", nil))
			f.want(t, keptn.StatusSucceeded, keptn.ResultPass)
			out := f.def(t, "net").Output
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tc.allow == nil && strings.Contains(out, "reached") {
				t.Fatalf("deno reached loopback:\n%s", out)
			}
		})
	}
}

// Every secret the runner holds is redacted from every task, whichever
// secret the task was given, and the runner's API token too.
func TestHeldSecretsRedacted(t *testing.T) {
	code := "print('other=other-project-secret token=runner-api-token')\n"
	h := newHarness(t, map[string]string{
		"//task-definitions/leak.yaml": def("leak", "  python:\n    inline:\n      code: |\n"+indent(code, 8)+"\n"),
	}, func(c *Config, _ *Deps) { c.APIToken = "runner-api-token" })
	h.secret("other", "other-project-secret")
	f := h.run(triggered(t, "leak", nil))
	f.want(t, keptn.StatusSucceeded, keptn.ResultPass)
	out := f.def(t, "leak").Output
	if strings.Contains(out, "other-project-secret") || strings.Contains(out, "runner-api-token") || !strings.Contains(out, "other=***") {
		t.Fatalf("held secrets not redacted:\n%s", out)
	}
}
