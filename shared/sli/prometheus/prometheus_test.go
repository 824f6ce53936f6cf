package prometheus

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/keptn"
)

// fakePrometheus answers /api/v1/query from a table of query → response
// data (the unit tests only check how answers map to get-sli results; the
// e2e test runs the real Prometheus).
func fakePrometheus(t *testing.T, answers map[string]string) (*httptest.Server, *[]url.Values) {
	t.Helper()
	var mu sync.Mutex
	var seen []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		seen = append(seen, r.Form)
		mu.Unlock()
		q := r.Form.Get("query")
		w.Header().Set("Content-Type", "application/json")
		a, ok := answers[q]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"parse error: unexpected character"}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"success","data":` + a + `}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

type capture struct {
	mu     sync.Mutex
	events []event.Event
}

func (c *capture) Send(_ context.Context, e event.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, e)
	return nil
}

func getSLI(t *testing.T, provider string, indicators ...string) event.Event {
	t.Helper()
	e, err := keptn.NewEvent("sh.keptn.event.get-sli.triggered", keptn.Meta{ID: "gs-1", Source: "lighthouse-service", Time: time.Now(), Context: "ctx-1"},
		map[string]any{"project": "shop", "stage": "dev", "service": "carts", "labels": map[string]string{"v": "2"},
			"getSli": map[string]any{"sliProvider": provider, "start": "2026-01-01T10:00:00.000Z", "end": "2026-01-01T10:05:00.000Z",
				"indicators": indicators, "customFilters": []map[string]string{{"key": "handler", "value": "/x"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type finished struct {
	Status  string `json:"status"`
	Result  string `json:"result"`
	Message string `json:"message"`
	GetSLI  struct {
		Start, End      string
		IndicatorValues []Value `json:"indicatorValues"`
	} `json:"getSli"`
}

func TestProvider(t *testing.T) {
	vector := func(v string) string {
		return `{"resultType":"vector","result":[{"metric":{},"value":[1767261900,"` + v + `"]}]}`
	}
	prom, seen := fakePrometheus(t, map[string]string{
		`rt{service="carts",stage="dev",v="2",h="/x"}`: vector("0.25"),
		`errors[300s]`: vector("3"),
		`empty`:        `{"resultType":"vector","result":[]}`,
		`two`:          `{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"2"},"value":[1,"2"]}]}`,
		`scalar(1)`:    `{"resultType":"scalar","result":[1,"7"]}`,
		`nan`:          vector("NaN"),
	})
	sliYAML := `spec_version: '1.0'
indicators:
  response_time: rt{service="$SERVICE",stage="$STAGE",v="$LABEL.v",h="$handler"}
  errors: errors[$DURATION_SECONDS]
  empty: empty
  two: two
  scalar: scalar(1)
  nan: nan
  bad: 'rate(('
`
	tests := map[string]struct {
		provider   string
		indicators []string
		files      map[string]string // level key ("", "dev", "dev/carts") + uri → content
		url        string
		status     string
		result     string
		msg        []string
		values     map[string]float64 // successful values
		silent     bool
	}{
		"values": {provider: "prometheus", indicators: []string{"response_time", "errors", "scalar"},
			files: map[string]string{"|" + SLIFile: sliYAML}, url: prom.URL,
			status: "succeeded", result: "pass", values: map[string]float64{"response_time": 0.25, "errors": 3, "scalar": 7}},
		"another provider's request is ignored": {provider: "dynatrace", indicators: []string{"errors"}, silent: true},
		"empty result fails":                    {provider: "prometheus", indicators: []string{"errors", "empty"}, files: map[string]string{"|" + SLIFile: sliYAML}, url: prom.URL, status: "succeeded", result: "fail", msg: []string{"SLI empty", "returned no data"}, values: map[string]float64{"errors": 3}},
		"several series fail":                   {provider: "prometheus", indicators: []string{"two"}, files: map[string]string{"|" + SLIFile: sliYAML}, url: prom.URL, status: "succeeded", result: "fail", msg: []string{"returned 2 series"}},
		"NaN fails":                             {provider: "prometheus", indicators: []string{"nan"}, files: map[string]string{"|" + SLIFile: sliYAML}, url: prom.URL, status: "succeeded", result: "fail", msg: []string{"returned NaN"}},
		"bad query fails":                       {provider: "prometheus", indicators: []string{"bad"}, files: map[string]string{"|" + SLIFile: sliYAML}, url: prom.URL, status: "succeeded", result: "fail", msg: []string{"SLI bad", "bad_data"}},
		"unknown indicator fails":               {provider: "prometheus", indicators: []string{"nope"}, files: map[string]string{"|" + SLIFile: sliYAML}, url: prom.URL, status: "succeeded", result: "fail", msg: []string{"no query for SLI nope in prometheus/sli.yaml"}},
		"no sli.yaml":                           {provider: "prometheus", indicators: []string{"errors"}, url: prom.URL, status: "errored", result: "fail", msg: []string{"no prometheus/sli.yaml for service carts"}},
		"malformed sli.yaml names the field":    {provider: "prometheus", indicators: []string{"errors"}, files: map[string]string{"dev|" + SLIFile: "spec_version: '1.0'\nindicators: {errors: [x]}\n"}, url: prom.URL, status: "errored", result: "fail", msg: []string{"prometheus/sli.yaml (stage level)", "indicators must map"}},
		"service level overrides project level": {provider: "prometheus", indicators: []string{"errors"},
			files: map[string]string{"|" + SLIFile: sliYAML, "dev/carts|" + SLIFile: "spec_version: '1.0'\nindicators: {errors: scalar(1)}\n"}, url: prom.URL,
			status: "succeeded", result: "pass", values: map[string]float64{"errors": 7}},
		"no server configured": {provider: "prometheus", indicators: []string{"errors"}, files: map[string]string{"|" + SLIFile: sliYAML}, status: "errored", result: "fail", msg: []string{"no Prometheus server"}},
		"server from prometheus/config.yaml": {provider: "prometheus", indicators: []string{"errors"},
			files:  map[string]string{"|" + SLIFile: sliYAML, "dev|" + ConfigFile: "url: " + prom.URL + "\n"},
			status: "succeeded", result: "pass", values: map[string]float64{"errors": 3}},
		"unreachable server": {provider: "prometheus", indicators: []string{"errors"}, files: map[string]string{"|" + SLIFile: sliYAML}, url: "http://" + closedAddr(t),
			status: "succeeded", result: "fail", msg: []string{"SLI errors", "connection refused"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := &executor.MemResources{}
			for k, v := range tc.files {
				level, uri, _ := strings.Cut(k, "|")
				stage, service, _ := strings.Cut(level, "/")
				res.Put("shop", stage, service, uri, []byte(v))
			}
			c := &capture{}
			p, err := New(Config{URL: tc.url, AllowHosts: []string{"127.0.0.1"}, QueryTimeout: 5 * time.Second}, res, c, zap.NewNop())
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Handle(context.Background(), getSLI(t, tc.provider, tc.indicators...)); err != nil {
				t.Fatal(err)
			}
			if tc.silent {
				if len(c.events) != 0 {
					t.Fatalf("sent %d events for another provider", len(c.events))
				}
				return
			}
			if len(c.events) != 2 || c.events[0].Type() != "sh.keptn.event.get-sli.started" || c.events[1].Type() != "sh.keptn.event.get-sli.finished" {
				t.Fatalf("events %v", c.events)
			}
			fin := c.events[1]
			if keptn.TriggeredID(fin) != "gs-1" || keptn.Context(fin) != "ctx-1" || fin.Source() != Source {
				t.Fatalf("finished envelope %v", fin)
			}
			var f finished
			if err := json.Unmarshal(fin.Data(), &f); err != nil {
				t.Fatal(err)
			}
			if f.Status != tc.status || f.Result != tc.result {
				t.Fatalf("status %s result %s message %q, want %s %s", f.Status, f.Result, f.Message, tc.status, tc.result)
			}
			for _, m := range tc.msg {
				if !strings.Contains(f.Message, m) {
					t.Errorf("message %q lacks %q", f.Message, m)
				}
			}
			if len(f.GetSLI.IndicatorValues) != len(tc.indicators) || f.GetSLI.End != "2026-01-01T10:05:00.000Z" {
				t.Fatalf("getSli %+v", f.GetSLI)
			}
			for _, v := range f.GetSLI.IndicatorValues {
				want, ok := tc.values[v.Metric]
				if v.Success != ok || (ok && v.Value != want) || (!ok && v.Message == "") {
					t.Errorf("value %+v, want success=%v value %v", v, ok, want)
				}
			}
		})
	}
	// Instant queries at the end of the timeframe.
	for _, f := range *seen {
		if f.Get("time") != "1767261900" {
			t.Fatalf("query time %q, want the timeframe's end", f.Get("time"))
		}
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

func TestConfigFromResourceNeedsAllowList(t *testing.T) {
	res := &executor.MemResources{}
	res.Put("shop", "", "", SLIFile, []byte("spec_version: '1.0'\nindicators: {a: up}\n"))
	res.Put("shop", "", "", ConfigFile, []byte("url: http://127.0.0.1:9/\n"))
	c := &capture{}
	p, err := New(Config{QueryTimeout: 5 * time.Second}, res, c, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Handle(context.Background(), getSLI(t, "prometheus", "a")); err != nil {
		t.Fatal(err)
	}
	var f finished
	_ = json.Unmarshal(c.events[1].Data(), &f)
	if f.Result != "fail" || !strings.Contains(f.Message, "denied") {
		t.Fatalf("a loopback URL from a resource was not refused: %+v", f)
	}
}
