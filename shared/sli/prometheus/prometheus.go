// Package prometheus is an SLI provider for Prometheus speaking Keptn's
// get-sli protocol, like Keptn's prometheus-service: it answers
// sh.keptn.event.get-sli.triggered whose data.getSli.sliProvider is
// "prometheus", runs the queries of prometheus/sli.yaml as instant queries
// at the end of the timeframe, and sends get-sli.finished with the values.
// Every failure (no sli.yaml, unreachable server, bad query, no data) is a
// get-sli.finished with result fail and the reason, never silence.
package prometheus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/kelseyhightower/envconfig"
	promapi "github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"go.uber.org/zap"
	"gopkg.in/yaml.v3"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/safehttp"
	"github.com/slipwayhq/slipway/shared/sli"
)

// Name is the sliProvider value this provider answers.
const Name = "prometheus"

// Source is the CloudEvents source of its events (Keptn's service name).
const Source = "prometheus-service"

// Resource names, looked up in the project's resources.
const (
	SLIFile    = "prometheus/sli.yaml"
	ConfigFile = "prometheus/config.yaml"
)

// Config is the provider's configuration (environment).
type Config struct {
	// URL is the Prometheus server used when no prometheus/config.yaml
	// names one for the project, stage or service.
	URL string `envconfig:"PROMETHEUS_URL"`
	// AllowHosts lets URLs from prometheus/config.yaml reach these
	// otherwise refused (private, loopback) hosts. PROMETHEUS_URL's host is
	// always allowed: the operator set it.
	AllowHosts []string `envconfig:"HTTP_ALLOW_HOSTS"`
	// QueryTimeout bounds all queries of one get-sli.triggered together.
	QueryTimeout time.Duration `envconfig:"PROMETHEUS_QUERY_TIMEOUT" default:"20s"`
}

// Provider answers get-sli.triggered events.
type Provider struct {
	cfg  Config
	res  executor.Resources
	resp executor.Responder
	http *http.Client
	log  *zap.Logger
}

// New returns a provider reading resources from res and replying through
// sender.
func New(cfg Config, res executor.Resources, sender executor.Sender, log *zap.Logger) (*Provider, error) {
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = 20 * time.Second
	}
	allow := append([]string(nil), cfg.AllowHosts...)
	if cfg.URL != "" {
		u, err := url.Parse(cfg.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("PROMETHEUS_URL %q is not an http(s) URL", cfg.URL)
		}
		allow = append(allow, u.Host)
	}
	return &Provider{
		cfg: cfg, res: res, log: log,
		resp: executor.Responder{Source: Source, Sender: sender},
		http: safehttp.NewClient(safehttp.Options{AllowHosts: allow, Timeout: cfg.QueryTimeout, MaxBody: 8 << 20}),
	}, nil
}

// Triggered is the data of get-sli.triggered.
type Triggered struct {
	keptn.Data
	Deployment string `json:"deployment"`
	GetSLI     struct {
		SLIProvider   string   `json:"sliProvider"`
		Start         string   `json:"start"`
		End           string   `json:"end"`
		Indicators    []string `json:"indicators"`
		CustomFilters []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"customFilters"`
	} `json:"getSli"`
}

// Handle answers one event; other events and other providers' requests are
// acknowledged and ignored.
func (p *Provider) Handle(ctx context.Context, e event.Event) error {
	if e.Type() != keptn.TaskType("get-sli", keptn.KindTriggered) {
		return nil
	}
	var in Triggered
	if err := json.Unmarshal(e.Data(), &in); err != nil {
		return executor.Malformed("get-sli.triggered %s: %v", e.ID(), err)
	}
	if in.GetSLI.SLIProvider != Name {
		return nil
	}
	if err := p.resp.Started(ctx, e, ""); err != nil {
		return fmt.Errorf("get-sli.started: %w", err)
	}
	values, status, msg := p.retrieve(ctx, e, in)
	o := executor.Outcome{Status: status, Result: keptn.ResultPass, Message: msg,
		Extra: map[string]any{"getSli": map[string]any{"start": in.GetSLI.Start, "end": in.GetSLI.End, "indicatorValues": values}}}
	if msg != "" {
		o.Result = keptn.ResultFail
	}
	p.log.Info("get-sli", zap.String("keptnContext", keptn.Context(e)), zap.String("triggeredid", e.ID()),
		zap.String("result", string(o.Result)), zap.String("message", msg))
	if err := p.resp.Finished(ctx, e, o); err != nil {
		return fmt.Errorf("get-sli.finished: %w", err)
	}
	return nil
}

// Value is one indicator value of get-sli.finished.
type Value struct {
	Metric  string  `json:"metric"`
	Value   float64 `json:"value"`
	Success bool    `json:"success"`
	Message string  `json:"message,omitempty"`
}

// retrieve runs the queries; msg is empty when every indicator has a value.
func (p *Provider) retrieve(ctx context.Context, e event.Event, in Triggered) ([]Value, keptn.Status, string) {
	values := []Value{}
	failAll := func(status keptn.Status, msg string) ([]Value, keptn.Status, string) {
		for _, name := range in.GetSLI.Indicators {
			values = append(values, Value{Metric: name, Message: msg})
		}
		return values, status, msg
	}
	start, err := parseTime(in.GetSLI.Start)
	if err != nil {
		return failAll(keptn.StatusErrored, "getSli.start: "+err.Error())
	}
	end, err := parseTime(in.GetSLI.End)
	if err != nil {
		return failAll(keptn.StatusErrored, "getSli.end: "+err.Error())
	}
	if !start.Before(end) {
		return failAll(keptn.StatusErrored, "getSli.start must be before getSli.end")
	}
	scope := executor.Scope{Project: in.Project, Stage: in.Stage, Service: in.Service, GitCommitID: keptn.GitCommitID(e)}
	queries, err := p.queries(ctx, scope)
	if err != nil {
		return failAll(keptn.StatusErrored, err.Error())
	}
	server, err := p.serverURL(ctx, scope)
	if err != nil {
		return failAll(keptn.StatusErrored, err.Error())
	}
	client, err := promapi.NewClient(promapi.Config{Address: server, Client: p.http})
	if err != nil {
		return failAll(keptn.StatusErrored, fmt.Sprintf("prometheus URL %q: %v", server, err))
	}
	api := v1.NewAPI(client)
	vars := sli.Vars{Project: in.Project, Stage: in.Stage, Service: in.Service, Deployment: in.Deployment,
		Start: start, End: end, Labels: in.Labels, CustomFilters: map[string]string{}}
	for _, f := range in.GetSLI.CustomFilters {
		vars.CustomFilters[f.Key] = f.Value
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.QueryTimeout)
	defer cancel()
	var problems []string
	for _, name := range in.GetSLI.Indicators {
		q, ok := queries[name]
		if !ok {
			msg := fmt.Sprintf("no query for SLI %s in %s", name, SLIFile)
			values = append(values, Value{Metric: name, Message: msg})
			problems = append(problems, msg)
			continue
		}
		v, err := Query(ctx, api, sli.Expand(q, vars), end)
		if err != nil {
			msg := fmt.Sprintf("SLI %s: %v", name, err)
			values = append(values, Value{Metric: name, Message: msg})
			problems = append(problems, msg)
			continue
		}
		values = append(values, Value{Metric: name, Value: v, Success: true})
	}
	return values, keptn.StatusSucceeded, strings.Join(problems, "; ")
}

// queries merges prometheus/sli.yaml from the project, stage and service
// levels (the finer level wins per indicator).
func (p *Provider) queries(ctx context.Context, s executor.Scope) (map[string]string, error) {
	levels := s.Levels()
	var files []*sli.File
	for i := len(levels) - 1; i >= 0; i-- { // project first
		b, err := s.Get(ctx, p.res, levels[i], SLIFile)
		if errors.Is(err, executor.ErrNotFound) || (err == nil && len(b) == 0) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s at %s level: %w", SLIFile, levels[i], err)
		}
		f, err := sli.Parse(fmt.Sprintf("%s (%s level)", SLIFile, levels[i]), b)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no %s for service %s in stage %s of project %s", SLIFile, s.Service, s.Stage, s.Project)
	}
	return sli.Merge(files...), nil
}

// serverURL is the url of prometheus/config.yaml (service → stage →
// project) or PROMETHEUS_URL.
func (p *Provider) serverURL(ctx context.Context, s executor.Scope) (string, error) {
	f, err := executor.Find(ctx, p.res, s, []string{ConfigFile})
	switch {
	case errors.Is(err, executor.ErrNotFound):
		if p.cfg.URL == "" {
			return "", fmt.Errorf("no Prometheus server: upload %s with url: or set PROMETHEUS_URL", ConfigFile)
		}
		return p.cfg.URL, nil
	case err != nil:
		return "", err
	}
	var c struct {
		URL string `yaml:"url"`
	}
	if err := yaml.Unmarshal(f.Content, &c); err != nil {
		return "", fmt.Errorf("%s (%s level): %v", ConfigFile, f.Level, err)
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s (%s level): url: %q is not an http(s) URL", ConfigFile, f.Level, c.URL)
	}
	return c.URL, nil
}

// Query runs an instant query at ts and returns its single value.
func Query(ctx context.Context, api v1.API, q string, ts time.Time) (float64, error) {
	res, _, _, err := api.Query(ctx, q, ts)
	if err != nil {
		return 0, fmt.Errorf("query %q: %w", q, err)
	}
	var v float64
	switch r := res.(type) {
	case model.Vector:
		switch len(r) {
		case 0:
			return 0, fmt.Errorf("query %q returned no data", q)
		case 1:
			v = float64(r[0].Value)
		default:
			return 0, fmt.Errorf("query %q returned %d series, want one (aggregate it, e.g. with sum or max)", q, len(r))
		}
	case *model.Scalar:
		v = float64(r.Value)
	default:
		return 0, fmt.Errorf("query %q returned a %s, want an instant vector or scalar", q, res.Type())
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("query %q returned %v", q, v)
	}
	return v, nil
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("missing")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", s)
	}
	return t, nil
}

// EnvConfig is the provider function's environment.
type EnvConfig struct {
	// Sink is where events go (the broker); Knative sets K_SINK.
	Sink string `envconfig:"K_SINK" required:"true"`
	// APIURL is Slipway's API (its resource-service paths).
	APIURL   string `envconfig:"KEPTN_API_URL" required:"true"`
	APIToken string `envconfig:"KEPTN_API_TOKEN"`
	Config
}

// FromEnv builds the provider from the environment.
func FromEnv(log *zap.Logger) (*Provider, error) {
	var c EnvConfig
	if err := envconfig.Process("", &c); err != nil {
		return nil, fmt.Errorf("prometheus SLI provider config: %w", err)
	}
	if c.Sink == "" || c.APIURL == "" {
		return nil, fmt.Errorf("prometheus SLI provider config: K_SINK and KEPTN_API_URL must not be empty")
	}
	return New(c.Config, &executor.ResourceClient{BaseURL: c.APIURL, Token: c.APIToken}, &executor.HTTPSender{URL: c.Sink}, log)
}
