package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/uuid"
)

// secShipyard: one task per check.
const secShipyard = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: security}
spec:
  stages:
    - name: dev
      sequences:
        - name: dump
          tasks: [{name: dumper}]
        - name: escape
          tasks: [{name: escaper}]
        - name: net
          tasks:
            - name: netcheck
              properties:
                taskDefinitions: [net-probe]
`

// secNoSecret fails if any value appears in any event of the context.
func (s *slipway) secNoSecret(project, kctx string, values map[string]string) {
	s.t.Helper()
	evs := s.history(project, kctx, "")
	if len(evs) == 0 {
		s.t.Fatal("no events in the history")
	}
	for _, e := range evs {
		raw, _ := json.Marshal(e)
		for name, v := range values {
			if strings.Contains(string(raw), v) {
				s.t.Errorf("%s (%s) leaked into %s:\n%s", name, v, e.Type, raw)
			}
		}
	}
}

// A script that dumps its parent's environment and every file it can read
// under the secret directories produces no secret in any event: it runs on
// a uid of its own with the runtime non-dumpable, and whatever it finds of
// the secrets the executor holds is redacted.
func TestScriptCannotLeakSecrets(t *testing.T) {
	dataDir := t.TempDir()
	apiToken := "api-" + uuid.NewString()
	envSecret := "env-" + uuid.NewString()
	closedSecret := "closed-" + uuid.NewString()
	openSecret := "open-" + uuid.NewString()
	// Mounted Kubernetes Secrets are world-readable by default: one that
	// way, one private to the runtime's uid.
	secrets := filepath.Join(t.TempDir(), "secrets")
	for name, f := range map[string]struct {
		value     string
		dir, file os.FileMode
	}{
		"open-mount":   {openSecret, 0o755, 0o644},
		"closed-mount": {closedSecret, 0o700, 0o600},
	} {
		dir := filepath.Join(secrets, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "token"), []byte(f.value), f.file); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, f.dir); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{secrets, filepath.Dir(secrets), filepath.Dir(filepath.Dir(secrets))} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := start(t, dataDir, "SLIPWAY_API_TOKEN="+apiToken, "E2E_ENV_SECRET="+envSecret, "SLIPWAY_SECRETS_DIR="+secrets)
	s.createProject("sec", secShipyard, "carts")
	s.exResource("sec", "", "", "generic-executor/dumper.triggered.sh", `#!/usr/bin/env bash
echo "uid=$(id -u)"
echo "--- parent environ"
tr '\0' '\n' < /proc/$PPID/environ
echo "--- parent cmdline"; tr '\0' ' ' < /proc/$PPID/cmdline; echo
for d in `+secrets+` /var/run/secrets; do
  find "$d" -type f -readable 2>/dev/null | while read -r f; do echo "--- $f"; cat "$f"; echo; done
done
echo DUMP-DONE
`)
	kctx := s.trigger("sec", "dev", "dump", "carts", nil)
	fin := s.exTaskEvent("sec", kctx, "dumper", "finished")
	msg, _ := fin.Data["message"].(string)
	t.Logf("the script's report:\n%s", msg)
	if !strings.Contains(msg, "DUMP-DONE") || !strings.Contains(msg, "open-mount/token") {
		t.Fatalf("the script did not run through: %v", fin.Data)
	}
	if os.Geteuid() == 0 && strings.Contains(msg, "uid=0") {
		t.Errorf("the script ran as root:\n%s", msg)
	}
	// The open mount was read and masked; nothing else was readable.
	if !strings.Contains(msg, "***") {
		t.Errorf("the readable secret was not masked:\n%s", msg)
	}
	s.waitState("sec", kctx, "finished")
	s.secNoSecret("sec", kctx, map[string]string{"API token": apiToken, "runtime env secret": envSecret,
		"private secret file": closedSecret, "world-readable secret file": openSecret})
}

// A script's setsid child leaves its process group; abort and timeout kill
// it all the same.
func TestScriptEscapeDiesOnAbortAndTimeout(t *testing.T) {
	s := start(t, "", "SLIPWAY_SCRIPT_TIMEOUT=10m")
	s.createProject("esc", secShipyard, "carts")
	for name, abort := range map[string]bool{"abort": true, "timeout": false} {
		t.Run(name, func(t *testing.T) {
			marker := "slipway-e2e-escape-" + uuid.NewString()
			t.Cleanup(func() {
				for _, pid := range exProcsWith(marker) {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			})
			timeout := ""
			if !abort {
				timeout = "# slipway-timeout: 2s\n"
			}
			s.exResource("esc", "", "", "generic-executor/escaper.triggered.sh", "#!/usr/bin/env bash\n"+timeout+
				"setsid bash -c 'exec -a "+marker+" sleep 3600' < /dev/null > /dev/null 2>&1 &\nsleep 3600\n")
			kctx := s.trigger("esc", "dev", "escape", "carts", nil)
			s.exTaskEvent("esc", kctx, "escaper", "started")
			s.eventually("the escaped child runs", func() bool { return len(exProcsWith(marker)) > 0 })
			if abort {
				s.mustDo("POST", "/api/controlPlane/v1/sequence/esc/"+kctx+"/control", map[string]any{"state": "abort"}, nil, 200)
			}
			fin := s.exTaskEvent("esc", kctx, "escaper", "finished")
			if fin.Data["status"] != "errored" {
				t.Fatalf("escaper.finished %v", fin.Data)
			}
			s.eventually("the escaped child is gone", func() bool { return len(exProcsWith(marker)) == 0 })
		})
	}
}

// A deno task reaches neither the metadata address nor loopback: deno
// itself denies them (the same policy as the executors' HTTP client).
func TestDenoTaskNetworkDenied(t *testing.T) {
	deno := trRuntimes(t)
	s := start(t, "", "SLIPWAY_DENO="+deno)
	s.createProject("net", secShipyard, "carts")
	port := s.API[strings.LastIndex(s.API, ":")+1:]
	s.trUpload("net", "", map[string]string{"task-definitions/net-probe.yaml": `apiVersion: lifecycle.keptn.sh/v1
kind: KeptnTaskDefinition
metadata: {name: net-probe}
spec:
  deno:
    inline:
      code: |
        for (const u of ["http://169.254.169.254/computeMetadata/v1/", "http://127.0.0.1:` + port + `/health"]) {
          try { const r = await fetch(u); console.log(u + " REACHED " + r.status); }
          catch (e) { console.log(u + " DENIED " + e.name); }
        }
`})
	kctx := s.trigger("net", "dev", "net", "carts", nil)
	fin := s.trOneFromRunner("net", kctx, "sh.keptn.event.netcheck.finished")
	raw, _ := json.Marshal(fin.Data)
	for _, want := range []string{"169.254.169.254/computeMetadata/v1/ DENIED NotCapable", "127.0.0.1:" + port + "/health DENIED NotCapable"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("output lacks %q: %s", want, raw)
		}
	}
	if strings.Contains(string(raw), "REACHED") {
		t.Fatalf("deno reached a denied address: %s", raw)
	}
}

// The history ingest takes no client's event: not without its token, not
// with the API token.
func TestHistoryIngestRefusesClients(t *testing.T) {
	s := start(t, "")
	s.createProject("hist", secShipyard, "carts")
	ev := map[string]any{"specversion": "1.0", "id": uuid.NewString(), "source": "attacker", "type": "sh.keptn.event.dump.triggered",
		"data": map[string]any{"project": "hist", "stage": "dev", "service": "carts"}}
	body, _ := json.Marshal(ev)
	for name, hdr := range map[string]map[string]string{
		"no token":      {},
		"the API token": {"x-token": s.Token},
		"a guess":       {"X-Slipway-History-Token": "guess"},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", s.API+"/internal/history", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/cloudevents+json")
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var e struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&e)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || e.Code != http.StatusUnauthorized {
				t.Fatalf("status %d body %+v, want 401 with Keptn's error body", resp.StatusCode, e)
			}
		})
	}
	var out struct {
		Events []ceEvent `json:"events"`
	}
	s.mustDo("GET", "/api/mongodb-datastore/event?project=hist&source=attacker", nil, &out, 200)
	for _, e := range out.Events {
		if e.Source == "attacker" {
			t.Fatalf("a refused event is in the history: %+v", e)
		}
	}
}

// Names with shell or path characters never enter.
func TestNamesFollowKeptnRule(t *testing.T) {
	s := start(t, "")
	s.createProject("names", secShipyard, "carts")
	for _, name := range []string{"carts;id", "$(id)", "a`id`", `a"b`, "a'b", `a\b`, "ab\u202e", "Carts"} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			if code := s.do("POST", "/api/controlPlane/v1/project/names/service", map[string]any{"serviceName": name}, nil); code != 400 {
				t.Errorf("service %q: status %d, want 400", name, code)
			}
			ev := map[string]any{"type": "sh.keptn.event.dev.dump.triggered", "source": "e2e", "specversion": "1.0",
				"data": map[string]any{"project": "names", "stage": "dev", "service": name}}
			if code := s.do("POST", "/api/v1/event", ev, nil); code != 400 {
				t.Errorf("event for service %q: status %d, want 400", name, code)
			}
		})
	}
}
