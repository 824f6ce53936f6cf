package api

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/shared/secrets"
)

func newSecretsEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, Config{})
	key, err := secrets.LoadKey(filepath.Join(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	m, err := secrets.NewManager(e.store.Secrets(), key)
	if err != nil {
		t.Fatal(err)
	}
	e.h = New(Config{Tokens: []string{testToken}}, Deps{Store: e.store, Publisher: e.pub, Sequences: e.seq,
		Clock: e.clock.Now, Secrets: m})
	return e
}

func TestSecretsAPI(t *testing.T) {
	e := newSecretsEnv(t)
	const value = "s3cr3t-value"
	create := map[string]any{"name": "webhook-credentials", "scope": "keptn-webhook-service",
		"data": map[string]string{"token": value, "user": "me"}}

	w := e.do(t, "POST", secretPath, create)
	wantStatus(t, w, http.StatusCreated)
	if strings.Contains(w.Body.String(), value) {
		t.Fatalf("create echoed the value: %s", w.Body)
	}
	wantError(t, e.do(t, "POST", secretPath, create), http.StatusConflict, "already exists")
	wantStatus(t, e.do(t, "POST", secretPath, map[string]any{"name": "plain", "data": map[string]string{"k": "v"}}), http.StatusCreated)
	wantStatus(t, e.do(t, "POST", secretPath, map[string]any{"name": "bound", "project": "p1", "data": map[string]string{"k": "v"}}), http.StatusCreated)

	w = e.do(t, "GET", secretPath, nil)
	wantStatus(t, w, http.StatusOK)
	if strings.Contains(w.Body.String(), value) || strings.Contains(w.Body.String(), `"data"`) {
		t.Fatalf("list shows values: %s", w.Body)
	}
	type item struct {
		Name, Scope, Project string
		Keys                 []string
	}
	got := decode[struct{ Secrets []item }](t, w).Secrets
	want := []item{{"bound", "keptn-default", "p1", []string{"k"}}, {"plain", "keptn-default", "", []string{"k"}},
		{"webhook-credentials", "keptn-webhook-service", "", []string{"token", "user"}}}
	if len(got) != len(want) {
		t.Fatalf("list %+v", got)
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].Scope != want[i].Scope || got[i].Project != want[i].Project ||
			strings.Join(got[i].Keys, ",") != strings.Join(want[i].Keys, ",") {
			t.Fatalf("item %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	update := map[string]any{"name": "plain", "scope": "keptn-default", "data": map[string]string{"k2": "v2"}}
	wantStatus(t, e.do(t, "PUT", secretPath, update), http.StatusOK)
	update["name"] = "missing"
	wantError(t, e.do(t, "PUT", secretPath, update), http.StatusNotFound, "not found")

	wantError(t, e.do(t, "DELETE", secretPath+"?name=plain", nil), http.StatusBadRequest, "scope")
	wantError(t, e.do(t, "DELETE", secretPath+"?name=plain&scope=keptn-webhook-service", nil), http.StatusNotFound, "not found")
	wantStatus(t, e.do(t, "DELETE", secretPath+"?name=plain&scope=keptn-default", nil), http.StatusOK)
	wantError(t, e.do(t, "DELETE", secretPath+"?name=plain&scope=keptn-default", nil), http.StatusNotFound, "not found")

	scopes := decode[struct{ Scopes []string }](t, e.do(t, "GET", "/api/secrets/v1/scope", nil)).Scopes
	if strings.Join(scopes, ",") != "dynatrace-service,keptn-default,keptn-prometheus-service,keptn-webhook-service" {
		t.Fatalf("scopes %v", scopes)
	}

	// Deleting a project deletes the secrets bound to it.
	e.mkProject(t, "p1")
	wantStatus(t, e.do(t, "DELETE", "/api/controlPlane/v1/project/p1", nil), http.StatusOK)
	if got := decode[struct{ Secrets []item }](t, e.do(t, "GET", secretPath, nil)).Secrets; len(got) != 1 || got[0].Name != "webhook-credentials" {
		t.Fatalf("after project delete %+v", got)
	}
}

func TestSecretsAPIRefuses(t *testing.T) {
	e := newSecretsEnv(t)
	cases := map[string]struct {
		method, path string
		body         any
		status       int
		msg          string
	}{
		"bad name":     {"POST", secretPath, map[string]any{"name": "Bad_Name", "data": map[string]string{"k": "v"}}, 400, "name"},
		"no name":      {"POST", secretPath, map[string]any{"data": map[string]string{"k": "v"}}, 400, "name"},
		"bad key":      {"POST", secretPath, map[string]any{"name": "a", "data": map[string]string{"a/b": "v"}}, 400, "key"},
		"no data":      {"POST", secretPath, map[string]any{"name": "a"}, 400, "data"},
		"bad scope":    {"POST", secretPath, map[string]any{"name": "a", "scope": "A B", "data": map[string]string{"k": "v"}}, 400, "scope"},
		"unknown":      {"POST", secretPath, map[string]any{"name": "a", "x": 1, "data": map[string]string{"k": "v"}}, 400, "unknown field"},
		"not json":     {"POST", secretPath, "{", 400, "invalid request body"},
		"no name del":  {"DELETE", secretPath + "?scope=keptn-default", nil, 400, "name"},
		"wrong method": {"PATCH", secretPath, nil, 405, "not allowed"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			wantError(t, e.do(t, c.method, c.path, c.body), c.status, c.msg)
		})
	}
	// Without a token, nothing.
	wantStatus(t, e.do(t, "GET", secretPath, nil, "x-token", ""), http.StatusUnauthorized)
	// Without a manager the routes exist and answer 501.
	plain := newEnv(t, Config{})
	wantError(t, plain.do(t, "GET", secretPath, nil), http.StatusNotImplemented, "not configured")
}
