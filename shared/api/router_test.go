package api

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestRouting_ErrorsCarryKeptnBody(t *testing.T) {
	e := newEnv(t, Config{})
	for _, tc := range []struct {
		name, method, path string
		status             int
		msg                string
	}{
		{"unknown route", "GET", "/api/nope", http.StatusNotFound, "no route"},
		{"unknown root", "GET", "/", http.StatusNotFound, "no route"},
		{"wrong method", "PATCH", "/api/controlPlane/v1/project", http.StatusMethodNotAllowed, "not allowed"},
		{"delete on event", "DELETE", "/api/v1/event", http.StatusMethodNotAllowed, "not allowed"},
		{"dot segment", "GET", "/api/controlPlane/v1/project/../x", http.StatusBadRequest, "segments"},
		{"escaped dot segment", "GET", "/api/resource-service/v1/project/p/resource/%2e%2e/x", http.StatusBadRequest, "segments"},
		{"escaped slash dots", "GET", "/api/resource-service/v1/project/p/resource/a%2F..%2Fb", http.StatusBadRequest, "segments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, tc.method, tc.path, nil)
			wantError(t, w, tc.status, tc.msg)
			if tc.status == http.StatusMethodNotAllowed && w.Header().Get("Allow") == "" {
				t.Fatal("405 without Allow header")
			}
		})
	}
}

func TestPublicEndpoints(t *testing.T) {
	e := newEnv(t, Config{})
	for _, p := range []string{"/health", OpenAPIPath} {
		if w := e.do(t, "GET", p, nil, "x-token", ""); w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", p, w.Code, w.Body)
		}
	}
}

// TestOpenAPIMatchesRoutes fails when the router and the OpenAPI document
// disagree about any (method, path).
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t, Config{})
	w := e.do(t, "GET", OpenAPIPath, nil)
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	if strings.Contains(w.Body.String(), "<<") || strings.Contains(w.Body.String(), "x-resource") {
		t.Fatal("served document still has merge keys or template components")
	}
	param := regexp.MustCompile(`\{([A-Za-z]+)(\.\.\.)?\}`)
	var fromRoutes, fromDoc []string
	for _, rt := range e.h.(*api).routes {
		fromRoutes = append(fromRoutes, rt.method+" "+param.ReplaceAllString(rt.path, "{$1}"))
	}
	for p, ops := range doc.Paths {
		for m, op := range ops {
			switch m {
			case "get", "put", "post", "delete", "patch", "head", "options":
			default:
				continue
			}
			fromDoc = append(fromDoc, strings.ToUpper(m)+" "+p)
			if o, _ := op.(map[string]any); o["responses"] == nil {
				t.Errorf("%s %s has no responses", m, p)
			}
		}
	}
	sort.Strings(fromRoutes)
	sort.Strings(fromDoc)
	if strings.Join(fromRoutes, "\n") != strings.Join(fromDoc, "\n") {
		t.Fatalf("router and OpenAPI document differ:\nroutes:\n%s\n\ndocument:\n%s", strings.Join(fromRoutes, "\n"), strings.Join(fromDoc, "\n"))
	}
}

func TestHistoryIngestCanBeDisabled(t *testing.T) {
	e := newEnv(t, Config{DisableHistoryIngest: true})
	wantError(t, e.do(t, "POST", HistoryPath, "{}"), http.StatusNotFound, "no route")
}

func TestPanicBecomesKeptnError(t *testing.T) {
	e := newEnv(t, Config{})
	a := e.h.(*api)
	a.mux.Handle("GET /api/boom", a.wrap(route{"GET", "/api/boom", true, func(http.ResponseWriter, *http.Request) error { panic("boom") }}))
	wantError(t, e.do(t, "GET", "/api/boom", nil), http.StatusInternalServerError, "internal error")
}
