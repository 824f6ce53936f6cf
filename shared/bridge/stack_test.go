package bridge

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"github.com/slipwayhq/slipway/shared/api"
	"github.com/slipwayhq/slipway/shared/controlplane"
	"github.com/slipwayhq/slipway/shared/controlplane/apiview"
	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/store/embedded"
)

// stack is the API, the control plane and the Bridge in one process over an
// embedded store. Events go through a queue that drain delivers as the
// broker would: to the history ingest and to the control plane.
type stack struct {
	t       testing.TB
	api     http.Handler
	h       http.Handler // the Bridge mounted in front of the API
	fn      *controlplane.Function
	mu      sync.Mutex
	queue   []event.Event
	deliver bool // false: events stay queued until drain
}

const (
	testToken    = "bridge-test-token"
	historyToken = "bridge-test-history-token"
)

func (s *stack) Publish(_ context.Context, e event.Event) error {
	s.mu.Lock()
	s.queue = append(s.queue, e.Clone())
	s.mu.Unlock()
	return nil
}

func newStack(t testing.TB, cfg Config) *stack {
	t.Helper()
	st, err := embedded.OpenOptions(t.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	s := &stack{t: t}
	cp := controlplane.New(st, s, engine.New(engine.Config{}))
	s.fn = controlplane.NewFunction(cp, s)
	s.api = api.New(api.Config{Tokens: []string{testToken}, HistoryTokens: []string{historyToken}}, api.Deps{Store: st, Publisher: s, Sequences: apiview.Sequences{CP: cp}})
	s.h, err = Mount(cfg, s.api, testToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// drain delivers queued events until none is left.
func (s *stack) drain() {
	s.t.Helper()
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.mu.Unlock()
			return
		}
		e := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		raw, err := structured(e)
		if err != nil {
			s.t.Fatal(err)
		}
		req := httptest.NewRequest("POST", api.HistoryPath, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/cloudevents+json")
		req.Header.Set("X-Slipway-History-Token", historyToken)
		w := httptest.NewRecorder()
		s.api.ServeHTTP(w, req)
		if w.Code != 200 {
			s.t.Fatalf("history ingest of %s: %d %s", e.Type(), w.Code, w.Body)
		}
		if err := s.fn.Handle(context.Background(), e); err != nil {
			s.t.Fatalf("control plane on %s: %v", e.Type(), err)
		}
	}
}

// structured is e as structured JSON with data inline, as the broker
// delivers Keptn events.
func structured(e event.Event) ([]byte, error) {
	raw, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if _, ok := m["data_base64"]; ok {
		delete(m, "data_base64")
		m["data"] = json.RawMessage(e.Data())
	}
	return json.Marshal(m)
}

// call sends a request to the mounted handler.
func (s *stack) call(method, path string, body io.Reader, hdr map[string]string) *httptest.ResponseRecorder {
	s.t.Helper()
	req := httptest.NewRequest(method, path, body)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req)
	return w
}

// apiDo calls the API as a client with the token; JSON in, JSON out.
func (s *stack) apiDo(method, path string, body, out any) int {
	s.t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	w := s.call(method, path, rd, map[string]string{"x-token": testToken, "Content-Type": "application/json"})
	if out != nil {
		_ = json.Unmarshal(w.Body.Bytes(), out)
	}
	return w.Code
}

func (s *stack) createProject(name, shipyard string, services ...string) {
	s.t.Helper()
	if c := s.apiDo("POST", "/api/controlPlane/v1/project", map[string]any{"name": name,
		"shipyard": base64.StdEncoding.EncodeToString([]byte(shipyard))}, nil); c/100 != 2 {
		s.t.Fatalf("create project: %d", c)
	}
	for _, svc := range services {
		if c := s.apiDo("POST", "/api/controlPlane/v1/project/"+name+"/service", map[string]any{"serviceName": svc}, nil); c/100 != 2 {
			s.t.Fatalf("create service: %d", c)
		}
	}
	s.drain()
}

// trigger starts a sequence and returns its keptnContext.
func (s *stack) trigger(project, stage, seq, service string, data map[string]any) string {
	s.t.Helper()
	d := map[string]any{"project": project, "stage": stage, "service": service}
	for k, v := range data {
		d[k] = v
	}
	var out struct {
		KeptnContext string `json:"keptnContext"`
	}
	if c := s.apiDo("POST", "/api/v1/event", map[string]any{"specversion": "1.0", "source": "test",
		"type": "sh.keptn.event." + stage + "." + seq + ".triggered", "data": d}, &out); c != 200 {
		s.t.Fatalf("trigger: %d", c)
	}
	s.drain()
	return out.KeptnContext
}

type openEvent struct {
	ID             string         `json:"id"`
	Type           string         `json:"type"`
	Shkeptncontext string         `json:"shkeptncontext"`
	Data           map[string]any `json:"data"`
}

// open returns the open .triggered of task in kctx, or nil.
func (s *stack) open(project, task, kctx string) *openEvent {
	s.t.Helper()
	var out struct {
		Events []openEvent `json:"events"`
	}
	s.apiDo("GET", "/api/controlPlane/v1/event/triggered/sh.keptn.event."+task+".triggered?project="+project, nil, &out)
	for i := range out.Events {
		if out.Events[i].Shkeptncontext == kctx {
			return &out.Events[i]
		}
	}
	return nil
}

// finish answers an open task as an executor would: started, then finished
// (an approval only finished: the approval service sent its started).
func (s *stack) finish(o *openEvent, source, result string) {
	s.t.Helper()
	kinds := []string{"started", "finished"}
	if o.Type == "sh.keptn.event.approval.triggered" {
		kinds = kinds[1:]
	}
	task := strings.TrimSuffix(strings.TrimPrefix(o.Type, "sh.keptn.event."), ".triggered")
	data := map[string]any{"project": o.Data["project"], "stage": o.Data["stage"], "service": o.Data["service"]}
	for _, kind := range kinds {
		ev := map[string]any{"specversion": "1.0", "source": source, "type": "sh.keptn.event." + task + "." + kind,
			"id": uuid.NewString(), "shkeptncontext": o.Shkeptncontext, "triggeredid": o.ID, "data": data}
		if kind == "finished" {
			data["result"], data["status"] = result, "succeeded"
		}
		if c := s.apiDo("POST", "/api/v1/event", ev, nil); c != 200 {
			s.t.Fatalf("answer %s: %d", task, c)
		}
	}
	s.drain()
}

func (s *stack) state(project, kctx string) string {
	var out struct {
		States []struct {
			State string `json:"state"`
		} `json:"states"`
	}
	s.apiDo("GET", "/api/controlPlane/v1/sequence/"+project+"?keptnContext="+kctx, nil, &out)
	if len(out.States) == 0 {
		return ""
	}
	return out.States[0].State
}

// post submits a Bridge form from the Bridge's own origin.
func (s *stack) post(path string, form url.Values) *httptest.ResponseRecorder {
	s.t.Helper()
	w := s.call("POST", path, strings.NewReader(form.Encode()), map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"})
	s.drain()
	return w
}
