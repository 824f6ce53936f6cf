package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/store"
)

// structuredEvent renders a Keptn event as structured CloudEvents JSON.
func structuredEvent(t *testing.T, id, typ string, at time.Time, triggeredID string, data map[string]any) []byte {
	t.Helper()
	ev, err := keptn.NewEvent(typ, keptn.Meta{ID: id, Source: "test", Time: at, Context: "ctx-" + id[:1], TriggeredID: triggeredID}, data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) ingest(t *testing.T, body []byte, ceContentType bool) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", HistoryPath, bytes.NewReader(body))
	r.Header.Set(HistoryTokenHeader, testHistoryToken)
	if ceContentType {
		r.Header.Set("Content-Type", "application/cloudevents+json")
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

func TestHistoryIngest(t *testing.T) {
	e := newEnv(t, Config{MaxHistoryEventBytes: 4096})
	e.mkProject(t, "p", "carts")
	ctx := context.Background()
	body := structuredEvent(t, "a1", "sh.keptn.event.deployment.finished", t0, "trig-1",
		map[string]any{"project": "p", "stage": "dev", "service": "carts", "result": "pass"})

	// Structured mode, the history token and no x-token.
	wantStatus(t, e.ingest(t, body, true), 200)
	// Redelivery is idempotent.
	wantStatus(t, e.ingest(t, body, true), 200)
	evs, _, err := e.store.ListEvents(ctx, store.EventQuery{Project: "p"}, store.Page{})
	if err != nil || len(evs) != 1 {
		t.Fatalf("events %d %v", len(evs), err)
	}
	got := evs[0]
	if got.ID != "a1" || got.Stage != "dev" || got.Service != "carts" || got.TriggeredID != "trig-1" || got.KeptnContext != "ctx-a" ||
		!got.Time.Equal(t0) || !strings.Contains(string(got.Body), `"result":"pass"`) {
		t.Fatalf("stored %+v", got)
	}

	// Binary mode.
	r := httptest.NewRequest("POST", HistoryPath+"?token="+testHistoryToken, strings.NewReader(`{"project":"p","stage":"dev","service":"carts"}`))
	for k, v := range map[string]string{"Ce-Id": "b1", "Ce-Specversion": "1.0", "Ce-Type": "sh.keptn.event.test.started",
		"Ce-Source": "x", "Ce-Time": t0.Add(time.Minute).Format(time.RFC3339), "Ce-Shkeptncontext": "ctx-b", "Content-Type": "application/json"} {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	wantStatus(t, w, 200)
	evs, _, _ = e.store.ListEvents(ctx, store.EventQuery{Project: "p"}, store.Page{})
	if len(evs) != 2 || evs[0].ID != "b1" || evs[0].KeptnContext != "ctx-b" {
		t.Fatalf("binary event not stored newest first: %+v", evs)
	}

	for _, tc := range []struct {
		name string
		body []byte
		want int
	}{
		{"not keptn: acked, not stored", structuredEvent(t, "c1", "dev.knative.sources.ping", t0, "", map[string]any{"project": "p"}), 200},
		{"unknown project: acked, dropped", structuredEvent(t, "d1", "sh.keptn.event.x.started", t0, "", map[string]any{"project": "gone"}), 200},
		{"delete finished: not stored", structuredEvent(t, "e1", typeProjectDeleteFinished, t0, "", map[string]any{"project": "p"}), 200},
		{"malformed", []byte(`{"specversion":"1.0"`), 400},
		{"missing id", []byte(`{"specversion":"1.0","type":"sh.keptn.event.a.started","source":"x","data":{}}`), 400},
		{"data not object", []byte(`{"specversion":"1.0","id":"f1","type":"sh.keptn.event.a.started","source":"x","datacontenttype":"application/json","data":[1]}`), 400},
		{"oversize", structuredEvent(t, "g1", "sh.keptn.event.a.started", t0, "", map[string]any{"project": "p", "blob": strings.Repeat("x", 5000)}), 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.ingest(t, tc.body, true)
			if tc.want != 200 {
				wantError(t, w, tc.want, "")
				return
			}
			wantStatus(t, w, 200)
		})
	}
	evs, _, _ = e.store.ListEvents(ctx, store.EventQuery{}, store.Page{Size: 100})
	if len(evs) != 2 {
		t.Fatalf("unexpected events stored: %d", len(evs))
	}
}

func (e *env) seedEvents(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	add := func(id, typ, stage, service, source, tid string, at time.Time, extra map[string]any) {
		data := map[string]any{"project": "p", "stage": stage, "service": service}
		for k, v := range extra {
			data[k] = v
		}
		body := structuredEvent(t, id, typ, at, tid, data)
		if err := e.store.AppendEvent(ctx, &store.Event{ID: id, Project: "p", KeptnContext: "ctx-" + id[:1], Type: typ, Stage: stage,
			Service: service, Source: source, TriggeredID: tid, Time: at, Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 30; i++ {
		svc := []string{"carts", "web", "api"}[i%3]
		res := []string{"pass", "fail"}[i%2]
		add(fmt.Sprintf("e%02d", i), "sh.keptn.event.evaluation.finished", "dev", svc, "lighthouse-service",
			fmt.Sprintf("t%02d", i), t0.Add(time.Duration(i)*time.Minute), map[string]any{"result": res, "evaluation": map[string]any{"score": i}})
	}
	add("x1", "sh.keptn.event.evaluation.invalidated", "dev", "carts", "bridge", "t27", t0.Add(time.Hour), nil)
	add("y1", "sh.keptn.event.deployment.finished", "prod", "carts", "helm", "z", t0.Add(2*time.Hour), nil)
}

func ids(t *testing.T, w *httptest.ResponseRecorder) []string {
	t.Helper()
	wantStatus(t, w, 200)
	var got struct {
		Events []struct {
			ID string `json:"id"`
		} `json:"events"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range got.Events {
		out = append(out, e.ID)
	}
	return out
}

func TestListEvents(t *testing.T) {
	e := newEnv(t, Config{})
	e.mkProject(t, "p", "carts", "web", "api")
	e.seedEvents(t)
	base := "/api/mongodb-datastore/event"

	if got := ids(t, e.do(t, "GET", base+"?project=p&pageSize=3", nil)); strings.Join(got, ",") != "y1,x1,e29" {
		t.Fatalf("newest first: %v", got)
	}
	got := ids(t, e.do(t, "GET", base+"?project=p&type=sh.keptn.event.evaluation.finished&service=carts&stage=dev&source=lighthouse-service&pageSize=100", nil))
	if len(got) != 10 || got[0] != "e27" {
		t.Fatalf("filtered: %v", got)
	}
	if got := ids(t, e.do(t, "GET", base+"?project=p&eventID=e05", nil)); strings.Join(got, ",") != "e05" {
		t.Fatalf("by id: %v", got)
	}
	if got := ids(t, e.do(t, "GET", base+"?keptnContext=ctx-y", nil)); strings.Join(got, ",") != "y1" {
		t.Fatalf("by context: %v", got)
	}
	from := t0.Add(9 * time.Minute).Format(time.RFC3339)
	before := t0.Add(12 * time.Minute).Format(time.RFC3339)
	if got := ids(t, e.do(t, "GET", base+"?project=p&fromTime="+from+"&beforeTime="+before, nil)); strings.Join(got, ",") != "e11,e10" {
		t.Fatalf("time window: %v", got)
	}
	// No project and no context: Keptn answers an empty list.
	if got := ids(t, e.do(t, "GET", base, nil)); len(got) != 0 {
		t.Fatalf("unscoped: %v", got)
	}

	// Pagination walks everything once.
	seen := map[string]bool{}
	key := ""
	for i := 0; i < 20; i++ {
		w := e.do(t, "GET", base+"?project=p&pageSize=7&nextPageKey="+key, nil)
		for _, id := range ids(t, w) {
			if seen[id] {
				t.Fatalf("%s twice", id)
			}
			seen[id] = true
		}
		m := decode[map[string]any](t, w)
		if key = m["nextPageKey"].(string); key == "0" {
			break
		}
	}
	if len(seen) != 32 {
		t.Fatalf("walked %d events", len(seen))
	}
	// Default page size 20.
	if got := ids(t, e.do(t, "GET", base+"?project=p", nil)); len(got) != 20 {
		t.Fatalf("default page %d", len(got))
	}
	wantError(t, e.do(t, "GET", base+"?project=p&pageSize=101", nil), 400, "pageSize")
	wantError(t, e.do(t, "GET", base+"?project=p&root=true", nil), 400, "root")
	wantError(t, e.do(t, "GET", base+"?project=p&fromTime=x", nil), 400, "fromTime")
	wantError(t, e.do(t, "GET", base+"?project=p", nil, "x-token", ""), http.StatusUnauthorized, "")
}

func TestEventsByType(t *testing.T) {
	e := newEnv(t, Config{})
	e.mkProject(t, "p", "carts", "web", "api")
	e.seedEvents(t)
	base := "/api/mongodb-datastore/event/type/sh.keptn.event.evaluation.finished?filter="
	q := func(filter, extra string) []string {
		return ids(t, e.do(t, "GET", base+strings.ReplaceAll(filter, " ", "%20")+extra, nil))
	}
	for _, tc := range []struct {
		name, filter, extra, want string
	}{
		{"project and service", "data.project:p AND data.service:carts", "&limit=3", "e27,e24,e21"},
		{"service list", "data.project:p AND data.service:web,api", "&limit=4", "e29,e28,e26,e25"},
		{"post-filtered result", "data.project:p AND data.stage:dev AND data.service:carts AND data.result:pass", "&limit=2", "e24,e18"},
		{"exclude invalidated", "data.project:p AND data.service:carts AND data.result:fail", "&limit=2&excludeInvalidated=true", "e21,e15"},
		{"invalidated kept without flag", "data.project:p AND data.service:carts AND data.result:fail", "&limit=1", "e27"},
		{"numeric field", "data.project:p AND data.evaluation.score:7", "", "e07"},
		{"by context", "shkeptncontext:ctx-e AND source:lighthouse-service AND triggeredid:t03", "", "e03"},
		{"fromTime", "data.project:p", "&fromTime=" + t0.Add(27*time.Minute).Format(time.RFC3339), "e29,e28"},
		{"no match", "data.project:p AND data.result:warning", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(q(tc.filter, tc.extra), ","); got != tc.want {
				t.Fatalf("got %s want %s", got, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, filter string }{
		{"missing", ""},
		{"no project or context", "data.service:carts"},
		{"no colon", "data.project"},
		{"empty value", "data.project:"},
		{"bad key", "data..project:p"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do(t, "GET", base+strings.ReplaceAll(tc.filter, " ", "%20"), nil), 400, "filter")
		})
	}
	wantError(t, e.do(t, "GET", base+"data.project:p&limit=101", nil), 400, "limit")
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"data.project:p AND data.service:a,b", "shkeptncontext:x", "a:b:c", " AND ", "data.x.y:1,,2", ":", "a.$b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		terms, err := parseFilter(s)
		if err != nil {
			return
		}
		if len(terms) == 0 || len(terms) > maxFilterTerms {
			t.Fatalf("%d terms", len(terms))
		}
		for _, term := range terms {
			if term.Key == "" || len(term.Values) == 0 {
				t.Fatalf("empty term %+v", term)
			}
			for _, v := range term.Values {
				if v == "" || strings.Contains(v, ",") {
					t.Fatalf("bad value %q", v)
				}
			}
			// Matching never panics, whatever the document.
			term.matches(map[string]any{"data": map[string]any{"x": []any{1}, "y": nil}, "a": "b"})
		}
	})
}
