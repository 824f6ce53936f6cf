package taskrunner

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// projectSecrets is a secrets API store as the runner sees it
// (secrets.Reader): per project, nothing mounted.
type projectSecrets map[string]string // project/name/key -> value

func (p projectSecrets) Get(name, key string) (string, error) {
	return "", fmt.Errorf("secret %s: not mounted", name)
}

func (p projectSecrets) GetFor(_ context.Context, project, name, key string) (string, error) {
	if v, ok := p[project+"/"+name+"/"+key]; ok {
		return v, nil
	}
	return "", fmt.Errorf("secret %s of project %s: not found", name, project)
}

// TestStoreSecretsRedacted: SECURE_DATA resolved from the secrets API's
// store for this run (a JSON object, as KLT's secrets often are) is masked
// whole and value by value in what the task prints, and no event the
// runner sends holds it.
func TestStoreSecretsRedacted(t *testing.T) {
	const apiKey, password = "store-api-key-8472", "store-pass-5521"
	code := "import os, json\nsd = os.environ['SECURE_DATA']\nprint('raw=' + sd)\nd = json.loads(sd)\nprint('key=' + d['apiKey'] + ' pw=' + d['db']['password'])\n"
	h := newHarness(t, map[string]string{
		"//task-definitions/echo.yaml": def("echo", "  python:\n    secureParameters: {secret: api-secret}\n    inline:\n      code: |\n"+indent(code, 8)+"\n"),
	}, func(_ *Config, d *Deps) {
		d.Secrets = projectSecrets{"sockshop/api-secret/SECURE_DATA": `{"apiKey":"` + apiKey + `","db":{"password":"` + password + `"}}`}
	})
	f := h.run(triggered(t, "echo", nil))
	f.want(t, "succeeded", "pass")
	out := f.def(t, "echo").Output
	if !strings.Contains(out, "key=*** pw=***") {
		t.Fatalf("the task's output is not masked as expected (did it get the secret?):\n%s", out)
	}
	for _, e := range h.sent.list() {
		raw, _ := json.Marshal(e)
		for _, v := range []string{apiKey, password} {
			if strings.Contains(string(raw), v) {
				t.Fatalf("%s holds a secret from the store: %s", e.Type(), raw)
			}
		}
	}
}
