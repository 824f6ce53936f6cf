package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
)

const testToken = "test-token-1"

// testHistoryToken authenticates the test broker at /internal/history.
const testHistoryToken = "history-token-1"

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// recPublisher records published events; fail makes Publish fail.
type recPublisher struct {
	mu     sync.Mutex
	events []event.Event
	fail   bool
}

func (p *recPublisher) Publish(_ context.Context, e event.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return errors.New("broker down")
	}
	p.events = append(p.events, e)
	return nil
}

func (p *recPublisher) types() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, e := range p.events {
		out = append(out, e.Type())
	}
	return out
}

func (p *recPublisher) last() event.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.events[len(p.events)-1]
}

// fakeSequences stands for the engine (tested elsewhere): it records the
// calls it gets and answers with canned data.
type fakeSequences struct {
	mu          sync.Mutex
	states      []json.RawMessage
	stateFilter StateFilter
	stateProj   string
	execs       []json.RawMessage // all executions; paged by integer token
	execQuery   store.RunQuery
	execPages   []store.Page
	controls    []string
	controlErr  error
	open        []event.Event
	openQuery   store.OpenQuery
	openPage    store.Page
}

func (f *fakeSequences) States(_ context.Context, project string, fl StateFilter) ([]json.RawMessage, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stateProj, f.stateFilter = project, fl
	lo, hi, _ := paginate(len(f.states), fl.NextPageKey, fl.PageSize)
	return f.states[lo:hi], len(f.states), nil
}

func (f *fakeSequences) Executions(_ context.Context, q store.RunQuery, p store.Page) ([]json.RawMessage, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.execQuery = q
	f.execPages = append(f.execPages, p)
	off := 0
	if p.Token != "" {
		if _, err := fmt.Sscanf(p.Token, "tok%d", &off); err != nil {
			return nil, "", fmt.Errorf("bad token %q", p.Token)
		}
	}
	size := p.Size
	if size == 0 {
		size = 7 // "driver default"
	}
	lo, hi := min(off, len(f.execs)), min(off+size, len(f.execs))
	next := ""
	if hi < len(f.execs) {
		next = fmt.Sprintf("tok%d", hi)
	}
	return f.execs[lo:hi], next, nil
}

func (f *fakeSequences) Control(_ context.Context, project, kctx, state, stage string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.controls = append(f.controls, strings.Join([]string{project, kctx, state, stage}, "|"))
	return f.controlErr
}

func (f *fakeSequences) OpenTriggered(_ context.Context, q store.OpenQuery, p store.Page) ([]event.Event, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.openQuery, f.openPage = q, p
	next := ""
	if p.Token == "" && len(f.open) > p.Size {
		next = "more"
		return f.open[:p.Size], next, nil
	}
	return f.open, next, nil
}

type env struct {
	h     http.Handler
	store store.Store
	pub   *recPublisher
	seq   *fakeSequences
	clock *fakeClock
	ids   int
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	st, err := embedded.OpenOptions(filepath.Join(t.TempDir(), "store.db"), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if cfg.Tokens == nil {
		cfg.Tokens = []string{testToken}
	}
	if cfg.HistoryTokens == nil {
		cfg.HistoryTokens = []string{testHistoryToken}
	}
	e := &env{store: st, pub: &recPublisher{}, seq: &fakeSequences{}, clock: &fakeClock{now: t0}}
	var mu sync.Mutex
	e.h = New(cfg, Deps{Store: st, Publisher: e.pub, Sequences: e.seq, Clock: e.clock.Now,
		NewID: func() string {
			mu.Lock()
			defer mu.Unlock()
			e.ids++
			return fmt.Sprintf("00000000-0000-4000-8000-%012d", e.ids)
		}})
	return e
}

// do sends a request with the test token (unless headers say otherwise).
func (e *env) do(t *testing.T, method, path string, body any, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	r := httptest.NewRequest(method, path, rd)
	r.RemoteAddr = "192.0.2.1:1234"
	r.Header.Set("x-token", testToken)
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			r.Header.Del(hdr[i])
		} else {
			r.Header.Set(hdr[i], hdr[i+1])
		}
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// wantError asserts a Keptn error body with the status as code.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, msgContains string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
	var e Error
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %q: %v", w.Body, err)
	}
	if e.Code != status || e.Message == "" {
		t.Fatalf("error body = %+v, want code %d and a message", e, status)
	}
	if !strings.Contains(e.Message, msgContains) {
		t.Fatalf("message %q does not contain %q", e.Message, msgContains)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %q: %v", w.Body, err)
	}
	return v
}

func wantStatus(t *testing.T, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
}

const testShipyard = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata:
  name: shipyard-sockshop
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          tasks:
            - name: deployment
            - name: evaluation
    - name: hardening
      sequences:
        - name: delivery
          triggeredOn:
            - event: dev.delivery.finished
          tasks:
            - name: deployment
    - name: production
      sequences:
        - name: delivery
          triggeredOn:
            - event: hardening.delivery.finished
          tasks:
            - name: release
`

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// mkProject creates a project with the test shipyard and the given services.
func (e *env) mkProject(t *testing.T, name string, services ...string) {
	t.Helper()
	wantStatus(t, e.do(t, "POST", "/api/controlPlane/v1/project", map[string]any{"name": name, "shipyard": b64(testShipyard)}), http.StatusCreated)
	for _, s := range services {
		wantStatus(t, e.do(t, "POST", "/api/controlPlane/v1/project/"+name+"/service", map[string]any{"serviceName": s}), http.StatusOK)
	}
}
