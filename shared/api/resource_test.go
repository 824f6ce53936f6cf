package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

const rs = "/api/resource-service/v1/project/p"

func TestResources_CRUDAtEveryLevel(t *testing.T) {
	e := newEnv(t, Config{})
	e.mkProject(t, "p", "carts")
	for _, lvl := range []string{rs, rs + "/stage/dev", rs + "/stage/dev/service/carts"} {
		t.Run(lvl, func(t *testing.T) {
			w := e.do(t, "POST", lvl+"/resource", map[string]any{"resources": []map[string]string{
				{"resourceURI": "generic-executor/deployment.triggered.sh", "resourceContent": b64("#!/bin/sh\necho hi\n")},
				{"resourceURI": "/slo.yaml", "resourceContent": b64("spec_version: '0.1.0'")},
			}})
			wantStatus(t, w, http.StatusCreated)
			if len(decode[map[string]string](t, w)["commitID"]) != 40 {
				t.Fatalf("commitID %s", w.Body)
			}
			// URL-escaped URI in the path.
			got := decode[resourceOut](t, e.do(t, "GET", lvl+"/resource/generic-executor%2Fdeployment.triggered.sh", nil))
			content, _ := base64.StdEncoding.DecodeString(got.ResourceContent)
			if got.ResourceURI != "generic-executor/deployment.triggered.sh" || string(content) != "#!/bin/sh\necho hi\n" || got.Metadata["version"] == "" {
				t.Fatalf("got %+v", got)
			}
			// Unescaped slashes work too.
			wantStatus(t, e.do(t, "GET", lvl+"/resource/generic-executor/deployment.triggered.sh", nil), 200)

			wantStatus(t, e.do(t, "PUT", lvl+"/resource/slo.yaml", map[string]string{"resourceContent": b64("v2")}), 200)
			got = decode[resourceOut](t, e.do(t, "GET", lvl+"/resource/slo.yaml", nil))
			if got.ResourceContent != b64("v2") {
				t.Fatalf("after PUT %+v", got)
			}
			wantStatus(t, e.do(t, "PUT", lvl+"/resource", map[string]any{"resources": []map[string]string{{"resourceURI": "new.txt", "resourceContent": b64("n")}}}), 200)

			list := decode[struct {
				Resources   []resourceOut `json:"resources"`
				NextPageKey string        `json:"nextPageKey"`
				TotalCount  int           `json:"totalCount"`
			}](t, e.do(t, "GET", lvl+"/resource?pageSize=2", nil))
			if list.TotalCount < 3 || len(list.Resources) != 2 || list.NextPageKey != "2" || list.Resources[0].ResourceContent != "" {
				t.Fatalf("list %+v", list)
			}
			wantStatus(t, e.do(t, "DELETE", lvl+"/resource/new.txt", nil), 200)
			wantError(t, e.do(t, "GET", lvl+"/resource/new.txt", nil), 404, "Resource not found")
			wantError(t, e.do(t, "DELETE", lvl+"/resource/new.txt", nil), 404, "Resource not found")
		})
	}
	// Levels are separate: the stage file is not the service file.
	w := e.do(t, "GET", rs+"/stage/hardening/resource/slo.yaml", nil)
	wantError(t, w, 404, "Resource not found")
}

func TestResources_BadInput(t *testing.T) {
	e := newEnv(t, Config{})
	e.mkProject(t, "p", "carts")
	post := func(uri, content string) map[string]any {
		return map[string]any{"resources": []map[string]string{{"resourceURI": uri, "resourceContent": content}}}
	}
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		msg                string
	}{
		{"traversal in body", "POST", rs + "/resource", post("../../etc/passwd", b64("x")), 400, "'..'"},
		{"traversal in middle", "POST", rs + "/resource", post("a/../b", b64("x")), 400, "'..'"},
		{"dot segment", "POST", rs + "/resource", post("a/./b", b64("x")), 400, "'.'"},
		{"empty segment", "POST", rs + "/resource", post("a//b", b64("x")), 400, "empty segments"},
		{"backslash", "POST", rs + "/resource", post(`a\..\b`, b64("x")), 400, "backslash"},
		{"nul", "POST", rs + "/resource", post("a\x00b", b64("x")), 400, "control"},
		{"empty uri", "POST", rs + "/resource", post("", b64("x")), 400, "empty"},
		{"not base64", "POST", rs + "/resource", post("a", "%%%"), 400, "base64"},
		{"no resources", "POST", rs + "/resource", map[string]any{"resources": []any{}}, 400, "must not be empty"},
		{"escaped traversal in path", "GET", rs + "/resource/..%2F..%2Fsecret", nil, 400, "segments"},
		{"encoded dots in path", "GET", rs + "/resource/%2E%2E/secret", nil, 400, "segments"},
		{"unknown project", "GET", "/api/resource-service/v1/project/x/resource/a", nil, 404, "Project not found"},
		{"unknown stage", "GET", rs + "/stage/qa/resource/a", nil, 404, "Stage not found"},
		{"unknown service", "POST", rs + "/stage/dev/service/nope/resource", post("a", b64("x")), 404, "Service not found"},
		{"delete shipyard", "DELETE", rs + "/resource/shipyard.yaml", nil, 400, "cannot be deleted"},
		{"invalid shipyard via resources", "PUT", rs + "/resource/shipyard.yaml", map[string]string{"resourceContent": b64("spec: [")}, 400, "Could not validate payload"},
		{"stage rename via resources", "POST", rs + "/resource", post("shipyard.yaml", b64(strings.Replace(testShipyard, "name: dev\n", "name: qa\n", 1))), 400, "stage name cannot be changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do(t, tc.method, tc.path, tc.body), tc.status, tc.msg)
		})
	}
	res, err := e.store.GetResource(context.Background(), "p", "", "", "shipyard.yaml")
	if err != nil || string(res.Content) != testShipyard {
		t.Fatal("shipyard changed by a refused write")
	}
}

func TestResources_ShipyardWriteUpdatesProject(t *testing.T) {
	e := newEnv(t, Config{})
	e.mkProject(t, "p")
	changed := strings.Replace(testShipyard, "name: shipyard-sockshop", "name: via-resource", 1)
	wantStatus(t, e.do(t, "PUT", rs+"/resource/shipyard.yaml", map[string]string{"resourceContent": b64(changed)}), 200)
	got := decode[expandedProject](t, e.do(t, "GET", "/api/controlPlane/v1/project/p", nil))
	if got.Shipyard != changed {
		t.Fatal("project shipyard not updated from the resource write")
	}
	res, _ := e.store.GetResource(context.Background(), "p", "", "", "shipyard.yaml")
	if string(res.Content) != changed {
		t.Fatal("resource not updated")
	}
}

func TestResources_Oversize(t *testing.T) {
	e := newEnv(t, Config{MaxBodyBytes: 2048})
	e.mkProject(t, "p")
	wantError(t, e.do(t, "PUT", rs+"/resource/big", map[string]string{"resourceContent": b64(strings.Repeat("x", 4096))}),
		http.StatusRequestEntityTooLarge, "larger than")
	e2 := newEnv(t, Config{})
	e2.mkProject(t, "p")
	wantError(t, e2.do(t, "PUT", rs+"/resource/big", map[string]string{"resourceContent": b64(strings.Repeat("x", 1<<20))}),
		http.StatusRequestEntityTooLarge, "larger than")
}

func TestCleanURI(t *testing.T) {
	for in, want := range map[string]string{"/a/b.sh": "a/b.sh", "shipyard.yaml": "shipyard.yaml", "a/..b/c..": "a/..b/c.."} {
		if got, err := cleanURI(in); err != nil || got != want {
			t.Fatalf("%q: %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "/", "..", "a/..", "./a", "a//b", "a\\b", "a\nb", strings.Repeat("a", 1025)} {
		if _, err := cleanURI(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}
