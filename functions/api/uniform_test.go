package function

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/store/storeconn"
)

// TestStoresCarryIntegrations: whichever store the function opens, it has
// integrations and secrets for the API. The Firestore client dials lazily,
// so no emulator is needed to check the declaration.
func TestStoresCarryIntegrations(t *testing.T) {
	t.Setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:1")
	for name, cfg := range map[string]storeconn.Config{
		"embedded":  {StorePath: filepath.Join(t.TempDir(), "s.db")},
		"firestore": {FirestoreProject: "slipway-wiring-check"},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "embedded" {
				t.Setenv("FIRESTORE_EMULATOR_HOST", "")
			}
			st, err := storeconn.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if st.Integrations() == nil || st.Secrets() == nil {
				t.Fatalf("%s store: integrations %v, secrets %v", name, st.Integrations(), st.Secrets())
			}
		})
	}
}

// TestUniformThroughTheFunction registers an integration and pings it
// through the function's handler (UNIFORM_INTEGRATION_TTL read from the environment).
func TestUniformThroughTheFunction(t *testing.T) {
	t.Setenv("K_SINK", "http://127.0.0.1:1")
	t.Setenv("SLIPWAY_STORE_PATH", filepath.Join(t.TempDir(), "s.db"))
	t.Setenv("API_TOKENS", "t1")
	t.Setenv("FIRESTORE_PROJECT", "")
	t.Setenv("FIRESTORE_EMULATOR_HOST", "")
	t.Setenv("UNIFORM_INTEGRATION_TTL", "1h")
	f := New()
	if err := f.Start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	defer f.Stop(context.Background())
	srv := httptest.NewServer(http.HandlerFunc(f.Handle))
	defer srv.Close()
	client := &http.Client{Timeout: 10 * time.Second}
	call := func(method, path, body string) int {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("x-token", "t1")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	reg := `{"name":"echo","metadata":{"hostname":"n","kubernetesmetadata":{"namespace":"keptn"}}}`
	if code := call("POST", "/api/controlPlane/v1/uniform/registration", reg); code != http.StatusCreated {
		t.Fatalf("register: %d", code)
	}
	// The id is sha1("echo-keptn-n").
	if code := call("PUT", "/api/controlPlane/v1/uniform/registration/b96852a70a5e9ad6b61f5088c4a27c42e2da7b2b/ping", ""); code != http.StatusOK {
		t.Fatalf("ping: %d", code)
	}
	if code := call("PUT", "/api/controlPlane/v1/uniform/registration/unknown/ping", ""); code != http.StatusNotFound {
		t.Fatalf("ping of an unknown id: %d", code)
	}
}
