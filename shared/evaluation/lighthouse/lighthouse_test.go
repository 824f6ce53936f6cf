package lighthouse

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/keptn"
)

// memHistory is the datastore for the tests: events are matched on the
// filter terms the evaluator uses.
type memHistory struct {
	mu     sync.Mutex
	events []StoredEvent // oldest first
}

func (h *memHistory) add(e event.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, StoredEvent{ID: e.ID(), Type: e.Type(), Source: e.Source(), Shkeptncontext: keptn.Context(e),
		Triggeredid: keptn.TriggeredID(e), Gitcommitid: keptn.GitCommitID(e), Data: e.Data()})
}

func (h *memHistory) ByType(_ context.Context, typ, filter string, limit int) ([]StoredEvent, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []StoredEvent
	for i := len(h.events) - 1; i >= 0 && len(out) < limit; i-- {
		e := h.events[i]
		if e.Type != typ {
			continue
		}
		var data map[string]any
		_ = json.Unmarshal(e.Data, &data)
		ok := true
		for _, term := range strings.Split(filter, " AND ") {
			k, v, _ := strings.Cut(term, ":")
			var got string
			switch {
			case k == "shkeptncontext":
				got = e.Shkeptncontext
			case k == "source":
				got = e.Source
			default:
				got, _ = data[strings.TrimPrefix(k, "data.")].(string)
			}
			ok = ok && strings.Contains(","+v+",", ","+got+",")
		}
		if ok {
			out = append(out, e)
		}
	}
	return out, nil
}

type sink struct {
	mu      sync.Mutex
	events  []event.Event
	history *memHistory
}

func (s *sink) Send(_ context.Context, e event.Event) error {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
	s.history.add(e)
	return nil
}

func (s *sink) last(typ string) (event.Event, map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.events) - 1; i >= 0; i-- {
		if s.events[i].Type() == typ {
			var m map[string]any
			_ = json.Unmarshal(s.events[i].Data(), &m)
			return s.events[i], m
		}
	}
	return event.Event{}, nil
}

type rig struct {
	t   *testing.T
	res *executor.MemResources
	h   *memHistory
	out *sink
	l   *Lighthouse
	n   int
}

func newRig(t *testing.T, cfg Config) *rig {
	h := &memHistory{}
	r := &rig{t: t, res: &executor.MemResources{}, h: h, out: &sink{history: h}}
	r.l = New(cfg, r.res, h, r.out, zap.NewNop())
	r.l.now = func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	return r
}

func (r *rig) evalTriggered(kctx string, data map[string]any) event.Event {
	r.t.Helper()
	r.n++
	base := map[string]any{"project": "shop", "stage": "dev", "service": "carts"}
	for k, v := range data {
		base[k] = v
	}
	e, err := keptn.NewEvent(typeEvalTriggered, keptn.Meta{ID: kctx + "-eval-" + string(rune('a'+r.n)), Source: "shipyard-controller", Time: time.Now(), Context: kctx}, base)
	if err != nil {
		r.t.Fatal(err)
	}
	r.h.add(e)
	if err := r.l.Handle(context.Background(), e); err != nil {
		r.t.Fatal(err)
	}
	return e
}

// answer plays the SLI provider: get-sli.finished for the last get-sli.triggered.
func (r *rig) answer(result string, msg string, values map[string]float64) {
	r.t.Helper()
	gs, gd := r.out.last(typeGetSLITrigger)
	if gd == nil {
		r.t.Fatal("no get-sli.triggered sent")
	}
	var iv []map[string]any
	for k, v := range values {
		iv = append(iv, map[string]any{"metric": k, "value": v, "success": true})
	}
	getSLI := gd["getSli"].(map[string]any)
	e, err := keptn.NewEvent(typeGetSLIFinished, keptn.Meta{ID: gs.ID() + "-fin", Source: "prometheus-service", Time: time.Now(),
		Context: keptn.Context(gs), TriggeredID: gs.ID()}, map[string]any{"project": "shop", "stage": "dev", "service": "carts",
		"status": "succeeded", "result": result, "message": msg,
		"getSli": map[string]any{"start": getSLI["start"], "end": getSLI["end"], "indicatorValues": iv}})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.l.Handle(context.Background(), e); err != nil {
		r.t.Fatal(err)
	}
}

const slo = `spec_version: "1.0"
filter: {handler: /api}
comparison: {compare_with: single_result, include_result_with_score: pass}
objectives:
  - sli: response_time
    pass: [{criteria: ["<=+10%", "<600"]}]
    warning: [{criteria: ["<=800"]}]
  - sli: error_rate
    pass: [{criteria: ["<=1"]}]
    key_sli: true
total_score: {pass: "90%", warning: "75%"}
`

func TestFlowScoresAndCompares(t *testing.T) {
	r := newRig(t, Config{DefaultSLIProvider: "prometheus"})
	r.res.Put("shop", "dev", "carts", SLOFile, []byte(slo))
	trig := r.evalTriggered("ctx1", map[string]any{"labels": map[string]string{"v": "1"},
		"evaluation": map[string]any{"start": "2026-03-01T10:00:00.000Z", "end": "2026-03-01T10:05:00.000Z"},
		"deployment": map[string]any{"deploymentNames": []string{"canary"}}})
	started, _ := r.out.last(typeEvalStarted)
	if keptn.TriggeredID(started) != trig.ID() {
		t.Fatalf("evaluation.started triggeredid %q", keptn.TriggeredID(started))
	}
	gs, gd := r.out.last(typeGetSLITrigger)
	if gs.ID() != derivedID(trig.ID(), "get-sli") || keptn.Context(gs) != "ctx1" || gs.Source() != Source || keptn.Ext(gs, keptn.ExtSlipwayKind) != keptn.SlipwayKindTask {
		t.Fatalf("get-sli.triggered envelope %v", gs)
	}
	raw, _ := json.Marshal(gd)
	for _, want := range []string{`"sliProvider":"prometheus"`, `"start":"2026-03-01T10:00:00.000Z"`, `"end":"2026-03-01T10:05:00.000Z"`,
		`"indicators":["response_time","error_rate"]`, `"customFilters":[{"key":"handler","value":"/api"}]`, `"deployment":"canary"`, `"labels":{"v":"1"}`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("get-sli.triggered data %s lacks %s", raw, want)
		}
	}
	r.answer("pass", "", map[string]float64{"response_time": 500, "error_rate": 0})
	fin, fd := r.out.last(typeEvalFinished)
	if keptn.TriggeredID(fin) != trig.ID() || fd["result"] != "pass" || fd["status"] != "succeeded" {
		t.Fatalf("evaluation.finished %v %v", fin, fd)
	}
	ev := fd["evaluation"].(map[string]any)
	if ev["score"] != 100.0 || ev["result"] != "pass" || ev["timeStart"] != "2026-03-01T10:00:00.000Z" || ev["timeEnd"] != "2026-03-01T10:05:00.000Z" {
		t.Fatalf("evaluation block %v", ev)
	}
	if c, _ := base64.StdEncoding.DecodeString(ev["sloFileContent"].(string)); string(c) != slo {
		t.Fatalf("sloFileContent %q", c)
	}
	if fd["labels"].(map[string]any)["v"] != "1" {
		t.Fatalf("labels %v", fd["labels"])
	}

	// The second evaluation compares with the first (passed) one: 600 is
	// more than 500 + 10 %, but below 800: warning.
	r.evalTriggered("ctx2", nil)
	r.answer("pass", "", map[string]float64{"response_time": 560, "error_rate": 0})
	_, fd = r.out.last(typeEvalFinished)
	ev = fd["evaluation"].(map[string]any)
	if fd["result"] != "warning" || ev["score"] != 75.0 {
		t.Fatalf("second evaluation %v", fd)
	}
	if ce := ev["comparedEvents"].([]any); len(ce) != 1 || ce[0] != fin.ID() {
		t.Fatalf("comparedEvents %v, want [%s]", ce, fin.ID())
	}
	ir := ev["indicatorResults"].([]any)[0].(map[string]any)
	if ir["value"].(map[string]any)["comparedValue"] != 500.0 || ir["passTargets"].([]any)[0].(map[string]any)["targetValue"] != 550.0 {
		t.Fatalf("indicator %v", ir)
	}
	// A warning is not compared with (include_result_with_score: pass).
	r.evalTriggered("ctx3", nil)
	r.answer("pass", "", map[string]float64{"response_time": 540, "error_rate": 0})
	_, fd = r.out.last(typeEvalFinished)
	if ce := fd["evaluation"].(map[string]any)["comparedEvents"].([]any); fd["result"] != "pass" || len(ce) != 1 || ce[0] != fin.ID() {
		t.Fatalf("third evaluation %v", fd)
	}
}

func TestOutcomes(t *testing.T) {
	tests := map[string]struct {
		files   map[string]string // "level|uri"
		cfg     Config
		data    map[string]any
		answer  func(r *rig)
		status  string
		result  string
		message string
		noSLI   bool // no get-sli.triggered expected
	}{
		"no slo.yaml passes with a note": {cfg: Config{DefaultSLIProvider: "prometheus"}, noSLI: true,
			status: "succeeded", result: "pass", message: "no evaluation performed by lighthouse because no SLO file configured for project shop"},
		"no SLI provider passes with a note": {files: map[string]string{"|slo.yaml": slo}, noSLI: true,
			status: "succeeded", result: "pass", message: "no SLI-provider configured for project shop"},
		"malformed slo.yaml names the field": {files: map[string]string{"dev|slo.yaml": "spec_version: '1.0'\nobjectives: [{sli: a, pass: [{criteria: ['fast']}]}]\n"},
			cfg: Config{DefaultSLIProvider: "prometheus"}, noSLI: true,
			status: "errored", result: "fail", message: "slo.yaml: objectives[0].pass[0].criteria[0]"},
		"bad timeframe names the field": {files: map[string]string{"|slo.yaml": slo}, cfg: Config{DefaultSLIProvider: "prometheus"}, noSLI: true,
			data:   map[string]any{"evaluation": map[string]any{"timeframe": "soon"}},
			status: "errored", result: "fail", message: "evaluation.timeframe"},
		"provider from lighthouse-config.yaml": {files: map[string]string{"|slo.yaml": slo, "|lighthouse-config.yaml": "sli-provider: prometheus\n"},
			answer: func(r *rig) { r.answer("pass", "", map[string]float64{"response_time": 1, "error_rate": 0}) },
			status: "succeeded", result: "pass"},
		"malformed lighthouse-config.yaml": {files: map[string]string{"|slo.yaml": slo, "|lighthouse-config.yaml": "provider: x\n"}, noSLI: true,
			status: "errored", result: "fail", message: "lighthouse-config.yaml (project level): sliProvider: missing"},
		"failed SLI retrieval fails with the reason": {files: map[string]string{"|slo.yaml": slo}, cfg: Config{DefaultSLIProvider: "prometheus"},
			answer: func(r *rig) { r.answer("fail", "SLI error_rate: query returned no data", nil) },
			status: "errored", result: "fail", message: "lighthouse failed because SLI failed with message SLI error_rate: query returned no data"},
		"key SLI fails": {files: map[string]string{"|slo.yaml": slo}, cfg: Config{DefaultSLIProvider: "prometheus"},
			answer: func(r *rig) { r.answer("pass", "", map[string]float64{"response_time": 1, "error_rate": 9}) },
			status: "succeeded", result: "fail", message: "key SLI error_rate failed"},
		"failed test before fails": {files: map[string]string{"|slo.yaml": slo}, cfg: Config{DefaultSLIProvider: "prometheus"},
			answer: func(r *rig) {
				e, _ := keptn.NewEvent(typeTestFinished, keptn.Meta{ID: "t1", Source: "tester", Time: time.Now(), Context: "ctx"},
					map[string]any{"project": "shop", "stage": "dev", "service": "carts", "result": "fail"})
				r.h.add(e)
				r.answer("pass", "", map[string]float64{"response_time": 1, "error_rate": 0})
			},
			status: "errored", result: "fail", message: "failed preceding test execution"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, tc.cfg)
			for k, v := range tc.files {
				level, uri, _ := strings.Cut(k, "|")
				r.res.Put("shop", level, "", uri, []byte(v))
			}
			r.evalTriggered("ctx", tc.data)
			if gs, _ := r.out.last(typeGetSLITrigger); (gs.ID() == "") != tc.noSLI {
				t.Fatalf("get-sli.triggered sent: %v, want %v", gs.ID() != "", !tc.noSLI)
			}
			if tc.answer != nil {
				tc.answer(r)
			}
			_, fd := r.out.last(typeEvalFinished)
			if fd == nil {
				t.Fatal("no evaluation.finished")
			}
			msg, _ := fd["message"].(string)
			if fd["status"] != tc.status || fd["result"] != tc.result || !strings.Contains(msg, tc.message) {
				t.Fatalf("finished status %v result %v message %q, want %s %s %q", fd["status"], fd["result"], msg, tc.status, tc.result, tc.message)
			}
			if _, ok := fd["evaluation"].(map[string]any); !ok {
				t.Fatalf("no evaluation block: %v", fd)
			}
		})
	}
}

func TestForeignGetSLIFinishedIsRetried(t *testing.T) {
	r := newRig(t, Config{})
	e, _ := keptn.NewEvent(typeGetSLIFinished, keptn.Meta{ID: "x", Source: "dynatrace-service", Time: time.Now(), Context: "c", TriggeredID: "unknown"},
		map[string]any{"project": "shop", "stage": "dev", "service": "carts"})
	if err := r.l.Handle(context.Background(), e); err == nil {
		t.Fatal("an unknown get-sli.finished was acknowledged; it must be retried until the history has its evaluation.triggered")
	}
	if len(r.out.events) != 0 {
		t.Fatalf("sent %v", r.out.events)
	}
}

func TestWindow(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		eval, test map[string]string
		start, end string
		err        string
	}{
		"start and end":       {eval: map[string]string{"start": "2026-03-01T10:00:00Z", "end": "2026-03-01T10:30:00Z"}, start: "10:00", end: "10:30"},
		"timeframe ends now":  {eval: map[string]string{"timeframe": "10m"}, start: "11:50", end: "12:00"},
		"timeframe in days":   {eval: map[string]string{"timeframe": "1d"}, start: "12:00", end: "12:00"},
		"start and timeframe": {eval: map[string]string{"start": "2026-03-01T09:00:00Z", "timeframe": "1h"}, start: "09:00", end: "10:00"},
		"start alone is 5m":   {eval: map[string]string{"start": "2026-03-01T09:00:00Z"}, start: "09:00", end: "09:05"},
		"test window":         {test: map[string]string{"start": "2026-03-01T08:00:00Z", "end": "2026-03-01T08:20:00Z"}, start: "08:00", end: "08:20"},
		"default 5m":          {start: "11:55", end: "12:00"},
		"end without start":   {eval: map[string]string{"end": "2026-03-01T10:30:00Z"}, err: "evaluation.end"},
		"bad start":           {eval: map[string]string{"start": "yesterday", "end": "2026-03-01T10:30:00Z"}, err: "evaluation.start"},
		"start after end":     {eval: map[string]string{"start": "2026-03-01T11:00:00Z", "end": "2026-03-01T10:30:00Z"}, err: "before"},
		"negative timeframe":  {eval: map[string]string{"timeframe": "-5m"}, err: "evaluation.timeframe"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var d triggeredData
			raw, _ := json.Marshal(map[string]any{"evaluation": tc.eval, "test": tc.test})
			_ = json.Unmarshal(raw, &d)
			s, e, err := window(d, now)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Format("15:04") != tc.start || e.Format("15:04") != tc.end {
				t.Fatalf("window %s..%s, want %s..%s", s, e, tc.start, tc.end)
			}
		})
	}
}
