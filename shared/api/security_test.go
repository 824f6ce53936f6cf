package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
)

// POST /internal/history takes only the history token (header or query),
// never the API's, and refuses everything when none is configured.
func TestHistoryIngestNeedsItsToken(t *testing.T) {
	body := structuredEvent(t, "h1", "sh.keptn.event.deployment.finished", t0, "trig-1",
		map[string]any{"project": "p", "stage": "dev", "service": "carts", "result": "pass"})
	send := func(e *env, path string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", path, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/cloudevents+json")
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		return w
	}
	for name, tc := range map[string]struct {
		cfg    Config
		path   string
		hdr    []string
		status int
	}{
		"no token":                 {path: HistoryPath, status: 401},
		"wrong token":              {path: HistoryPath, hdr: []string{HistoryTokenHeader, "nope"}, status: 401},
		"the API token in x-token": {path: HistoryPath, hdr: []string{"x-token", testToken}, status: 401},
		"the API token as history": {path: HistoryPath, hdr: []string{HistoryTokenHeader, testToken}, status: 401},
		"header":                   {path: HistoryPath, hdr: []string{HistoryTokenHeader, testHistoryToken}, status: 200},
		"query (Knative Trigger)":  {path: HistoryPath + "?token=" + testHistoryToken, status: 200},
		"rotation: second token":   {cfg: Config{HistoryTokens: []string{"old", " new "}}, path: HistoryPath, hdr: []string{HistoryTokenHeader, "new"}, status: 200},
		"none configured":          {cfg: Config{HistoryTokens: []string{}}, path: HistoryPath, hdr: []string{HistoryTokenHeader, ""}, status: 401},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, tc.cfg)
			e.mkProject(t, "p", "carts")
			w := send(e, tc.path, tc.hdr...)
			if tc.status != 200 {
				wantError(t, w, tc.status, "invalid credentials")
				evs, _, _ := e.store.ListEvents(t.Context(), store.EventQuery{Project: "p"}, store.Page{})
				if len(evs) != 0 {
					t.Fatalf("refused event stored: %+v", evs)
				}
				return
			}
			wantStatus(t, w, 200)
		})
	}
}

// The history is per project: an event without one, or with names that
// break Keptn's rule, is refused (400: never retried).
func TestHistoryIngestRefusesEventsWithoutProject(t *testing.T) {
	e := newEnv(t, Config{})
	e.mkProject(t, "p", "carts")
	for name, data := range map[string]map[string]any{
		"no project":    {"stage": "dev", "service": "carts"},
		"empty project": {"project": "", "stage": "dev"},
		"bad service":   {"project": "p", "stage": "dev", "service": "carts;id"},
	} {
		t.Run(name, func(t *testing.T) {
			w := e.ingest(t, structuredEvent(t, "n-"+name, "sh.keptn.event.deployment.finished", t0, "", data), true)
			wantStatus(t, w, http.StatusBadRequest)
		})
	}
	evs, _, err := e.store.ListEvents(t.Context(), store.EventQuery{}, store.Page{})
	if err != nil || len(evs) != 0 {
		t.Fatalf("stored %d events (%v)", len(evs), err)
	}
}

// Names that reach script environments and paths follow Keptn's rule on
// POST /api/v1/event, with or without the event validation.
func TestPostEventRefusesBadNames(t *testing.T) {
	for _, skip := range []bool{false, true} {
		e := newEnv(t, Config{SkipEventValidation: skip})
		for name, data := range map[string]map[string]any{
			"service with ;":        {"project": "p", "stage": "dev", "service": "carts;id"},
			"service with $()":      {"project": "p", "stage": "dev", "service": "$(id)"},
			"service with backtick": {"project": "p", "stage": "dev", "service": "a`id`"},
			"service with quote":    {"project": "p", "stage": "dev", "service": `a"b`},
			"service with bidi":     {"project": "p", "stage": "dev", "service": "ab\u202e"},
			"project with slash":    {"project": "../p", "stage": "dev", "service": "carts"},
		} {
			t.Run(name, func(t *testing.T) {
				w := e.do(t, "POST", "/api/v1/event", map[string]any{"type": "sh.keptn.event.dev.delivery.triggered",
					"source": "test", "specversion": "1.0", "data": data})
				wantError(t, w, http.StatusBadRequest, "must start with a lower case letter")
			})
		}
		e.pub.mu.Lock()
		n := len(e.pub.events)
		e.pub.mu.Unlock()
		if n != 0 {
			t.Fatalf("published %d events with bad names", n)
		}
	}
}

// Listings are bounded by their page: no page size (Keptn: everything) or
// a huge one reads and returns at most maxPageSize items.
func TestListingsAreBounded(t *testing.T) {
	e := newEnv(t, Config{})
	for name, tc := range map[string]struct {
		query string
		want  int
	}{
		"no page size":   {"", maxPageSize},
		"huge page size": {"?pageSize=100000", maxPageSize},
		"small":          {"?pageSize=7", 7},
	} {
		t.Run("sequence states, "+name, func(t *testing.T) {
			wantStatus(t, e.do(t, "GET", "/api/controlPlane/v1/sequence/p"+tc.query, nil), 200)
			e.seq.mu.Lock()
			got := e.seq.stateFilter.PageSize
			e.seq.mu.Unlock()
			if got != tc.want {
				t.Fatalf("page size passed on %d, want %d", got, tc.want)
			}
		})
	}
	for i := range maxPageSize + 2 {
		e.mkProject(t, fmt.Sprintf("p%03d", i), "carts")
	}
	var out struct {
		Projects    []json.RawMessage `json:"projects"`
		NextPageKey string            `json:"nextPageKey"`
	}
	w := e.do(t, "GET", "/api/controlPlane/v1/project?pageSize=100000", nil)
	wantStatus(t, w, 200)
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Projects) != maxPageSize || out.NextPageKey != fmt.Sprint(maxPageSize) {
		t.Fatalf("projects page of %d, nextPageKey %q; want %d and %d", len(out.Projects), out.NextPageKey, maxPageSize, maxPageSize)
	}
}

// countingEvents counts history queries.
type countingEvents struct {
	store.Store
	mu    sync.Mutex
	calls int
}

func (c *countingEvents) ListEvents(ctx context.Context, q store.EventQuery, p store.Page) ([]*store.Event, string, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	return c.Store.ListEvents(ctx, q, p)
}

// excludeInvalidated asks the store once per task type, not once per event.
func TestExcludeInvalidatedQueriesPerTaskNotPerEvent(t *testing.T) {
	e := newEnv(t, Config{})
	e.mkProject(t, "p", "carts")
	for i := range 60 {
		data := map[string]any{"project": "p", "stage": "dev", "service": "carts", "result": "pass"}
		wantStatus(t, e.ingest(t, structuredEvent(t, fmt.Sprintf("f%03d", i), "sh.keptn.event.evaluation.finished",
			t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("trig-%03d", i), data), true), 200)
	}
	wantStatus(t, e.ingest(t, structuredEvent(t, "inv1", "sh.keptn.event.evaluation.invalidated", t0.Add(time.Hour), "trig-059",
		map[string]any{"project": "p", "stage": "dev", "service": "carts"}), true), 200)
	cs := &countingEvents{Store: e.store}
	h := New(Config{Tokens: []string{testToken}}, Deps{Store: cs, Publisher: e.pub, Sequences: e.seq, Clock: e.clock.Now})
	r := httptest.NewRequest("GET", "/api/mongodb-datastore/event/type/sh.keptn.event.evaluation.finished?filter=data.project:p&excludeInvalidated=true&limit=100", nil)
	r.Header.Set("x-token", testToken)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	wantStatus(t, w, 200)
	var out struct {
		Events []struct {
			ID string `json:"id"`
		} `json:"events"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 59 {
		t.Fatalf("%d events, want 59 (one invalidated)", len(out.Events))
	}
	for _, ev := range out.Events {
		if ev.ID == "f059" {
			t.Fatal("the invalidated evaluation is listed")
		}
	}
	if cs.calls > 3 {
		t.Fatalf("%d history queries for 60 events, want one page and one per task type", cs.calls)
	}
}
