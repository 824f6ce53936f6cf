package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
)

const regPath = "/api/controlPlane/v1/uniform/registration"

func TestIntegrationID(t *testing.T) {
	for _, tc := range []struct {
		name, in, ns, host string
		want               string // "" = incomplete
	}{
		// Values computed independently (sha1sum of "name-namespace-hostname").
		{"keptn test integration", "my-uniform-service", "my-namespace", "hostname", "bc756b01436160e50ee679475bb2425b5fa4e9db"},
		{"echo service", "echo-service", "keptn", "node-1", "096eb54c82bc874f7098e574c70a4c5638b3a153"},
		{"no name", "", "keptn", "node-1", ""},
		{"no namespace", "echo", "", "node-1", ""},
		{"no hostname", "echo", "keptn", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := integrationID(tc.in, tc.ns, tc.host)
			if tc.want == "" {
				var he *httpError
				if !errors.As(err, &he) || he.status != 400 || he.msg != msgIncompleteID {
					t.Fatalf("err = %v, want 400 %q", err, msgIncompleteID)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("id = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestValidateSubscription(t *testing.T) {
	f := func(projects, stages, services []string) subscriptionFilter {
		return subscriptionFilter{Projects: projects, Stages: stages, Services: services}
	}
	ev := "sh.keptn.event.deployment.triggered"
	for _, tc := range []struct {
		name    string
		s       subscription
		webhook bool
		want    string // "" = valid
	}{
		{"event only", subscription{Event: ev}, false, ""},
		{"no event", subscription{Filter: f([]string{"p"}, nil, nil)}, false, msgNoEvent},
		{"services with stages", subscription{Event: ev, Filter: f(nil, []string{"dev"}, []string{"carts"})}, false, ""},
		{"services without stages", subscription{Event: ev, Filter: f(nil, nil, []string{"carts"})}, false, msgServiceWithoutStage},
		{"services with empty stages", subscription{Event: ev, Filter: f(nil, []string{}, []string{"carts"})}, false, msgServiceWithoutStage},
		{"empty services, no stages", subscription{Event: ev, Filter: f(nil, nil, []string{})}, false, ""},
		{"webhook, one project", subscription{Event: ev, Filter: f([]string{"p"}, nil, nil)}, true, ""},
		{"webhook, no project", subscription{Event: ev}, true, msgWebhookOneProject},
		{"webhook, empty projects", subscription{Event: ev, Filter: f([]string{}, nil, nil)}, true, msgWebhookOneProject},
		{"webhook, two projects", subscription{Event: ev, Filter: f([]string{"p", "q"}, nil, nil)}, true, msgWebhookOneProject},
		{"not webhook, no project", subscription{Event: ev, Filter: f([]string{"p", "q"}, nil, nil)}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateSubscription(tc.s, tc.webhook)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var he *httpError
			if !errors.As(err, &he) || he.status != 400 || he.msg != tc.want {
				t.Fatalf("err = %v, want 400 %q", err, tc.want)
			}
		})
	}
}

// sdkRegistration is what the go-sdk sends: id empty, lastseen zero, filters null.
func sdkRegistration(name, ns, host, version string, events ...string) map[string]any {
	subs := []map[string]any{}
	for _, e := range events {
		subs = append(subs, map[string]any{"id": "", "event": e,
			"filter": map[string]any{"projects": nil, "stages": nil, "services": nil}})
	}
	return map[string]any{"id": "", "name": name, "metadata": map[string]any{
		"hostname": host, "integrationversion": version, "distributorversion": "0.15.0", "location": "remote",
		"kubernetesmetadata": map[string]any{"namespace": ns, "podname": name + "-pod", "deploymentname": name},
		"lastseen":           "0001-01-01T00:00:00Z"}, "subscriptions": subs}
}

func (e *env) integrations(t *testing.T, query string) []integration {
	t.Helper()
	w := e.do(t, "GET", regPath+query, nil)
	wantStatus(t, w, 200)
	return decode[[]integration](t, w)
}

// TestUniformRegistrationAPI follows Keptn's Test_UniformRegistration_TestAPI.
func TestUniformRegistrationAPI(t *testing.T) {
	e := newEnv(t, Config{})
	reg := map[string]any{"name": "my-uniform-service", "metadata": map[string]any{
		"distributorversion": "0.8.3", "hostname": "hostname", "kubernetesmetadata": map[string]any{"namespace": "my-namespace"}},
		"subscriptions": []map[string]any{{"event": "sh.keptn.event.test.triggered",
			"filter": map[string]any{"projects": []string{}, "stages": []string{}, "services": []string{}}}}}
	w := e.do(t, "POST", regPath, reg)
	wantStatus(t, w, http.StatusCreated)
	id := decode[map[string]string](t, w)["id"]
	if id != "bc756b01436160e50ee679475bb2425b5fa4e9db" {
		t.Fatalf("id = %q", id)
	}

	got := e.integrations(t, "?id="+id)
	if len(got) != 1 {
		t.Fatalf("got %d integrations", len(got))
	}
	in := got[0]
	if in.Name != "my-uniform-service" || in.MetaData.DistributorVersion != "0.8.3" || in.MetaData.KubernetesMetaData.Namespace != "my-namespace" ||
		!in.MetaData.LastSeen.Equal(t0) || len(in.Subscriptions) != 1 || in.Subscriptions[0].ID == "" ||
		in.Subscriptions[0].Event != "sh.keptn.event.test.triggered" {
		t.Fatalf("integration %+v", in)
	}
	// The filter comes back as sent: empty lists stay empty lists.
	if f := in.Subscriptions[0].Filter; f.Projects == nil || f.Stages == nil || f.Services == nil {
		t.Fatalf("filter %+v lost its empty lists", f)
	}

	// Add a subscription.
	sub := map[string]any{"event": "sh.keptn.event.deployment.triggered",
		"filter": map[string]any{"projects": []string{"my-project"}, "stages": []string{"my-stage"}, "services": []string{"my-service"}}}
	w = e.do(t, "POST", regPath+"/"+id+"/subscription", sub)
	wantStatus(t, w, http.StatusCreated)
	sid := decode[map[string]string](t, w)["id"]
	got = e.integrations(t, "?id="+id)
	if len(got[0].Subscriptions) != 2 || got[0].Subscriptions[1].ID != sid {
		t.Fatalf("after add: %+v", got[0].Subscriptions)
	}

	// Update it: the stored subscription equals the one sent.
	upd := subscription{ID: sid, Event: "sh.keptn.event.evaluation.triggered",
		Filter: subscriptionFilter{Projects: []string{"my-project", "other-project"}, Stages: []string{"my-stage"}, Services: []string{"my-service"}}}
	w = e.do(t, "PUT", regPath+"/"+id+"/subscription/"+sid, upd)
	wantStatus(t, w, http.StatusCreated)
	if decode[map[string]string](t, w)["id"] != sid {
		t.Fatalf("PUT answer %s", w.Body)
	}
	w = e.do(t, "GET", regPath+"/"+id+"/subscription/"+sid, nil)
	wantStatus(t, w, 200)
	if s := decode[subscription](t, w); !reflect.DeepEqual(s, upd) {
		t.Fatalf("subscription = %+v, want %+v", s, upd)
	}
	w = e.do(t, "GET", regPath+"/"+id+"/subscription", nil)
	wantStatus(t, w, 200)
	if subs := decode[[]subscription](t, w); len(subs) != 2 || !reflect.DeepEqual(subs[1], upd) {
		t.Fatalf("subscriptions = %+v", subs)
	}
	// The filter is searchable.
	if got := e.integrations(t, "?project=other-project&stage=my-stage"); len(got) != 1 {
		t.Fatalf("by project: %d", len(got))
	}

	// Delete it.
	w = e.do(t, "DELETE", regPath+"/"+id+"/subscription/"+sid, nil)
	wantStatus(t, w, 200)
	if strings.TrimSpace(w.Body.String()) != "{}" {
		t.Fatalf("body %q", w.Body)
	}
	if got = e.integrations(t, "?id="+id); len(got[0].Subscriptions) != 1 {
		t.Fatalf("after delete: %+v", got[0].Subscriptions)
	}
	if got := e.integrations(t, "?project=other-project"); len(got) != 0 {
		t.Fatalf("deleted subscription still found by project")
	}

	// Re-register with a new distributor version and no subscriptions: 200,
	// same id, version and lastseen updated, subscriptions kept.
	e.clock.Add(10 * time.Second)
	reg["metadata"].(map[string]any)["distributorversion"] = "0.8.4"
	reg["metadata"].(map[string]any)["hostname"] = "another-node"
	reg["subscriptions"] = []map[string]any{}
	w = e.do(t, "POST", regPath, reg)
	wantStatus(t, w, http.StatusOK)
	if decode[map[string]string](t, w)["id"] != id {
		t.Fatalf("re-register answer %s", w.Body)
	}
	got = e.integrations(t, "?id="+id)
	if in := got[0]; in.MetaData.DistributorVersion != "0.8.4" || len(in.Subscriptions) != 1 ||
		!in.MetaData.LastSeen.Equal(t0.Add(10*time.Second)) || in.MetaData.Hostname != "hostname" {
		t.Fatalf("after re-register: %+v", in)
	}

	// Unregister: 200 {} and gone, twice.
	for range 2 {
		w = e.do(t, "DELETE", regPath+"/"+id, nil)
		wantStatus(t, w, 200)
		if strings.TrimSpace(w.Body.String()) != "{}" {
			t.Fatalf("body %q", w.Body)
		}
	}
	if got = e.integrations(t, "?id="+id); len(got) != 0 {
		t.Fatalf("after unregister: %+v", got)
	}
	if got = e.integrations(t, ""); len(got) != 0 {
		t.Fatalf("list after unregister: %+v", got)
	}
}

func TestRegisterAsTheSDK(t *testing.T) {
	e := newEnv(t, Config{})
	w := e.do(t, "POST", regPath, sdkRegistration("echo-service", "keptn", "node-1", "1.0.0", "sh.keptn.event.echo.triggered"))
	wantStatus(t, w, http.StatusCreated)
	id := decode[map[string]string](t, w)["id"]
	if id != "096eb54c82bc874f7098e574c70a4c5638b3a153" {
		t.Fatalf("id %q", id)
	}
	// Ping returns the integration with its subscriptions (what the SDK polls).
	e.clock.Add(5 * time.Second)
	w = e.do(t, "PUT", regPath+"/"+id+"/ping", nil)
	wantStatus(t, w, 200)
	in := decode[integration](t, w)
	if in.ID != id || !in.MetaData.LastSeen.Equal(t0.Add(5*time.Second)) || len(in.Subscriptions) != 1 ||
		in.Subscriptions[0].ID == "" || in.Subscriptions[0].Filter.Projects != nil {
		t.Fatalf("ping answer %+v", in)
	}
	// A registration without subscriptions adopts the request's.
	w = e.do(t, "POST", regPath, sdkRegistration("bare", "keptn", "node-1", "1.0.0"))
	wantStatus(t, w, http.StatusCreated)
	bare := decode[map[string]string](t, w)["id"]
	w = e.do(t, "POST", regPath, sdkRegistration("bare", "keptn", "node-2", "1.0.1", "sh.keptn.event.a.triggered", "sh.keptn.event.b.triggered"))
	wantStatus(t, w, http.StatusOK)
	got := e.integrations(t, "?name=bare")
	if len(got) != 1 || got[0].ID != bare || got[0].MetaData.IntegrationVersion != "1.0.1" || len(got[0].Subscriptions) != 2 ||
		got[0].Subscriptions[0].ID == "" || got[0].Subscriptions[0].ID == got[0].Subscriptions[1].ID {
		t.Fatalf("adopted %+v", got)
	}
	// Ping of an unknown id.
	wantError(t, e.do(t, "PUT", regPath+"/nope/ping", nil), 404, msgIntegrationNotFound)
}

func TestRegisterErrors(t *testing.T) {
	e := newEnv(t, Config{MaxBodyBytes: 4 << 10})
	sub := func(projects ...string) map[string]any {
		return map[string]any{"event": "sh.keptn.event.webhook.triggered", "filter": map[string]any{"projects": projects}}
	}
	withSubs := func(name string, subs ...map[string]any) map[string]any {
		r := sdkRegistration(name, "keptn", "node-1", "1")
		r["subscriptions"] = subs
		return r
	}
	for _, tc := range []struct {
		name   string
		body   any
		status int
		msg    string
	}{
		{"no name", sdkRegistration("", "keptn", "node-1", "1"), 400, msgIncompleteID},
		{"no namespace", sdkRegistration("echo", "", "node-1", "1"), 400, msgIncompleteID},
		{"no hostname", sdkRegistration("echo", "keptn", "", "1"), 400, msgIncompleteID},
		{"no event", withSubs("echo", map[string]any{"filter": map[string]any{}}), 400, msgNoEvent},
		{"service without stage", withSubs("echo", map[string]any{"event": "e", "filter": map[string]any{"services": []string{"s"}}}), 400, msgServiceWithoutStage},
		{"webhook without project", withSubs(webhookService, sub()), 400, msgWebhookOneProject},
		{"webhook with two projects", withSubs(webhookService, sub("a", "b")), 400, msgWebhookOneProject},
		{"webhook with one project", withSubs(webhookService, sub("a")), 201, ""},
		{"malformed", `{"name":`, 400, "invalid request body"},
		{"wrong type", `{"name": 1}`, 400, "invalid request body"},
		{"long name", sdkRegistration(strings.Repeat("n", maxIdentityBytes+1), "keptn", "node-1", "1"), 400, "name must be at most"},
		{"oversize body", sdkRegistration("echo", "keptn", strings.Repeat("h", 5<<10), "1"), 413, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, "POST", regPath, tc.body)
			if tc.status < 300 {
				wantStatus(t, w, tc.status)
				return
			}
			wantError(t, w, tc.status, tc.msg)
		})
	}
	if got := e.integrations(t, ""); len(got) != 1 || got[0].Name != webhookService {
		t.Fatalf("stored %+v, want only the valid webhook registration", got)
	}
}

func TestSubscriptionEndpoints(t *testing.T) {
	e := newEnv(t, Config{})
	id := decode[map[string]string](t, e.do(t, "POST", regPath, sdkRegistration(webhookService, "keptn", "node-1", "1")))["id"]
	echo := decode[map[string]string](t, e.do(t, "POST", regPath, sdkRegistration("echo", "keptn", "node-1", "1")))["id"]
	noProject := map[string]any{"event": "sh.keptn.event.webhook.triggered"}
	oneProject := map[string]any{"event": "sh.keptn.event.webhook.triggered", "filter": map[string]any{"projects": []string{"p"}}}
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		msg                string
	}{
		// Keptn checks the webhook rule on PUT but not on POST.
		{"POST webhook without project", "POST", "/" + id + "/subscription", noProject, 201, ""},
		{"PUT webhook without project", "PUT", "/" + id + "/subscription/s1", noProject, 400, msgWebhookOneProject},
		{"PUT webhook with project (new id)", "PUT", "/" + id + "/subscription/s1", oneProject, 201, ""},
		{"PUT other integration without project", "PUT", "/" + echo + "/subscription/s2", noProject, 201, ""},
		{"POST without event", "POST", "/" + id + "/subscription", map[string]any{}, 400, msgNoEvent},
		{"PUT service without stage", "PUT", "/" + id + "/subscription/s1", map[string]any{"event": "e", "filter": map[string]any{"projects": []string{"p"}, "services": []string{"s"}}}, 400, msgServiceWithoutStage},
		{"POST malformed", "POST", "/" + id + "/subscription", "[", 400, "invalid request body"},
		{"POST unknown integration", "POST", "/nope/subscription", oneProject, 404, msgIntegrationNotFound},
		{"PUT unknown integration", "PUT", "/nope/subscription/s1", oneProject, 404, msgIntegrationNotFound},
		{"GET unknown integration", "GET", "/nope/subscription", nil, 404, msgIntegrationNotFound},
		{"GET one of unknown integration", "GET", "/nope/subscription/s1", nil, 404, msgIntegrationNotFound},
		{"GET unknown subscription", "GET", "/" + id + "/subscription/nope", nil, 404, msgSubscriptionNotFound},
		{"GET stored one", "GET", "/" + id + "/subscription/s1", nil, 200, ""},
		{"DELETE unknown subscription", "DELETE", "/" + id + "/subscription/nope", nil, 200, ""},
		{"DELETE of unknown integration", "DELETE", "/nope/subscription/s1", nil, 200, ""},
		{"DELETE stored one", "DELETE", "/" + id + "/subscription/s1", nil, 200, ""},
		{"GET deleted one", "GET", "/" + id + "/subscription/s1", nil, 404, msgSubscriptionNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, tc.method, regPath+tc.path, tc.body)
			if tc.status < 300 {
				wantStatus(t, w, tc.status)
				return
			}
			wantError(t, w, tc.status, tc.msg)
		})
	}
	w := e.do(t, "GET", regPath+"/"+echo+"/subscription", nil)
	wantStatus(t, w, 200)
	if subs := decode[[]subscription](t, w); len(subs) != 1 || subs[0].ID != "s2" {
		t.Fatalf("echo subscriptions %+v", subs)
	}
	// No subscriptions is an empty list, not null.
	empty := decode[map[string]string](t, e.do(t, "POST", regPath, sdkRegistration("empty", "keptn", "node-1", "1")))["id"]
	w = e.do(t, "GET", regPath+"/"+empty+"/subscription", nil)
	wantStatus(t, w, 200)
	if strings.TrimSpace(w.Body.String()) != "[]" {
		t.Fatalf("empty subscriptions %q", w.Body)
	}
}

func TestListIntegrationFilters(t *testing.T) {
	e := newEnv(t, Config{})
	reg := func(name, ns, host string, filter map[string]any) {
		r := sdkRegistration(name, ns, host, "1")
		r["subscriptions"] = []map[string]any{{"event": "sh.keptn.event.x.triggered", "filter": filter}}
		wantStatus(t, e.do(t, "POST", regPath, r), http.StatusCreated)
	}
	reg("a", "keptn", "n1", map[string]any{"projects": []string{"p1"}, "stages": []string{"dev"}, "services": []string{"carts"}})
	reg("b", "keptn", "n2", map[string]any{"projects": []string{"p2"}, "stages": []string{"dev", "prod"}})
	reg("b", "other", "n1", map[string]any{})
	for _, tc := range []struct {
		query string
		want  []string // name/namespace
	}{
		{"", []string{"a/keptn", "b/keptn", "b/other"}},
		{"?name=b", []string{"b/keptn", "b/other"}},
		{"?namespace=keptn", []string{"a/keptn", "b/keptn"}},
		{"?hostname=n1", []string{"a/keptn", "b/other"}},
		{"?project=p2", []string{"b/keptn"}},
		{"?stage=dev", []string{"a/keptn", "b/keptn"}},
		{"?stage=prod&project=p2", []string{"b/keptn"}},
		{"?service=carts", []string{"a/keptn"}},
		{"?service=orders", nil},
		{"?name=b&hostname=n2", []string{"b/keptn"}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			var names []string
			for _, in := range e.integrations(t, tc.query) {
				names = append(names, in.Name+"/"+in.MetaData.KubernetesMetaData.Namespace)
			}
			if !reflect.DeepEqual(names, tc.want) {
				t.Fatalf("got %q, want %q", names, tc.want)
			}
		})
	}
}

// TestIntegrationTTL: an integration not seen for UNIFORM_INTEGRATION_TTL is
// gone (hidden at once, deleted by a later write), as Keptn's TTL index made it.
func TestIntegrationTTL(t *testing.T) {
	e := newEnv(t, Config{IntegrationTTL: time.Minute})
	r := sdkRegistration("echo", "keptn", "node-1", "1", "sh.keptn.event.echo.triggered")
	id := decode[map[string]string](t, e.do(t, "POST", regPath, r))["id"]
	sid := e.integrations(t, "")[0].Subscriptions[0].ID

	// Pings keep it alive past the TTL.
	for range 3 {
		e.clock.Add(40 * time.Second)
		wantStatus(t, e.do(t, "PUT", regPath+"/"+id+"/ping", nil), 200)
	}
	e.clock.Add(time.Minute) // exactly the TTL: still there
	if len(e.integrations(t, "")) != 1 {
		t.Fatal("gone at exactly the TTL")
	}
	e.clock.Add(time.Microsecond)
	if got := e.integrations(t, ""); len(got) != 0 {
		t.Fatalf("expired integration listed: %+v", got)
	}
	wantError(t, e.do(t, "PUT", regPath+"/"+id+"/ping", nil), 404, msgIntegrationNotFound)
	wantError(t, e.do(t, "GET", regPath+"/"+id+"/subscription/"+sid, nil), 404, msgIntegrationNotFound)
	wantError(t, e.do(t, "POST", regPath+"/"+id+"/subscription", map[string]any{"event": "e"}), 404, msgIntegrationNotFound)

	// A later write purges the expired record.
	other := sdkRegistration("other", "keptn", "node-1", "1")
	wantStatus(t, e.do(t, "POST", regPath, other), http.StatusCreated)
	if _, err := e.store.Integrations().GetIntegration(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired integration still stored: %v", err)
	}
	// Registering again is a new registration with the request's subscriptions.
	r["subscriptions"] = []map[string]any{{"event": "sh.keptn.event.new.triggered"}}
	w := e.do(t, "POST", regPath, r)
	wantStatus(t, w, http.StatusCreated)
	got := e.integrations(t, "?name=echo")
	if len(got) != 1 || got[0].ID != id || len(got[0].Subscriptions) != 1 || got[0].Subscriptions[0].Event != "sh.keptn.event.new.triggered" {
		t.Fatalf("re-registered %+v", got)
	}
}

// TestExpiredRegistrationIsReplaced covers an expired record that no purge
// removed yet: registering replaces it.
func TestExpiredRegistrationIsReplaced(t *testing.T) {
	e := newEnv(t, Config{})
	r := sdkRegistration("echo", "keptn", "node-1", "1", "sh.keptn.event.old.triggered")
	wantStatus(t, e.do(t, "POST", regPath, r), http.StatusCreated) // also the first purge
	e.clock.Add(2 * time.Minute)
	r["metadata"].(map[string]any)["hostname"] = "node-2"
	r["subscriptions"] = []map[string]any{{"event": "sh.keptn.event.new.triggered"}}
	w := e.do(t, "POST", regPath, r)
	wantStatus(t, w, http.StatusCreated)
	id := decode[map[string]string](t, w)["id"]
	if want, _ := integrationID("echo", "keptn", "node-2"); id != want {
		t.Fatalf("id %q, want the new host's %q", id, want)
	}
	got := e.integrations(t, "")
	if len(got) != 1 || got[0].Subscriptions[0].Event != "sh.keptn.event.new.triggered" {
		t.Fatalf("got %+v", got)
	}
}

func TestUniformNeedsAuth(t *testing.T) {
	e := newEnv(t, Config{})
	for _, rt := range []struct{ method, path string }{
		{"POST", regPath}, {"GET", regPath}, {"PUT", regPath + "/x/ping"}, {"DELETE", regPath + "/x"},
		{"GET", regPath + "/x/subscription"}, {"POST", logPath}, {"GET", logPath},
	} {
		w := e.do(t, rt.method, rt.path, "{}", "x-token", "", "X-Forwarded-For", "")
		wantError(t, w, http.StatusUnauthorized, msgUnauthenticated)
		e.h.(*api).auth.limiter.Reset("192.0.2.1") // keep the failed-attempt bucket from answering 429
	}
}

// plainStore is a store whose driver has no integrations (a wrapper hides
// an optional group only on purpose, by overriding its method).
type plainStore struct{ store.Store }

func (plainStore) Integrations() store.IntegrationStore { return nil }

func TestStoreWithoutIntegrations(t *testing.T) {
	e := newEnv(t, Config{})
	h := New(Config{Tokens: []string{testToken}}, Deps{Store: plainStore{e.store}, Publisher: e.pub, Sequences: e.seq})
	e.h = h
	wantError(t, e.do(t, "GET", regPath, nil), http.StatusNotImplemented, "not supported")
	wantError(t, e.do(t, "POST", logPath, `{"logs":[]}`), http.StatusNotImplemented, "not supported")
}

func TestUniformConfigFromEnv(t *testing.T) {
	t.Setenv("UNIFORM_INTEGRATION_TTL", "48h")
	t.Setenv("LOG_TTL", "24h")
	t.Setenv("API_MAX_LOGS_PER_REQUEST", "10")
	t.Setenv("API_MAX_LOG_MESSAGE_BYTES", "100")
	c, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if c.IntegrationTTL != 48*time.Hour || c.LogTTL != 24*time.Hour || c.MaxLogsPerRequest != 10 || c.MaxLogMessageBytes != 100 {
		t.Fatalf("config %+v", c)
	}
	d := Config{}.withDefaults()
	if d.IntegrationTTL != time.Minute || d.LogTTL != 120*time.Hour || d.MaxLogsPerRequest != 1000 || d.MaxLogMessageBytes != 64<<10 {
		t.Fatalf("defaults %+v", d)
	}
}

// FuzzRegisterIntegration: any body gets a registration or a Keptn error
// body, never a 500 or a panic.
func FuzzRegisterIntegration(f *testing.F) {
	for _, seed := range []string{
		`{"name":"echo","metadata":{"hostname":"n","kubernetesmetadata":{"namespace":"keptn"}},"subscriptions":[{"event":"e","filter":{"projects":null}}]}`,
		`{"name":"webhook-service","metadata":{"hostname":"n","kubernetesmetadata":{"namespace":"keptn"}},"subscriptions":[{"event":"e","filter":{"projects":["p"],"services":["s"]}}]}`,
		`{"name":"x","metadata":{"lastseen":"2024-01-01T00:00:00Z"}}`,
		`{}`, `null`, `[]`, `{"subscriptions":{}}`,
	} {
		f.Add(seed)
	}
	st, err := embedded.OpenOptions(filepath.Join(f.TempDir(), "store.db"), embedded.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = st.Close() })
	h := New(Config{Tokens: []string{testToken}}, Deps{Store: st, Publisher: &recPublisher{}, Sequences: &fakeSequences{}})
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", regPath, strings.NewReader(body))
		r.RemoteAddr = "192.0.2.1:1234"
		r.Header.Set("x-token", testToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusCreated:
			if id := decode[map[string]string](t, w)["id"]; len(id) != 40 {
				t.Fatalf("id %q", id)
			}
		case http.StatusBadRequest, http.StatusConflict:
			wantError(t, w, w.Code, "")
		default:
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
	})
}
