package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestSecretsAPIValuesRedacted: secrets created through Keptn's secrets API
// (the store, not mounted files) are in the redaction set of the executor
// that resolves them. A webhook whose endpoint echoes its Authorization
// header and a deno task that prints its SECURE_DATA both put the secret in
// their output, and no event in the history holds it.
func TestSecretsAPIValuesRedacted(t *testing.T) {
	deno := trRuntimes(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		// The echo: the secret comes back in the response body.
		_, _ = io.WriteString(w, `{"echo":"`+r.Header.Get("Authorization")+`"}`)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	s := start(t, "", "SLIPWAY_HTTP_ALLOW_HOSTS="+host, "SLIPWAY_DENO="+deno, "SLIPWAY_SECRETS_DIR=")

	hookSecret := "hook-" + uuid.NewString()
	taskSecret := "task-" + uuid.NewString()
	s.mustDo("POST", "/api/secrets/v1/secret", map[string]any{"name": "echo-hook", "scope": "keptn-webhook-service",
		"project": "red", "data": map[string]string{"token": hookSecret}}, nil, 201)
	s.mustDo("POST", "/api/secrets/v1/secret", map[string]any{"name": "echo-task", "scope": "keptn-default",
		"project": "red", "data": map[string]string{"SECURE_DATA": taskSecret}}, nil, 201)

	s.createProject("red", `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: red}
spec:
  stages:
    - name: dev
      sequences:
        - name: echo
          tasks:
            - name: hook
            - name: echotask
              properties:
                taskDefinitions: [echo-secret]
`, "carts")
	s.exResource("red", "", "", "webhook/webhook.yaml", `apiVersion: webhookconfig.keptn.sh/v1beta1
kind: WebhookConfig
metadata: {name: echo}
spec:
  webhooks:
    - type: sh.keptn.event.hook.triggered
      sendStarted: true
      sendFinished: true
      envFrom:
        - name: token
          secretRef: {name: echo-hook, key: token}
      requests:
        - url: http://`+host+`/echo
          method: POST
          headers:
            - key: Authorization
              value: "{{.env.token}}"
          payload: '{"t":"{{.env.token}}"}'
`)
	s.trUpload("red", "", map[string]string{"task-definitions/echo-secret.yaml": `apiVersion: lifecycle.keptn.sh/v1
kind: KeptnTaskDefinition
metadata: {name: echo-secret}
spec:
  deno:
    secureParameters: {secret: echo-task}
    inline:
      code: |
        console.log("secure: " + Deno.env.get("SECURE_DATA"));
`})

	kctx := s.trigger("red", "dev", "echo", "carts", nil)
	hook := s.exTaskEvent("red", kctx, "hook", "finished")
	if hook.Data["result"] != "pass" {
		t.Fatalf("hook.finished %v, want pass (the webhook resolved its secret)", hook.Data)
	}
	task := s.exTaskEvent("red", kctx, "echotask", "finished")
	if task.Data["result"] != "pass" {
		t.Fatalf("echotask.finished %v, want pass (the task resolved its secret)", task.Data)
	}
	// The secrets did go through the output, masked: the test bites.
	for _, e := range []ceEvent{hook, task} {
		raw, _ := json.Marshal(e.Data)
		if !strings.Contains(string(raw), "***") {
			t.Errorf("%s shows no masked value, so nothing was echoed: %s", e.Type, raw)
		}
	}
	s.waitState("red", kctx, "finished")
	s.secNoSecret("red", kctx, map[string]string{"webhook secret from the secrets API": hookSecret,
		"task secret from the secrets API": taskSecret})
}
