package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/store"
)

func rawItems(n int, key string) []json.RawMessage {
	var out []json.RawMessage
	for i := 0; i < n; i++ {
		out = append(out, json.RawMessage(fmt.Sprintf(`{%q:%d}`, key, i)))
	}
	return out
}

func TestSequenceStates(t *testing.T) {
	e := newEnv(t, Config{})
	e.seq.states = rawItems(5, "n")
	w := e.do(t, "GET", "/api/controlPlane/v1/sequence/p?name=delivery&state=started&fromTime=2024-01-01T00:00:00.000Z&beforeTime=2024-02-01T00:00:00Z&keptnContext=a,%20b,&pageSize=2&nextPageKey=2", nil)
	wantStatus(t, w, 200)
	got := decode[struct {
		States      []map[string]int `json:"states"`
		NextPageKey int              `json:"nextPageKey"`
		TotalCount  int              `json:"totalCount"`
	}](t, w)
	if len(got.States) != 2 || got.States[0]["n"] != 2 || got.NextPageKey != 4 || got.TotalCount != 5 {
		t.Fatalf("got %+v", got)
	}
	f := e.seq.stateFilter
	if e.seq.stateProj != "p" || f.Name != "delivery" || f.State != "started" || strings.Join(f.KeptnContexts, "|") != "a|b" ||
		!f.FromTime.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) || f.BeforeTime.Month() != 2 || f.PageSize != 2 || f.NextPageKey != 2 {
		t.Fatalf("filter %+v", f)
	}
	// Last page: no nextPageKey.
	if m := decode[map[string]any](t, e.do(t, "GET", "/api/controlPlane/v1/sequence/p?pageSize=2&nextPageKey=4", nil)); m["nextPageKey"] != nil {
		t.Fatalf("last page %v", m)
	}
	e.seq.states = nil
	if m := decode[map[string]any](t, e.do(t, "GET", "/api/controlPlane/v1/sequence/unknown", nil)); fmt.Sprint(m["states"]) != "[]" {
		t.Fatalf("empty %v", m)
	}
	wantError(t, e.do(t, "GET", "/api/controlPlane/v1/sequence/p?fromTime=yesterday", nil), 400, "fromTime")
	wantError(t, e.do(t, "GET", "/api/controlPlane/v1/sequence/p?nextPageKey=abc", nil), 400, "nextPageKey")
}

func TestSequenceControl(t *testing.T) {
	e := newEnv(t, Config{})
	for _, tc := range []struct {
		name   string
		body   any
		status int
		msg    string
	}{
		{"abort", map[string]any{"state": "abort"}, 200, ""},
		{"pause stage", map[string]any{"state": "pause", "stage": "dev"}, 200, ""},
		{"unknown state is a no-op", map[string]any{"state": "dance"}, 200, ""},
		{"missing state", map[string]any{"stage": "dev"}, 400, "state"},
		{"invalid json", "{", 400, "invalid request body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, "POST", "/api/controlPlane/v1/sequence/p/ctx-1/control", tc.body)
			if tc.status != 200 {
				wantError(t, w, tc.status, tc.msg)
				return
			}
			wantStatus(t, w, 200)
			if strings.TrimSpace(w.Body.String()) != "{}" {
				t.Fatalf("body %q", w.Body)
			}
		})
	}
	if got := strings.Join(e.seq.controls, " "); got != "p|ctx-1|abort| p|ctx-1|pause|dev p|ctx-1|dance|" {
		t.Fatalf("controls %s", got)
	}
	e.seq.controlErr = errors.New("db down")
	wantError(t, e.do(t, "POST", "/api/controlPlane/v1/sequence/p/c/control", map[string]any{"state": "abort"}), 500, "Unable to control sequence")
}

func TestSequenceExecutions(t *testing.T) {
	e := newEnv(t, Config{})
	e.mkProject(t, "p")
	e.seq.execs = rawItems(12, "i")

	wantError(t, e.do(t, "GET", "/api/controlPlane/v1/sequence-execution", nil), 400, "project name must not be empty")
	wantError(t, e.do(t, "GET", "/api/controlPlane/v1/sequence-execution?project=nope", nil), 404, "project not found")

	// pageSize 0 = all: the API pages through the engine until done.
	all := decode[map[string]any](t, e.do(t, "GET", "/api/controlPlane/v1/sequence-execution?project=p&stage=dev&service=carts&name=delivery&status=started&keptnContext=k", nil))
	if n := len(all["sequenceExecutions"].([]any)); n != 12 || all["totalCount"] != float64(12) || all["pageSize"] != float64(12) || all["nextPageKey"] != nil {
		t.Fatalf("all: %v", all)
	}
	want := store.RunQuery{Project: "p", Stage: "dev", Service: "carts", Sequence: "delivery", State: "started", KeptnContext: "k"}
	if e.seq.execQuery != want {
		t.Fatalf("query %+v", e.seq.execQuery)
	}

	var got []string
	key := ""
	for i := 0; i < 10; i++ {
		m := decode[map[string]any](t, e.do(t, "GET", "/api/controlPlane/v1/sequence-execution?project=p&pageSize=5&nextPageKey="+key, nil))
		for _, x := range m["sequenceExecutions"].([]any) {
			got = append(got, fmt.Sprint(x.(map[string]any)["i"]))
		}
		next, _ := m["nextPageKey"].(string)
		if next == "" {
			break
		}
		key = next
	}
	if strings.Join(got, ",") != "0,1,2,3,4,5,6,7,8,9,10,11" {
		t.Fatalf("paged %v", got)
	}
	wantError(t, e.do(t, "GET", "/api/controlPlane/v1/sequence-execution?project=p&pageSize=5000", nil), 400, "pageSize")
}

func TestOpenTriggered(t *testing.T) {
	e := newEnv(t, Config{})
	e.mkProject(t, "p")
	for i := 0; i < 25; i++ {
		ev, _ := keptn.NewEvent("sh.keptn.event.deployment.triggered", keptn.Meta{ID: fmt.Sprint("id-", i), Source: "x", Time: t0, Context: "c"}, map[string]any{"project": "p"})
		e.seq.open = append(e.seq.open, ev)
	}
	w := e.do(t, "GET", "/api/controlPlane/v1/event/triggered/sh.keptn.event.deployment.triggered?project=p&stage=dev&service=carts&eventID=id-3", nil)
	wantStatus(t, w, 200)
	got := decode[struct {
		Events      []event.Event `json:"events"`
		NextPageKey string        `json:"nextPageKey"`
	}](t, w)
	if len(got.Events) != 20 || got.NextPageKey != "more" || got.Events[0].ID() != "id-0" {
		t.Fatalf("page: %d %q", len(got.Events), got.NextPageKey)
	}
	q := e.seq.openQuery
	if q.Type != "sh.keptn.event.deployment.triggered" || q.Project != "p" || q.Stage != "dev" || q.Service != "carts" ||
		q.TaskTriggeredID != "id-3" || !q.Until.Equal(t0) || e.seq.openPage.Size != 20 {
		t.Fatalf("query %+v page %+v", q, e.seq.openPage)
	}
	m := decode[map[string]any](t, e.do(t, "GET", "/api/controlPlane/v1/event/triggered/sh.keptn.event.deployment.triggered?nextPageKey=more", nil))
	if m["nextPageKey"] != "0" {
		t.Fatalf("last page %v", m["nextPageKey"])
	}
	wantError(t, e.do(t, "GET", "/api/controlPlane/v1/event/triggered/sh.keptn.event.deployment.triggered?project=nope", nil), 404, "Project not found")
	_ = e.do(t, "GET", "/api/controlPlane/v1/event/triggered/x?pageSize=1000", nil)
	if e.seq.openPage.Size != maxPageSize {
		t.Fatalf("page size not capped: %d", e.seq.openPage.Size)
	}
	if e.seq.openQuery.Project != "" {
		t.Fatal("no project means all projects")
	}
}
