// Package lighthouse is the evaluator: Keptn's lighthouse-service on
// Slipway's event protocol. On sh.keptn.event.evaluation.triggered it reads
// slo.yaml and asks the project's SLI provider for the indicators
// (get-sli.triggered); on get-sli.finished it scores the values
// (evaluation package) against the SLO and earlier evaluations and sends
// evaluation.finished with Keptn's data.evaluation block.
//
// It keeps no state of its own: the get-sli.triggered id is derived from
// the evaluation.triggered id, and on get-sli.finished the evaluation.triggered
// is found again in the event history (the datastore API), as lighthouse
// did. All ids it sends are derived from the incoming ids, so a
// redelivered event produces the same events again, which Slipway's
// control plane and history count once.
package lighthouse

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"go.uber.org/zap"
	"gopkg.in/yaml.v3"

	"github.com/slipwayhq/slipway/shared/evaluation"
	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/keptn"
)

// Source is the CloudEvents source of the evaluator's events; Keptn's
// Bridge and clients look for lighthouse-service.
const Source = "lighthouse-service"

// Resource names read from the project's configuration.
const (
	SLOFile    = "slo.yaml"
	ConfigFile = "lighthouse-config.yaml"
)

// Event types.
var (
	typeEvalTriggered  = keptn.TaskType("evaluation", keptn.KindTriggered)
	typeEvalStarted    = keptn.TaskType("evaluation", keptn.KindStarted)
	typeEvalFinished   = keptn.TaskType("evaluation", keptn.KindFinished)
	typeGetSLITrigger  = keptn.TaskType("get-sli", keptn.KindTriggered)
	typeGetSLIFinished = keptn.TaskType("get-sli", keptn.KindFinished)
	typeTestFinished   = keptn.TaskType("test", keptn.KindFinished)
)

// keptnTime is Keptn's timestamp format.
const keptnTime = "2006-01-02T15:04:05.000Z"

// defaultTimeframe is Keptn's evaluation timeframe when none is given.
const defaultTimeframe = 5 * time.Minute

// Config is the evaluator's configuration (environment).
type Config struct {
	// DefaultSLIProvider answers for projects that configure none (neither
	// data.evaluation.sliProvider nor lighthouse-config.yaml). Empty: such
	// evaluations pass with a note, as in Keptn.
	DefaultSLIProvider string `envconfig:"DEFAULT_SLI_PROVIDER"`
}

// StoredEvent is an event read back from the history.
type StoredEvent struct {
	ID             string          `json:"id"`
	Type           string          `json:"type"`
	Source         string          `json:"source"`
	Time           string          `json:"time"`
	Shkeptncontext string          `json:"shkeptncontext"`
	Triggeredid    string          `json:"triggeredid"`
	Gitcommitid    string          `json:"gitcommitid"`
	Data           json.RawMessage `json:"data"`
}

// History reads stored events: the newest events of one type matching a
// Keptn datastore filter ("data.project:p AND data.stage:s").
type History interface {
	ByType(ctx context.Context, eventType, filter string, limit int) ([]StoredEvent, error)
}

// Lighthouse handles evaluation.triggered and get-sli.finished.
type Lighthouse struct {
	cfg     Config
	res     executor.Resources
	history History
	sender  executor.Sender
	log     *zap.Logger
	now     func() time.Time
}

// New returns the evaluator.
func New(cfg Config, res executor.Resources, history History, sender executor.Sender, log *zap.Logger) *Lighthouse {
	return &Lighthouse{cfg: cfg, res: res, history: history, sender: sender, log: log, now: time.Now}
}

// Handle processes one event; others are acknowledged and ignored. An
// error means nothing conclusive was sent and the event should come again.
func (l *Lighthouse) Handle(ctx context.Context, e event.Event) error {
	switch e.Type() {
	case typeEvalTriggered:
		return l.triggered(ctx, e)
	case typeGetSLIFinished:
		return l.sliFinished(ctx, e)
	}
	return nil
}

var idSpace = uuid.MustParse("5f0c3c38-8f7e-4f4b-9d55-3e0e6c1a7a10")

// derivedID names the event the evaluator sends for in (role: "started",
// "get-sli", "finished"); redeliveries produce the same id.
func derivedID(in, role string) string {
	return uuid.NewSHA1(idSpace, []byte(in+"/"+role)).String()
}

// triggeredData is the part of evaluation.triggered the evaluator reads.
type triggeredData struct {
	keptn.Data
	Evaluation struct {
		Start       string `json:"start"`
		End         string `json:"end"`
		Timeframe   string `json:"timeframe"`
		SLIProvider string `json:"sliProvider"`
	} `json:"evaluation"`
	Test struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"test"`
	Deployment struct {
		DeploymentNames []string `json:"deploymentNames"`
	} `json:"deployment"`
}

func decodeTriggered(raw []byte) (triggeredData, error) {
	var d triggeredData
	if len(raw) == 0 {
		return d, errors.New("no data")
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, err
	}
	if d.Project == "" || d.Stage == "" || d.Service == "" {
		return d, errors.New("data.project, data.stage and data.service are required")
	}
	return d, nil
}

// trig is the evaluation.triggered the evaluator answers.
type trig struct {
	ID, Context, GitCommitID string
	Data                     triggeredData
}

func (t trig) scope() executor.Scope {
	return executor.Scope{Project: t.Data.Project, Stage: t.Data.Stage, Service: t.Data.Service, GitCommitID: t.GitCommitID}
}

func (l *Lighthouse) triggered(ctx context.Context, e event.Event) error {
	d, err := decodeTriggered(e.Data())
	if err != nil {
		return executor.Malformed("evaluation.triggered %s: %v", e.ID(), err)
	}
	t := trig{ID: e.ID(), Context: keptn.Context(e), GitCommitID: keptn.GitCommitID(e), Data: d}
	if err := l.send(ctx, t, keptn.KindStarted, keptn.Data{Status: keptn.StatusSucceeded}, nil); err != nil {
		return err
	}
	start, end, err := window(d, l.now())
	if err != nil {
		return l.finish(ctx, t, failed(keptn.StatusErrored, err.Error(), "", "", ""))
	}
	ts, te := start.Format(keptnTime), end.Format(keptnTime)
	slo, content, err := l.readSLO(ctx, t)
	switch {
	case errors.Is(err, executor.ErrNotFound):
		return l.finish(ctx, t, noEvaluation(fmt.Sprintf("no evaluation performed by lighthouse because no SLO file configured for project %s", d.Project), ts, te))
	case err != nil:
		return l.finish(ctx, t, failed(keptn.StatusErrored, err.Error(), ts, te, content))
	}
	provider, err := l.sliProvider(ctx, t)
	if err != nil {
		return l.finish(ctx, t, failed(keptn.StatusErrored, err.Error(), ts, te, content))
	}
	if provider == "" {
		return l.finish(ctx, t, noEvaluation(fmt.Sprintf("no evaluation performed by lighthouse because no SLI-provider configured for project %s", d.Project), ts, te))
	}
	indicators := make([]string, 0, len(slo.Objectives))
	for _, o := range slo.Objectives {
		indicators = append(indicators, o.SLI)
	}
	keys := make([]string, 0, len(slo.Filter))
	for k := range slo.Filter {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	filters := make([]map[string]string, 0, len(keys))
	for _, k := range keys {
		filters = append(filters, map[string]string{"key": k, "value": slo.Filter[k]})
	}
	body := map[string]any{
		"project": d.Project, "stage": d.Stage, "service": d.Service,
		"getSli": map[string]any{"sliProvider": provider, "start": ts, "end": te, "indicators": indicators, "customFilters": filters},
	}
	if len(d.Labels) > 0 {
		body["labels"] = d.Labels
	}
	if len(d.Deployment.DeploymentNames) > 0 {
		body["deployment"] = d.Deployment.DeploymentNames[0]
	}
	// slipwaykind=task: the control plane's sequence Trigger drops task
	// .triggered events by it (get-sli is no sequence of the shipyard).
	ge, err := keptn.NewEvent(typeGetSLITrigger, keptn.Meta{ID: derivedID(t.ID, "get-sli"), Source: Source, Time: l.now(),
		Context: t.Context, GitCommitID: t.GitCommitID, Extra: map[string]string{keptn.ExtSlipwayKind: keptn.SlipwayKindTask}}, body)
	if err != nil {
		return err
	}
	if err := l.sender.Send(ctx, ge); err != nil {
		return fmt.Errorf("send get-sli.triggered: %w", err)
	}
	l.log.Info("evaluation started", zap.String("keptnContext", t.Context), zap.String("triggeredid", t.ID),
		zap.String("sliProvider", provider), zap.Int("indicators", len(indicators)))
	return nil
}

// sliFinishedData is get-sli.finished's data.
type sliFinishedData struct {
	keptn.Data
	GetSLI struct {
		Start           string                 `json:"start"`
		End             string                 `json:"end"`
		IndicatorValues []evaluation.SLIResult `json:"indicatorValues"`
	} `json:"getSli"`
}

func (l *Lighthouse) sliFinished(ctx context.Context, e event.Event) error {
	var d sliFinishedData
	if err := json.Unmarshal(e.Data(), &d); err != nil {
		return executor.Malformed("get-sli.finished %s: %v", e.ID(), err)
	}
	kctx, tid := keptn.Context(e), keptn.TriggeredID(e)
	if kctx == "" || tid == "" || d.Project == "" {
		return nil // cannot be an answer to one of ours
	}
	t, ok, err := l.findTriggered(ctx, kctx, d.Project, tid)
	if err != nil {
		return err
	}
	if !ok {
		// Either not ours or the history has not stored the
		// evaluation.triggered yet: let the broker try again later (a
		// foreign event ends in the dead letter after the retries).
		return fmt.Errorf("get-sli.finished %s: no evaluation.triggered of context %s asked for it (yet)", e.ID(), kctx)
	}
	ts, te := d.GetSLI.Start, d.GetSLI.End
	slo, content, err := l.readSLO(ctx, t)
	switch {
	case errors.Is(err, executor.ErrNotFound):
		return l.finish(ctx, t, noEvaluation(fmt.Sprintf("no evaluation performed by lighthouse because no SLO file configured for project %s", t.Data.Project), ts, te))
	case err != nil:
		return l.finish(ctx, t, failed(keptn.StatusErrored, err.Error(), ts, te, content))
	}
	prev, err := l.previous(ctx, t, slo)
	if err != nil {
		return err
	}
	out := slo.Evaluate(d.GetSLI.IndicatorValues, prev)
	r := result{status: keptn.StatusSucceeded, result: keptn.Result(out.Result), message: out.Message,
		details: details{TimeStart: ts, TimeEnd: te, Result: out.Result, Score: out.Score, SLOFileContent: content,
			IndicatorResults: out.Indicators, ComparedEvents: out.ComparedEvents}}
	if r.details.ComparedEvents == nil {
		r.details.ComparedEvents = []string{}
	}
	if d.Result == keptn.ResultFail || d.Status == keptn.StatusErrored {
		r.status, r.result, r.details.Result = keptn.StatusErrored, keptn.ResultFail, string(keptn.ResultFail)
		r.message = "lighthouse failed because SLI failed with message " + d.Message
	} else if failedTest, err := l.testFailed(ctx, t); err != nil {
		return err
	} else if failedTest {
		// Keptn (#1289): a failed test run before the evaluation fails it.
		r.status, r.result, r.details.Result = keptn.StatusErrored, keptn.ResultFail, string(keptn.ResultFail)
		r.message = "Setting evaluation result to 'fail' because of failed preceding test execution"
	}
	return l.finish(ctx, t, r)
}

// findTriggered finds the evaluation.triggered whose get-sli.triggered id
// is tid.
func (l *Lighthouse) findTriggered(ctx context.Context, kctx, project, tid string) (trig, bool, error) {
	evs, err := l.history.ByType(ctx, typeEvalTriggered, "shkeptncontext:"+kctx+" AND data.project:"+project, 50)
	if err != nil {
		return trig{}, false, fmt.Errorf("read evaluation.triggered of %s: %w", kctx, err)
	}
	for _, ev := range evs {
		if derivedID(ev.ID, "get-sli") != tid {
			continue
		}
		d, err := decodeTriggered(ev.Data)
		if err != nil {
			return trig{}, false, nil
		}
		return trig{ID: ev.ID, Context: kctx, GitCommitID: ev.Gitcommitid, Data: d}, true, nil
	}
	return trig{}, false, nil
}

// previous reads earlier evaluation.finished events of the service for
// comparisons, newest first, the way lighthouse asked the datastore.
func (l *Lighthouse) previous(ctx context.Context, t trig, slo *evaluation.SLO) ([]evaluation.Previous, error) {
	filter := "data.project:" + t.Data.Project + " AND data.stage:" + t.Data.Stage + " AND data.service:" + t.Data.Service + " AND source:" + Source
	switch slo.Comparison.IncludeResultWithScore {
	case evaluation.IncludePass:
		filter += " AND data.result:pass"
	case evaluation.IncludePassOrWarn:
		filter += " AND data.result:pass,warning"
	}
	evs, err := l.history.ByType(ctx, typeEvalFinished, filter, slo.Comparison.NumberOfComparisonResults)
	if err != nil {
		return nil, fmt.Errorf("read earlier evaluations: %w", err)
	}
	var out []evaluation.Previous
	for _, ev := range evs {
		var d struct {
			Result     string  `json:"result"`
			Evaluation details `json:"evaluation"`
		}
		if ev.Triggeredid == t.ID || json.Unmarshal(ev.Data, &d) != nil {
			continue
		}
		out = append(out, evaluation.Previous{ID: ev.ID, Result: d.Result, Indicators: d.Evaluation.IndicatorResults})
	}
	return slo.SelectPrevious(out), nil
}

// testFailed reports whether the run's test task for this service failed.
func (l *Lighthouse) testFailed(ctx context.Context, t trig) (bool, error) {
	evs, err := l.history.ByType(ctx, typeTestFinished, "shkeptncontext:"+t.Context+" AND data.project:"+t.Data.Project+
		" AND data.stage:"+t.Data.Stage+" AND data.service:"+t.Data.Service, 1)
	if err != nil {
		return false, fmt.Errorf("read test.finished of %s: %w", t.Context, err)
	}
	if len(evs) == 0 {
		return false, nil
	}
	var d keptn.Data
	_ = json.Unmarshal(evs[0].Data, &d)
	return d.Result == keptn.ResultFail, nil
}

// readSLO finds slo.yaml (service → stage → project) and parses it. The
// content is returned base64-encoded for sloFileContent even when it does
// not parse.
func (l *Lighthouse) readSLO(ctx context.Context, t trig) (*evaluation.SLO, string, error) {
	f, err := executor.Find(ctx, l.res, t.scope(), []string{SLOFile})
	if err != nil {
		return nil, "", err
	}
	content := base64.StdEncoding.EncodeToString(f.Content)
	slo, err := evaluation.ParseSLO(f.Content)
	if err != nil {
		return nil, content, fmt.Errorf("%w (%s level)", err, f.Level)
	}
	return slo, content, nil
}

// sliProvider: data.evaluation.sliProvider, else lighthouse-config.yaml
// (service → stage → project; Keptn kept it in a per-project ConfigMap
// lighthouse-config-<project> under sli-provider), else the default.
func (l *Lighthouse) sliProvider(ctx context.Context, t trig) (string, error) {
	if p := t.Data.Evaluation.SLIProvider; p != "" {
		return p, nil
	}
	f, err := executor.Find(ctx, l.res, t.scope(), []string{ConfigFile})
	if errors.Is(err, executor.ErrNotFound) {
		return l.cfg.DefaultSLIProvider, nil
	}
	if err != nil {
		return "", err
	}
	var c struct {
		SLIProvider  string `yaml:"sliProvider"`
		SLIProvider2 string `yaml:"sli-provider"`
	}
	if err := yaml.Unmarshal(f.Content, &c); err != nil {
		return "", fmt.Errorf("%s (%s level): not valid YAML: %v", ConfigFile, f.Level, err)
	}
	p := c.SLIProvider
	if p == "" {
		p = c.SLIProvider2
	}
	if p == "" {
		return "", fmt.Errorf("%s (%s level): sliProvider: missing", ConfigFile, f.Level)
	}
	return p, nil
}

// details is Keptn's data.evaluation block of evaluation.finished.
type details struct {
	TimeStart        string                       `json:"timeStart"`
	TimeEnd          string                       `json:"timeEnd"`
	Result           string                       `json:"result"`
	Score            float64                      `json:"score"`
	SLOFileContent   string                       `json:"sloFileContent"`
	IndicatorResults []evaluation.IndicatorResult `json:"indicatorResults"`
	ComparedEvents   []string                     `json:"comparedEvents"`
}

type result struct {
	status  keptn.Status
	result  keptn.Result
	message string
	details details
}

func failed(status keptn.Status, msg, ts, te, content string) result {
	return result{status: status, result: keptn.ResultFail, message: msg,
		details: details{TimeStart: ts, TimeEnd: te, Result: string(keptn.ResultFail), SLOFileContent: content,
			IndicatorResults: []evaluation.IndicatorResult{}, ComparedEvents: []string{}}}
}

func noEvaluation(msg, ts, te string) result {
	return result{status: keptn.StatusSucceeded, result: keptn.ResultPass, message: msg,
		details: details{TimeStart: ts, TimeEnd: te, Result: string(keptn.ResultPass),
			IndicatorResults: []evaluation.IndicatorResult{}, ComparedEvents: []string{}}}
}

func (l *Lighthouse) finish(ctx context.Context, t trig, r result) error {
	l.log.Info("evaluation finished", zap.String("keptnContext", t.Context), zap.String("triggeredid", t.ID),
		zap.String("result", string(r.result)), zap.Float64("score", r.details.Score), zap.String("message", r.message))
	return l.send(ctx, t, keptn.KindFinished, keptn.Data{Status: r.status, Result: r.result, Message: r.message}, r.details)
}

// send answers t with evaluation.<kind>.
func (l *Lighthouse) send(ctx context.Context, t trig, kind keptn.Kind, d keptn.Data, payload any) error {
	d.Project, d.Stage, d.Service, d.Labels = t.Data.Project, t.Data.Stage, t.Data.Service, t.Data.Labels
	body := map[string]any{}
	raw, _ := json.Marshal(d)
	_ = json.Unmarshal(raw, &body)
	if payload != nil {
		body["evaluation"] = payload
	}
	e, err := keptn.NewEvent(keptn.TaskType("evaluation", kind), keptn.Meta{ID: derivedID(t.ID, string(kind)), Source: Source,
		Time: l.now(), Context: t.Context, TriggeredID: t.ID, GitCommitID: t.GitCommitID}, body)
	if err != nil {
		return err
	}
	if err := l.sender.Send(ctx, e); err != nil {
		return fmt.Errorf("send %s: %w", e.Type(), err)
	}
	return nil
}

var days = regexp.MustCompile(`^([0-9]{1,4})d$`)

func parseTimeframe(s string) (time.Duration, error) {
	if m := days.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("evaluation.timeframe: %q is not a positive duration like 5m or 1h", s)
	}
	return d, nil
}

func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %q is not an RFC 3339 time", field, s)
	}
	return t.UTC(), nil
}

// testWindow reads the test task's start and end (the generic executor
// reports them to the second). An unreadable or empty window (a test that
// took less than a second) is not used.
func testWindow(d triggeredData, start, end *time.Time) bool {
	if d.Test.Start == "" || d.Test.End == "" {
		return false
	}
	s, err1 := parseTime("test.start", d.Test.Start)
	e, err2 := parseTime("test.end", d.Test.End)
	if err1 != nil || err2 != nil || !s.Before(e) {
		return false
	}
	*start, *end = s, e
	return true
}

// window is the evaluated timeframe: evaluation.start/end, or
// evaluation.timeframe (from evaluation.start, else ending now), or the
// test's start/end, or the last 5 minutes.
func window(d triggeredData, now time.Time) (time.Time, time.Time, error) {
	ev := d.Evaluation
	var start, end time.Time
	var err error
	switch {
	case ev.Start != "" && ev.End != "":
		if start, err = parseTime("evaluation.start", ev.Start); err != nil {
			return start, end, err
		}
		if end, err = parseTime("evaluation.end", ev.End); err != nil {
			return start, end, err
		}
	case ev.Timeframe != "" || ev.Start != "":
		tf := defaultTimeframe
		if ev.Timeframe != "" {
			if tf, err = parseTimeframe(ev.Timeframe); err != nil {
				return start, end, err
			}
		}
		if ev.Start != "" {
			if start, err = parseTime("evaluation.start", ev.Start); err != nil {
				return start, end, err
			}
			end = start.Add(tf)
		} else {
			end = now.UTC()
			start = end.Add(-tf)
		}
	case ev.End != "":
		return start, end, errors.New("evaluation.end: needs evaluation.start")
	case testWindow(d, &start, &end):
	default:
		end = now.UTC()
		start = end.Add(-defaultTimeframe)
	}
	if !start.Before(end) {
		return start, end, errors.New("evaluation.start must be before evaluation.end")
	}
	return start, end, nil
}
