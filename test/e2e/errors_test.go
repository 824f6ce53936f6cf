package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Bad input gets Keptn's error body and the right status.
func TestBadInput(t *testing.T) {
	s := start(t, "")
	s.createProject("bad", twoStage, "carts")
	call := func(method, path, token, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, s.API+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("x-token", token)
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return res.StatusCode, m
	}
	big := `{"type":"sh.keptn.event.dev.delivery.triggered","source":"x","specversion":"1.0","data":{"project":"bad","stage":"dev","service":"carts","pad":"` +
		string(bytes.Repeat([]byte("x"), 70<<10)) + `"}}`
	// Ordered: the two bad-token cases go last, since failed logins use up
	// the client's allowance (1/s, burst 2) and then even good tokens get 429.
	tests := []struct {
		name                      string
		method, path, token, body string
		want                      int
	}{
		{"unknown project", "GET", "/api/controlPlane/v1/project/nope", s.Token, "", 404},
		{"unknown project executions", "GET", "/api/controlPlane/v1/sequence-execution?project=nope", s.Token, "", 404},
		{"invalid shipyard", "POST", "/api/controlPlane/v1/project", s.Token, `{"name":"x1","shipyard":"` + b64("apiVersion: spec.keptn.sh/0.1.0\nspec: {stages: []}") + `"}`, 400},
		{"malformed event", "POST", "/api/v1/event", s.Token, `{"type":`, 400},
		{"unknown type", "POST", "/api/v1/event", s.Token, `{"type":"hello","source":"x","specversion":"1.0","data":{}}`, 400},
		{"oversize event", "POST", "/api/v1/event", s.Token, big, 413},
		{"no token", "GET", "/api/controlPlane/v1/project", "", "", 401},
		{"wrong token", "GET", "/api/controlPlane/v1/project", "nope", "", 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(tc.method, tc.path, tc.token, tc.body)
			if code != tc.want && !(tc.want == 413 && code == 400) {
				t.Fatalf("status %d, want %d (body %v)", code, tc.want, body)
			}
			if body["code"] == nil || body["message"] == nil || body["message"] == "" {
				t.Fatalf("body %v is not a Keptn error body", body)
			}
		})
	}
}
