package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/shared/api/projectdoc"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/store"
)

func TestCreateProject(t *testing.T) {
	e := newEnv(t, Config{})
	w := e.do(t, "POST", "/api/controlPlane/v1/project", map[string]any{"name": "sockshop", "shipyard": b64(testShipyard),
		"gitCredentials": map[string]any{"remoteURL": "https://github.com/o/r", "user": "u",
			"https": map[string]any{"token": "SECRET-TOKEN", "insecureSkipTLS": true}}})
	wantStatus(t, w, http.StatusCreated)
	if w.Body.Len() != 0 {
		t.Fatalf("body %q", w.Body)
	}
	if got := strings.Join(e.pub.types(), ","); got != typeProjectCreateStarted+","+typeProjectCreateFinished {
		t.Fatalf("events %s", got)
	}
	fin := e.pub.last()
	if fin.Source() != keptn.ControlPlaneSource || !strings.Contains(string(fin.Data()), `"createdProject"`) {
		t.Fatalf("finished event %s", fin)
	}
	res, err := e.store.GetResource(context.Background(), "sockshop", "", "", "shipyard.yaml")
	if err != nil || string(res.Content) != testShipyard {
		t.Fatalf("shipyard resource: %v", err)
	}
	p, err := e.store.GetProject(context.Background(), "sockshop")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(p.Body), "SECRET-TOKEN") {
		t.Fatal("git token stored")
	}

	got := decode[expandedProject](t, e.do(t, "GET", "/api/controlPlane/v1/project/sockshop", nil))
	if got.ProjectName != "sockshop" || got.Shipyard != testShipyard || got.ShipyardVersion != "spec.keptn.sh/0.2.3" ||
		got.CreationDate != fmt.Sprint(t0.UnixNano()) || got.GitCredentials.RemoteURL != "https://github.com/o/r" ||
		!got.GitCredentials.HTTPS.InsecureSkipTLS {
		t.Fatalf("project %+v", got)
	}
	var names []string
	for _, s := range got.Stages {
		names = append(names, s.StageName+"<"+strings.Join(s.ParentStages, ","))
	}
	if strings.Join(names, " ") != "dev< hardening<dev production<hardening" {
		t.Fatalf("stages %v", names)
	}
	wantError(t, e.do(t, "POST", "/api/controlPlane/v1/project", map[string]any{"name": "sockshop", "shipyard": b64(testShipyard)}),
		http.StatusConflict, "already exists")
}

func TestCreateProject_BadInput(t *testing.T) {
	noStages := "apiVersion: spec.keptn.sh/0.2.3\nkind: Shipyard\nspec:\n  stages: []\n"
	for _, tc := range []struct {
		name string
		body any
		msg  string
	}{
		{"invalid shipyard yaml", map[string]any{"name": "p", "shipyard": b64("spec: [")}, "Could not validate payload"},
		{"no stages", map[string]any{"name": "p", "shipyard": b64(noStages)}, "at least one stage"},
		{"old apiVersion", map[string]any{"name": "p", "shipyard": b64(strings.Replace(testShipyard, "0.2.3", "0.1.7", 1))}, "APIVersion"},
		{"bad stage name", map[string]any{"name": "p", "shipyard": b64(strings.Replace(testShipyard, "name: dev\n", "name: Dev\n", 1))}, "spec.stages[0].name"},
		{"shipyard not base64", map[string]any{"name": "p", "shipyard": "%%%"}, "base64"},
		{"missing shipyard", map[string]any{"name": "p"}, "shipyard must not be empty"},
		{"missing name", map[string]any{"shipyard": b64(testShipyard)}, "project name must not be empty"},
		{"bad name", map[string]any{"name": "My_Project", "shipyard": b64(testShipyard)}, "project name"},
		{"too long name", map[string]any{"name": strings.Repeat("a", 201), "shipyard": b64(testShipyard)}, "200"},
		{"unknown field", map[string]any{"name": "p", "shipyard": b64(testShipyard), "gitRemoteURL": "x"}, "unknown field"},
		{"bad remote", map[string]any{"name": "p", "shipyard": b64(testShipyard), "gitCredentials": map[string]any{"remoteURL": "ftp://x"}}, "remoteURL"},
		{"https and ssh", map[string]any{"name": "p", "shipyard": b64(testShipyard), "gitCredentials": map[string]any{
			"remoteURL": "https://x", "https": map[string]any{}, "ssh": map[string]any{"privateKey": b64("k")}}}, "mutually exclusive"},
		{"not json", "{", "Could not validate payload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			wantError(t, e.do(t, "POST", "/api/controlPlane/v1/project", tc.body), http.StatusBadRequest, tc.msg)
			if _, err := e.store.GetProject(context.Background(), "p"); err == nil {
				t.Fatal("project created")
			}
		})
	}
}

func TestCreateProject_OversizeBody(t *testing.T) {
	e := newEnv(t, Config{MaxBodyBytes: 1024})
	wantError(t, e.do(t, "POST", "/api/controlPlane/v1/project", map[string]any{"name": "p", "shipyard": strings.Repeat("A", 2048)}),
		http.StatusRequestEntityTooLarge, "larger than 1024")
}

func TestUpdateProject(t *testing.T) {
	e := newEnv(t, Config{})
	e.mkProject(t, "p", "carts")
	reordered := strings.Replace(testShipyard, "name: shipyard-sockshop", "name: changed", 1)
	wantStatus(t, e.do(t, "PUT", "/api/controlPlane/v1/project", map[string]any{"name": "p", "shipyard": b64(reordered)}), http.StatusCreated)
	got := decode[expandedProject](t, e.do(t, "GET", "/api/controlPlane/v1/project/p", nil))
	if got.Shipyard != reordered || len(got.Stages[1].Services) != 1 {
		t.Fatalf("after update %+v", got)
	}
	res, _ := e.store.GetResource(context.Background(), "p", "", "", "shipyard.yaml")
	if string(res.Content) != reordered {
		t.Fatal("shipyard resource not updated")
	}
	renamed := strings.Replace(testShipyard, "name: hardening\n", "name: staging\n", 1)
	wantError(t, e.do(t, "PUT", "/api/controlPlane/v1/project", map[string]any{"name": "p", "shipyard": b64(renamed)}),
		http.StatusBadRequest, "stage name cannot be changed or removed")
	wantError(t, e.do(t, "PUT", "/api/controlPlane/v1/project", map[string]any{"name": "nope", "shipyard": b64(testShipyard)}),
		http.StatusNotFound, "Project not found: nope")
	wantError(t, e.do(t, "PUT", "/api/controlPlane/v1/project", map[string]any{"name": "p", "shipyard": b64("kind: [")}),
		http.StatusBadRequest, "Could not validate payload")
}

func TestListProjects_Pagination(t *testing.T) {
	e := newEnv(t, Config{})
	for _, n := range []string{"delta", "alpha", "charlie", "bravo", "echo"} {
		e.mkProject(t, n)
	}
	type page struct {
		Projects    []expandedProject `json:"projects"`
		NextPageKey string            `json:"nextPageKey"`
		TotalCount  int               `json:"totalCount"`
	}
	var names []string
	key := ""
	for i := 0; i < 5; i++ {
		p := decode[page](t, e.do(t, "GET", "/api/controlPlane/v1/project?pageSize=2&nextPageKey="+key, nil))
		if p.TotalCount != 5 {
			t.Fatalf("totalCount %d", p.TotalCount)
		}
		for _, x := range p.Projects {
			names = append(names, x.ProjectName)
		}
		if key = p.NextPageKey; key == "0" {
			break
		}
	}
	if strings.Join(names, ",") != "alpha,bravo,charlie,delta,echo" {
		t.Fatalf("names %v", names)
	}
	p := decode[page](t, e.do(t, "GET", "/api/controlPlane/v1/project", nil))
	if len(p.Projects) != 5 || p.NextPageKey != "0" {
		t.Fatalf("default page: %d %s", len(p.Projects), p.NextPageKey)
	}
	wantError(t, e.do(t, "GET", "/api/controlPlane/v1/project?pageSize=x", nil), 400, "pageSize")
	wantError(t, e.do(t, "GET", "/api/controlPlane/v1/project?nextPageKey=-1", nil), 400, "nextPageKey")
}

func TestDeleteProject(t *testing.T) {
	e := newEnv(t, Config{})
	e.mkProject(t, "p", "carts")
	w := e.do(t, "DELETE", "/api/controlPlane/v1/project/p", nil)
	wantStatus(t, w, 200)
	if decode[map[string]string](t, w)["message"] == "" {
		t.Fatal("no message")
	}
	if e.pub.last().Type() != typeProjectDeleteFinished {
		t.Fatalf("last event %s", e.pub.last().Type())
	}
	wantError(t, e.do(t, "GET", "/api/controlPlane/v1/project/p", nil), 404, "Project not found: p")
	wantError(t, e.do(t, "DELETE", "/api/controlPlane/v1/project/p", nil), 404, "Project not found")
	if _, err := e.store.GetResource(context.Background(), "p", "", "", "shipyard.yaml"); err == nil {
		t.Fatal("resources survived project deletion")
	}
}

func TestStagesAndServices(t *testing.T) {
	e := newEnv(t, Config{})
	e.mkProject(t, "p", "carts", "api", "web")
	e.clock.Add(1)

	stages := decode[struct {
		Stages      []expandedStage `json:"stages"`
		NextPageKey string          `json:"nextPageKey"`
		TotalCount  int             `json:"totalCount"`
	}](t, e.do(t, "GET", "/api/controlPlane/v1/project/p/stage?pageSize=2", nil))
	if len(stages.Stages) != 2 || stages.Stages[0].StageName != "dev" || stages.NextPageKey != "2" || stages.TotalCount != 3 {
		t.Fatalf("stages %+v", stages)
	}
	st := decode[expandedStage](t, e.do(t, "GET", "/api/controlPlane/v1/project/p/stage/production", nil))
	if st.StageName != "production" || len(st.Services) != 3 {
		t.Fatalf("stage %+v", st)
	}
	svcs := decode[struct {
		Services []expandedService `json:"services"`
	}](t, e.do(t, "GET", "/api/controlPlane/v1/project/p/stage/dev/service", nil))
	var names []string
	for _, s := range svcs.Services {
		names = append(names, s.ServiceName)
	}
	if strings.Join(names, ",") != "api,carts,web" {
		t.Fatalf("services %v (want sorted)", names)
	}
	svc := decode[expandedService](t, e.do(t, "GET", "/api/controlPlane/v1/project/p/stage/hardening/service/carts", nil))
	if svc.ServiceName != "carts" || svc.CreationDate != fmt.Sprint(t0.UnixNano()) || svc.LastEventTypes == nil {
		t.Fatalf("service %+v", svc)
	}

	for _, tc := range []struct{ name, path, msg string }{
		{"unknown project", "/api/controlPlane/v1/project/x/stage", "Project not found: x"},
		{"unknown stage", "/api/controlPlane/v1/project/p/stage/qa", "Stage not found: qa"},
		{"unknown stage services", "/api/controlPlane/v1/project/p/stage/qa/service", "Stage not found"},
		{"unknown service", "/api/controlPlane/v1/project/p/stage/dev/service/nope", "Service not found: nope"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantError(t, e.do(t, "GET", tc.path, nil), 404, tc.msg) })
	}
}

func TestCreateService_Rules(t *testing.T) {
	const rule = "must start with a lower case letter" // Keptn's name rule
	e := newEnv(t, Config{})
	e.mkProject(t, "p", "carts")
	for _, tc := range []struct {
		name, svc string
		status    int
		msg       string
	}{
		{"ok", "orders-v2", 200, ""},
		{"43 chars ok", strings.Repeat("a", 43), 200, ""},
		{"44 chars", strings.Repeat("a", 44), 400, "43"},
		{"empty", "", 400, rule},
		{"dot", ".", 400, rule},
		{"dotdot", "..", 400, rule},
		{"slash", "a/b", 400, rule},
		{"pipe", "a|b", 400, rule},
		{"amp", "a&b", 400, rule},
		{"colon", "a:b", 400, rule},
		{"blank", "a b", 400, rule},
		{"backslash", `a\b`, 400, rule},
		{"dollar", "a$b", 400, rule},
		{"semicolon", "a;b", 400, rule},
		{"quote", "a'b", 400, rule},
		{"double quote", `a"b`, 400, rule},
		{"backtick", "a`b", 400, rule},
		{"bidi control", "ab\u202e", 400, rule},
		{"unicode", "cärts", 400, rule},
		{"upper case", "Carts", 400, rule},
		{"trailing dash", "carts-", 400, rule},
		{"exists", "carts", 409, "already exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, "POST", "/api/controlPlane/v1/project/p/service", map[string]any{"serviceName": tc.svc})
			if tc.status == 200 {
				wantStatus(t, w, 200)
				if decode[map[string]string](t, w)["message"] != "" {
					t.Fatalf("body %s", w.Body)
				}
				return
			}
			wantError(t, w, tc.status, tc.msg)
		})
	}
	wantError(t, e.do(t, "POST", "/api/controlPlane/v1/project/nope/service", map[string]any{"serviceName": "x"}), 404, "Project not found")
	e2 := newEnv(t, Config{})
	e2.mkProject(t, "p")
	e2.pub.events = nil
	wantStatus(t, e2.do(t, "POST", "/api/controlPlane/v1/project/p/service", map[string]any{"serviceName": "s"}), 200)
	if got := strings.Join(e2.pub.types(), ","); got != typeServiceCreateStarted+","+typeServiceCreateFinished {
		t.Fatalf("events %s", got)
	}
}

func TestDeleteService(t *testing.T) {
	e := newEnv(t, Config{})
	e.mkProject(t, "p", "carts", "web")
	ctx := context.Background()
	for _, st := range []string{"dev", "production"} {
		if err := e.store.PutResource(ctx, &store.Resource{Project: "p", Stage: st, Service: "carts", URI: "a/b.sh", Content: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	e.pub.events = nil
	w := e.do(t, "DELETE", "/api/controlPlane/v1/project/p/service/carts", nil)
	wantStatus(t, w, 200)
	if got := strings.Join(e.pub.types(), ","); got != typeServiceDeleteStarted+","+typeServiceDeleteFinished {
		t.Fatalf("events %s", got)
	}
	for _, st := range []string{"dev", "hardening", "production"} {
		wantError(t, e.do(t, "GET", "/api/controlPlane/v1/project/p/stage/"+st+"/service/carts", nil), 404, "Service not found")
		if rs, _, _ := e.store.ListResources(ctx, "p", st, "carts", store.Page{}); len(rs) != 0 {
			t.Fatalf("resources of deleted service left in %s", st)
		}
	}
	wantStatus(t, e.do(t, "GET", "/api/controlPlane/v1/project/p/stage/dev/service/web", nil), 200)
	wantError(t, e.do(t, "DELETE", "/api/controlPlane/v1/project/p/service/carts", nil), 404, "Service not found")
	wantError(t, e.do(t, "DELETE", "/api/controlPlane/v1/project/x/service/carts", nil), 404, "Project not found")
}

func TestProjectDoc_RoundTrip(t *testing.T) {
	e := newEnv(t, Config{})
	e.mkProject(t, "p", "carts")
	p, err := e.store.GetProject(context.Background(), "p")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := projectdoc.Decode(p)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Stage("dev").Service("carts") == nil || doc.Stage("qa") != nil {
		t.Fatalf("doc %+v", doc)
	}
	raw, _ := json.Marshal(doc)
	if !strings.Contains(string(raw), `"shipyard"`) {
		t.Fatal(string(raw))
	}
}
