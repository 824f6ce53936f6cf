package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/safehttp"
)

// projectStore is a secrets API store as the executor sees it
// (secrets.Reader): values per project, nothing from a mounted directory.
type projectStore map[string]string // project/name/key -> value

func (p projectStore) Get(name, key string) (string, error) {
	return "", fmt.Errorf("secret %s: not mounted", name)
}

func (p projectStore) GetFor(_ context.Context, project, name, key string) (string, error) {
	if v, ok := p[project+"/"+name+"/"+key]; ok {
		return v, nil
	}
	return "", fmt.Errorf("secret %s key %s of project %s: not found", name, key, project)
}

// TestStoreSecretsRedacted: a secret resolved from the secrets API's store
// for this run (not a mounted file, not held by the executor at start) is
// redacted from what the webhook's target echoes, in every response shape
// and in a failure message.
func TestStoreSecretsRedacted(t *testing.T) {
	const value = "store-only-value-31337"
	cases := map[string]struct{ path, result string }{
		"json echo":         {"/json", "pass"},
		"text echo":         {"/text", "pass"},
		"echo across cut":   {"/long", "pass"},
		"echo in a failure": {"/fail", "fail"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s := newServer(t)
			res := &executor.MemResources{}
			rec := &recorder{}
			x := New(Options{HTTP: safehttp.Options{AllowHosts: []string{"127.0.0.1"}}, MaxResponse: 64}, res,
				projectStore{"p/my-secret/token": value}, rec, nil)
			t.Cleanup(x.Wait)
			res.Put("p", "dev", "svc", URI, config(hook("sh.keptn.event.webhook.triggered", "      sendFinished: true\n", s.URL+c.path)))
			handle(t, x, newEvent(t, "sh.keptn.event.webhook.triggered", ""))
			if got := s.got(); len(got) != 1 || !strings.Contains(got[0], value) {
				t.Fatalf("the target did not get the store's secret: %q", got)
			}
			f := rec.finished(t)
			if len(f) != 1 || f[0]["result"] != c.result {
				t.Fatalf("finished %v, want one with result %s", f, c.result)
			}
			for _, e := range rec.all() {
				raw, _ := json.Marshal(e)
				if strings.Contains(string(raw), value) || strings.Contains(string(raw), value[:12]) {
					t.Fatalf("%s holds the store's secret: %s", e.Type(), raw)
				}
			}
			if raw, _ := json.Marshal(f[0]); !strings.Contains(string(raw), "***") {
				t.Fatalf("nothing masked, so nothing was echoed: %s", raw)
			}
		})
	}
}
