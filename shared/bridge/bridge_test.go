package bridge

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

const testShipyard = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: demo}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          tasks: [{name: deployment}, {name: test}, {name: approval, properties: {pass: manual, warning: manual}}, {name: release}]
    - name: prod
      sequences:
        - name: delivery
          triggeredOn: [{event: dev.delivery.finished}]
          tasks: [{name: deployment}]
`

func image(tag string) map[string]any {
	return map[string]any{"configurationChange": map[string]any{"values": map[string]any{"image": "docker.io/carts:" + tag}}}
}

func TestPages(t *testing.T) {
	s := newStack(t, Config{})
	s.createProject("demo", testShipyard, "carts", "orders")
	done := s.trigger("demo", "dev", "delivery", "carts", image("1.0"))
	for _, task := range []string{"deployment", "test"} {
		s.finish(s.open("demo", task, done), "my-executor", "pass")
	}
	s.finish(s.open("demo", "approval", done), "approver", "pass")
	s.finish(s.open("demo", "release", done), "my-executor", "pass")
	s.finish(s.open("demo", "deployment", done), "prod-deployer", "pass")
	running := s.trigger("demo", "dev", "delivery", "orders", image("2.0"))
	seq := "/bridge/project/demo/sequence/"
	tests := map[string]struct {
		path   string
		status int
		want   []string
	}{
		"projects":             {"/bridge/", 200, []string{`href="/bridge/project/demo"`, "dev → prod", "carts, orders"}},
		"bare bridge":          {"/bridge", 301, nil},
		"environment":          {"/bridge/project/demo", 200, []string{"docker.io/carts:1.0", "stage-prod", `data-live=`}},
		"environment image":    {"/bridge/project/demo", 200, []string{"docker.io/carts:2.0"}},
		"sequence list":        {"/bridge/project/demo/sequence", 200, []string{done[:8], running[:8], "prod"}},
		"list by service":      {"/bridge/project/demo/sequence?service=orders", 200, []string{running[:8]}},
		"list by state":        {"/bridge/project/demo/sequence?state=finished&stage=prod", 200, []string{done[:8]}},
		"list bad state":       {"/bridge/project/demo/sequence?state=bogus", 400, []string{"state must be one of"}},
		"list bad name":        {"/bridge/project/demo/sequence?service=a%2Fb", 400, []string{"not a valid service"}},
		"deep link":            {seq + done, 200, []string{"my-executor", "prod-deployer", "approver", "sh.keptn.event.deployment.finished", "Copy event JSON", `class="gantt"`}},
		"finished not live":    {seq + done, 200, []string{"st-finished", `class="pill pass">result pass`}},
		"stage deep link":      {seq + done + "/stage/prod", 200, []string{"prod-deployer", `aria-current="page">prod`}},
		"event deep link":      {seq + done + "/event/abc-1", 200, []string{`data-id="abc-1"`}},
		"running is live":      {seq + running, 200, []string{`data-live="1000"`, "Send deployment.finished", `value="abort"`}},
		"service page":         {"/bridge/project/demo/service/carts", 200, []string{`class="chart"`, "docker.io/carts:1.0", done[:8]}},
		"unknown project":      {"/bridge/project/nope", 404, []string{"404"}},
		"unknown project list": {"/bridge/project/nope/sequence", 404, nil},
		"trace link":           {"/bridge/trace/" + done, 302, nil},
		"trace link, stage":    {"/bridge/trace/" + done + "/prod", 302, nil},
		"trace unknown":        {"/bridge/trace/6f2a4c1e-5b0d-4f43-9a53-1c9e8e0b7d21", 404, []string{"No sequence has"}},
		"trace malformed":      {"/bridge/trace/x", 400, nil},
		"service context link": {"/bridge/project/demo/service/carts/context/" + done + "/stage/dev", 302, nil},
		"unknown project link": {"/bridge/project/nope/sequence/6f2a4c1e-5b0d-4f43-9a53-1c9e8e0b7d21", 404, []string{"project not found"}},
		"unknown context":      {seq + "6f2a4c1e-5b0d-4f43-9a53-1c9e8e0b7d21", 404, []string{"has no sequence"}},
		"malformed context":    {seq + "not-a-uuid", 400, []string{"is not a keptnContext"}},
		"malformed project":    {"/bridge/project/a.b", 400, []string{"not a valid project"}},
		"unknown stage":        {seq + done + "/stage/hardening", 404, []string{"has not run in stage"}},
		"unknown service":      {"/bridge/project/demo/service/nope", 404, nil},
		"unknown page":         {"/bridge/nothing/here", 404, []string{"Page not found"}},
		"get on an action":     {seq + done + "/control", 405, []string{"Method not allowed"}},
		"api page":             {"/api/swagger-ui/", 200, []string{"swagger-ui-bundle.js", "swagger-init.js"}},
		"api page bare":        {"/api/swagger-ui", 301, nil},
		"swagger bundle":       {"/api/swagger-ui/swagger-ui-bundle.js", 200, []string{"SwaggerUIBundle"}},
		"swagger css":          {"/api/swagger-ui/swagger-ui.css", 200, []string{".swagger-ui"}},
		"openapi from the api": {"/api/swagger-ui/swagger.yaml", 200, []string{"openapi:"}},
		"no directory listing": {"/api/swagger-ui/nothing.js", 404, nil},
		"static asset":         {"/bridge/static/bridge.js", 200, []string{"data-live"}},
		"api still served":     {"/api/v1/metadata", 401, []string{`"code":401`}},
	}
	redirects := map[string]string{
		"trace link":           "/bridge/project/demo/sequence/" + done,
		"trace link, stage":    "/bridge/project/demo/sequence/" + done + "/stage/prod",
		"service context link": "/bridge/project/demo/sequence/" + done + "/stage/dev",
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := s.call("GET", tc.path, nil, nil)
			if to, ok := redirects[name]; ok && w.Header().Get("Location") != to {
				t.Fatalf("GET %s redirects to %q, want %q", tc.path, w.Header().Get("Location"), to)
			}
			if w.Code != tc.status {
				t.Fatalf("GET %s = %d, want %d\n%s", tc.path, w.Code, tc.status, w.Body)
			}
			for _, want := range tc.want {
				if !strings.Contains(w.Body.String(), want) {
					t.Errorf("GET %s: body lacks %q", tc.path, want)
				}
			}
		})
	}
	if w := s.call("GET", "/bridge/", nil, nil); !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("no CSP on pages: %v", w.Header())
	}
}

func TestActions(t *testing.T) {
	s := newStack(t, Config{})
	s.createProject("demo", testShipyard, "carts")
	kctx := s.trigger("demo", "dev", "delivery", "carts", image("1.0"))
	base := "/bridge/project/demo/sequence/" + kctx

	// A stuck task, finished from the Bridge with a result and a reason.
	dep := s.open("demo", "deployment", kctx)
	w := s.post(base+"/finish", url.Values{"stage": {"dev"}, "task": {"deployment"}, "triggeredid": {dep.ID},
		"result": {"warning"}, "status": {"succeeded"}, "message": {"finished by hand"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != base+"?done=finished" {
		t.Fatalf("finish = %d %s %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	if s.open("demo", "test", kctx) == nil {
		t.Fatal("test task not triggered after the fake deployment.finished")
	}
	page := s.call("GET", base+"?done=finished", nil, nil).Body.String()
	for _, want := range []string{"finished by hand", "Finished event sent.", eventSource} {
		if !strings.Contains(page, want) {
			t.Errorf("sequence page lacks %q", want)
		}
	}
	// The same task again: no longer open.
	if w := s.post(base+"/finish", url.Values{"stage": {"dev"}, "task": {"deployment"}, "triggeredid": {dep.ID},
		"result": {"pass"}, "status": {"succeeded"}}); w.Code != http.StatusConflict {
		t.Fatalf("finishing a closed task = %d", w.Code)
	}
	s.finish(s.open("demo", "test", kctx), "tester", "pass")

	// The manual approval: shown, then approved.
	appr := s.open("demo", "approval", kctx)
	if appr == nil {
		t.Fatal("no open approval")
	}
	if page := s.call("GET", base, nil, nil).Body.String(); !strings.Contains(page, `value="approve"`) {
		t.Fatal("the sequence page offers no approval")
	}
	w = s.post(base+"/approval", url.Values{"stage": {"dev"}, "triggeredid": {appr.ID}, "decision": {"approve"}, "back": {"dev"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != base+"/stage/dev?done=approve" {
		t.Fatalf("approve = %d %s %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	if s.open("demo", "release", kctx) == nil {
		t.Fatal("release not triggered after the approval")
	}

	// One stage paused and resumed, then the whole context.
	for _, st := range []string{"pause", "resume"} {
		if w := s.post(base+"/control", url.Values{"state": {st}, "stage": {"dev"}, "back": {"dev"}}); w.Code != http.StatusSeeOther ||
			w.Header().Get("Location") != base+"/stage/dev?done="+st {
			t.Fatalf("stage %s = %d %s", st, w.Code, w.Header().Get("Location"))
		}
		// A stage pause shows on the stage, as in Keptn 1.4.5.
		page := s.call("GET", base+"/stage/dev", nil, nil).Body.String()
		if paused := strings.Contains(page, `<span class="pill st-paused">paused</span>`); paused != (st == "pause") {
			t.Fatalf("after stage %s the stage shows paused = %v", st, paused)
		}
	}
	// Pause, resume and abort through the control route.
	for _, st := range []string{"pause", "resume", "abort"} {
		if w := s.post(base+"/control", url.Values{"state": {st}}); w.Code != http.StatusSeeOther {
			t.Fatalf("%s = %d %s", st, w.Code, w.Body)
		}
		if st == "pause" && s.state("demo", kctx) != "paused" {
			t.Fatalf("after pause: %s", s.state("demo", kctx))
		}
	}
	if got := s.state("demo", kctx); got != "aborted" {
		t.Fatalf("after abort: %s", got)
	}

	bad := map[string]struct {
		path string
		form url.Values
		hdr  map[string]string
		code int
	}{
		"cross-site":       {base + "/control", url.Values{"state": {"abort"}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		"foreign origin":   {base + "/control", url.Values{"state": {"abort"}}, map[string]string{"Origin": "http://evil.example"}, 403},
		"unknown state":    {base + "/control", url.Values{"state": {"explode"}}, nil, 400},
		"bad stage":        {base + "/control", url.Values{"state": {"pause"}, "stage": {"../x"}}, nil, 400},
		"bad decision":     {base + "/approval", url.Values{"decision": {"maybe"}, "stage": {"dev"}, "triggeredid": {"x"}}, nil, 400},
		"no task":          {base + "/finish", url.Values{"result": {"pass"}, "status": {"succeeded"}, "task": {"test"}}, nil, 400},
		"bad result":       {base + "/finish", url.Values{"result": {"great"}, "status": {"succeeded"}}, nil, 400},
		"malformed ctx":    {"/bridge/project/demo/sequence/zzz/control", url.Values{"state": {"abort"}}, nil, 400},
		"not an open task": {base + "/finish", url.Values{"result": {"pass"}, "status": {"succeeded"}, "task": {"release"}, "stage": {"dev"}, "triggeredid": {"nope"}}, nil, 409},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Host": "example.com"}
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			w := s.call("POST", tc.path, strings.NewReader(tc.form.Encode()), hdr)
			if w.Code != tc.code {
				t.Fatalf("POST %s = %d, want %d\n%s", tc.path, w.Code, tc.code, w.Body)
			}
		})
	}
}

func TestQueuePosition(t *testing.T) {
	s := newStack(t, Config{})
	s.createProject("demo", testShipyard, "carts")
	first := s.trigger("demo", "dev", "delivery", "carts", nil)
	second := s.trigger("demo", "dev", "delivery", "carts", nil)
	third := s.trigger("demo", "dev", "delivery", "carts", nil)
	page := s.call("GET", "/bridge/project/demo/sequence/"+third, nil, nil).Body.String()
	for _, want := range []string{"position <strong>2</strong> of 2", "Blocked by", "/sequence/" + first + "/stage/dev", "at task deployment"} {
		if !strings.Contains(page, want) {
			t.Errorf("queued run's page lacks %q", want)
		}
	}
	if page := s.call("GET", "/bridge/project/demo/sequence/"+second, nil, nil).Body.String(); !strings.Contains(page, "position <strong>1</strong> of 2") {
		t.Error("second run not first in the queue")
	}
	list := s.call("GET", "/bridge/project/demo/sequence", nil, nil).Body.String()
	if !strings.Contains(list, "st-waiting") {
		t.Error("sequence list does not show waiting runs")
	}
}

func TestReadOnly(t *testing.T) {
	s := newStack(t, Config{ReadOnly: true})
	s.createProject("demo", testShipyard, "carts")
	kctx := s.trigger("demo", "dev", "delivery", "carts", nil)
	base := "/bridge/project/demo/sequence/" + kctx
	page := s.call("GET", base, nil, nil).Body.String()
	for _, form := range []string{`action="` + base + `/control"`, `action="` + base + `/finish"`} {
		if strings.Contains(page, form) {
			t.Errorf("read-only page has %s", form)
		}
	}
	if !strings.Contains(page, "read-only") {
		t.Error("read-only mode not shown")
	}
	if w := s.post(base+"/control", url.Values{"state": {"abort"}}); w.Code != http.StatusForbidden {
		t.Fatalf("read-only abort = %d", w.Code)
	}
	if got := s.state("demo", kctx); got == "aborted" {
		t.Fatal("read-only Bridge aborted the run")
	}
}

func TestBasicAuth(t *testing.T) {
	s := newStack(t, Config{BasicAuthUsername: "keptn", BasicAuthPassword: "s3cret"})
	tests := map[string]struct {
		user, pass string
		set        bool
		code       int
	}{
		"none":           {code: 401},
		"right":          {"keptn", "s3cret", true, 200},
		"wrong password": {"keptn", "nope", true, 401},
		"wrong user":     {"admin", "s3cret", true, 401},
		"empty":          {"", "", true, 401},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/bridge/", "/api/swagger-ui/", "/bridge/static/bridge.css"} {
				req, _ := http.NewRequest("GET", path, nil)
				if tc.set {
					req.SetBasicAuth(tc.user, tc.pass)
				}
				w := s.call("GET", path, nil, map[string]string{"Authorization": req.Header.Get("Authorization")})
				if w.Code != tc.code {
					t.Fatalf("GET %s = %d, want %d", path, w.Code, tc.code)
				}
				if tc.code == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Basic") {
					t.Fatalf("no basic challenge: %v", w.Header())
				}
			}
		})
	}
	// The API keeps its own token auth: basic auth does not open it.
	if w := s.call("GET", "/api/v1/metadata", nil, map[string]string{"x-token": testToken}); w.Code != 200 {
		t.Fatalf("API with token behind the Bridge = %d", w.Code)
	}
}

func TestLoadConfig(t *testing.T) {
	tests := map[string]struct {
		env     map[string]string
		wantErr bool
		check   func(Config) bool
	}{
		"defaults":        {nil, false, func(c Config) bool { return !c.ReadOnly && c.BasicAuthUsername == "" }},
		"read-only":       {map[string]string{"BRIDGE_READ_ONLY": "true"}, false, func(c Config) bool { return c.ReadOnly }},
		"basic auth":      {map[string]string{"BASIC_AUTH_USERNAME": "u", "BASIC_AUTH_PASSWORD": "p"}, false, func(c Config) bool { return c.BasicAuthPassword == "p" }},
		"half basic auth": {map[string]string{"BASIC_AUTH_USERNAME": "u"}, true, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for _, k := range []string{"BRIDGE_READ_ONLY", "BASIC_AUTH_USERNAME", "BASIC_AUTH_PASSWORD", "BRIDGE_DISABLED", "BRIDGE_POLL_INTERVAL"} {
				t.Setenv(k, "") // restored after the test
				if v, ok := tc.env[k]; ok {
					os.Setenv(k, v)
				} else {
					os.Unsetenv(k)
				}
			}
			c, err := LoadConfig()
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tc.check != nil && !tc.check(c) {
				t.Fatalf("config = %+v", c)
			}
		})
	}
}

func TestOwns(t *testing.T) {
	tests := map[string]bool{
		"/bridge": true, "/bridge/": true, "/bridge/project/x": true, "/api/swagger-ui": true, "/api/swagger-ui/": true,
		"/api/swagger-ui/swagger-ui.css": true, "/api/swagger-ui/swagger.yaml": false, "/api/v1/event": false,
		"/bridgework": false, "/health": false,
	}
	for path, want := range tests {
		if got := Owns(path); got != want {
			t.Errorf("Owns(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestBasicAuthLimit(t *testing.T) {
	st := newStack(t, Config{})
	s, err := New(Config{BasicAuthUsername: "keptn", BasicAuthPassword: "s3cret"}, st.api, testToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	get := func(addr, user, pass string) int {
		req := httptest.NewRequest("GET", "/bridge/static/bridge.css", nil)
		req.RemoteAddr = addr
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w.Code
	}
	for i := 0; i < failBurst; i++ {
		if c := get("192.0.2.7:1000", "keptn", fmt.Sprint("guess", i)); c != 401 {
			t.Fatalf("guess %d = %d", i, c)
		}
	}
	steps := []struct {
		name       string
		addr, pass string
		advance    time.Duration
		want       int
	}{
		{"the right password after the burst waits too", "192.0.2.7:1001", "s3cret", 0, 429},
		{"another client is not held up", "192.0.2.8:1000", "s3cret", 0, 200},
		{"asking without credentials is not an attempt", "192.0.2.9:1000", "", 0, 401},
		{"a token refills in two seconds", "192.0.2.7:1002", "s3cret", 2 * time.Second, 200},
		{"a wrong guess then takes it again", "192.0.2.7:1003", "guess", 0, 401},
		{"and the next waits", "192.0.2.7:1004", "guess", 0, 429},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		user := "keptn"
		if st.pass == "" {
			user = ""
		}
		if c := get(st.addr, user, st.pass); c != st.want {
			t.Fatalf("%s: %d, want %d", st.name, c, st.want)
		}
	}
}
