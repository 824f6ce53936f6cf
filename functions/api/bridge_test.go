package function

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// The api function serves the Bridge and the API page in front of the API,
// configured from the environment.
func TestFunctionServesBridge(t *testing.T) {
	t.Setenv("K_SINK", "http://127.0.0.1:1")
	t.Setenv("SLIPWAY_STORE_PATH", filepath.Join(t.TempDir(), "s.db"))
	t.Setenv("API_TOKENS", "t1")
	t.Setenv("FIRESTORE_PROJECT", "")
	t.Setenv("BASIC_AUTH_USERNAME", "keptn")
	t.Setenv("BASIC_AUTH_PASSWORD", "pw")
	t.Setenv("BRIDGE_READ_ONLY", "true")
	f := New()
	if err := f.Start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Stop(context.Background()) }()
	tests := map[string]struct {
		path  string
		auth  bool
		token bool
		code  int
		want  string
	}{
		"bridge needs basic auth": {"/bridge/", false, false, 401, "Sign in"},
		"bridge":                  {"/bridge/", true, false, 200, "read-only"},
		"api page":                {"/api/swagger-ui/", true, false, 200, "swagger-ui-bundle.js"},
		"openapi from the api":    {"/api/swagger-ui/swagger.yaml", false, false, 200, "openapi"},
		"api keeps its token":     {"/api/v1/metadata", true, false, 401, `"code":401`},
		"api with token":          {"/api/v1/metadata", false, true, 200, "keptnversion"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tc.path, nil)
			if tc.auth {
				req.SetBasicAuth("keptn", "pw")
			}
			if tc.token {
				req.Header.Set("x-token", "t1")
			}
			w := httptest.NewRecorder()
			f.Handle(w, req)
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.want) {
				t.Fatalf("GET %s = %d, want %d with %q\n%s", tc.path, w.Code, tc.code, tc.want, w.Body)
			}
		})
	}
}

func TestStartRefusesHalfBasicAuth(t *testing.T) {
	t.Setenv("K_SINK", "http://127.0.0.1:1")
	t.Setenv("SLIPWAY_STORE_PATH", filepath.Join(t.TempDir(), "s.db"))
	t.Setenv("API_TOKENS", "t1")
	t.Setenv("FIRESTORE_PROJECT", "")
	t.Setenv("BASIC_AUTH_USERNAME", "keptn")
	t.Setenv("BASIC_AUTH_PASSWORD", "")
	f := New()
	err := f.Start(context.Background(), nil)
	defer func() { _ = f.Stop(context.Background()) }()
	if err == nil || !strings.Contains(err.Error(), "BASIC_AUTH") {
		t.Fatalf("err = %v", err)
	}
}
