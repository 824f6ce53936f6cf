// Package webhook is Slipway's webhook executor, compatible with Keptn's
// webhook-service: `webhook/webhook.yaml` (webhookconfig.keptn.sh/v1beta1,
// or v1alpha1 curl strings turned into structured requests) is looked up
// service → stage → project, pinned to the event's gitcommitid. A level
// whose file is missing, malformed or has no matching webhook falls through.
//
// Matching. A webhook matches when its type equals the event type and, if
// the event carries data.temporaryData.distributor.subscriptionID, its
// subscriptionID equals that too. All matching webhooks of the first level
// that has any run (Slipway has no distributor that would split them into
// subscriptions).
//
// Events. For a task .triggered event: sendStarted (default true) sends one
// .started, or one per request when sendFinished is false (each receiver
// then answers for itself); sendFinished (default false) sends one
// .finished with data.<task>.responses when all requests succeeded. On an
// error the remaining requests are skipped and one .finished (sendFinished)
// or one per request not yet delivered (not sendFinished) reports it, so
// started and finished counts balance. HTTP answers outside 2xx are
// succeeded/fail; template, secret, transport, timeout and abort errors are
// errored/fail. An event carrying a subscriptionID for which no
// configuration matches gets .started plus an errored .finished; without a
// subscriptionID such an event is not for this executor and gets nothing.
// Other event kinds run their requests in notification mode.
//
// Secrets. {{.env.NAME}} is bound by envFrom to a key of a secret read from
// a directory of mounted secrets (shared/secrets); the directory is the
// scope. Secret values are replaced by *** in every message and stored
// response.
package webhook

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/redact"
	"github.com/slipwayhq/slipway/shared/safehttp"
)

// Source is the default source of the emitted events.
const Source = "webhook-service"

// SecretReader reads a key of a secret (secrets.Dir implements it).
type SecretReader interface {
	Get(name, key string) (string, error)
}

// ProjectSecretReader is a SecretReader that resolves per project
// (secrets.Reader over API-created secrets): a project's webhook may name
// only global secrets and its own project's.
type ProjectSecretReader interface {
	GetFor(ctx context.Context, project, name, key string) (string, error)
}

// secret reads a secret reference of a webhook of the event in em.
func (x *Executor) secret(ctx context.Context, em map[string]any, name, key string) (string, error) {
	if pr, ok := x.sec.(ProjectSecretReader); ok {
		project := ""
		if d, ok := em["data"].(map[string]any); ok {
			project, _ = d["project"].(string)
		}
		return pr.GetFor(ctx, project, name, key)
	}
	return x.sec.Get(name, key)
}

// Options configures an Executor.
type Options struct {
	Source      string        // "webhook-service"
	Timeout     time.Duration // per request; 30s
	MaxResponse int64         // bytes kept per response; 64 KiB
	MaxMessage  int           // bytes of data.message; 64 KiB
	HTTP        safehttp.Options
	// Secrets are further values to redact besides the webhook's own: every
	// secret the executor holds.
	Secrets []string
	// Claims, when set, claims each task before calling its webhooks, so a
	// redelivered .triggered calls them once across instances and
	// restarts; nil dedupes in memory only.
	Claims executor.Claimer
}

// Executor handles events. Create it with New.
type Executor struct {
	opt    Options
	res    executor.Resources
	sec    SecretReader
	resp   executor.Responder
	reg    *executor.Registry
	bg     executor.Background
	client *http.Client
	log    *zap.Logger
}

// New returns an Executor.
func New(opt Options, res executor.Resources, sec SecretReader, s executor.Sender, log *zap.Logger) *Executor {
	if opt.Source == "" {
		opt.Source = Source
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Second
	}
	if opt.MaxResponse <= 0 {
		opt.MaxResponse = 64 << 10
	}
	if opt.MaxMessage <= 0 {
		opt.MaxMessage = 64 << 10
	}
	if log == nil {
		log = zap.NewNop()
	}
	if opt.HTTP.Timeout == 0 || opt.HTTP.Timeout > opt.Timeout {
		opt.HTTP.Timeout = opt.Timeout
	}
	return &Executor{opt: opt, res: res, sec: sec, resp: executor.Responder{Source: opt.Source, Sender: s},
		reg: executor.NewRegistry(0, 0), client: safehttp.NewClient(opt.HTTP), log: log}
}

// Wait blocks until background work has ended.
func (x *Executor) Wait() { x.bg.Wait() }

// Running reports whether work for the .triggered event id is running.
func (x *Executor) Running(triggeredID string) bool { return x.reg.Running(triggeredID) }

// SubscriptionID returns data.temporaryData.distributor.subscriptionID.
func SubscriptionID(data map[string]any) string {
	td, _ := data["temporaryData"].(map[string]any)
	d, _ := td["distributor"].(map[string]any)
	s, _ := d["subscriptionID"].(string)
	return s
}

// Match returns the webhooks of c matching an event.
func Match(c Config, eventType, subscriptionID string) []Webhook {
	var out []Webhook
	for _, w := range c.Webhooks {
		if w.Type == eventType && (subscriptionID == "" || w.SubscriptionID == subscriptionID) {
			out = append(out, w)
		}
	}
	return out
}

// Handle processes one event (see the package doc).
func (x *Executor) Handle(ctx context.Context, e event.Event) error {
	t, err := keptn.ParseType(e.Type())
	if errors.Is(err, keptn.ErrNotKeptn) {
		return nil
	}
	if err != nil {
		return executor.Malformed("%v", err)
	}
	if t.Kind == keptn.KindAborted {
		x.reg.Abort(keptn.TriggeredID(e))
		return nil
	}
	if !t.IsTask() {
		return nil
	}
	d, data, err := keptn.DecodeData(e)
	if err != nil {
		return executor.Malformed("%v", err)
	}
	if d.Project == "" {
		return nil
	}
	key := "webhook/" + e.ID()
	if !x.reg.FirstDelivery(key) {
		return nil
	}
	sub := SubscriptionID(data)
	triggered := t.Kind == keptn.KindTriggered
	scope := executor.Scope{Project: d.Project, Stage: d.Stage, Service: d.Service, GitCommitID: keptn.GitCommitID(e)}
	var hooks []Webhook
	var problems []string
	for _, l := range scope.Levels() {
		b, err := scope.Get(ctx, x.res, l, URI)
		if errors.Is(err, executor.ErrNotFound) || (err == nil && len(b) == 0) {
			continue
		}
		if err != nil {
			x.reg.Forget(key)
			return fmt.Errorf("webhook: read %s at %s level: %w", URI, l, err)
		}
		c, err := Parse(b)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s level: %v", l, err))
			continue
		}
		if hooks = Match(c, e.Type(), sub); len(hooks) > 0 {
			break
		}
	}
	log := x.log.With(zap.String("id", e.ID()), zap.String("type", e.Type()))
	if len(hooks) == 0 {
		if !triggered || sub == "" {
			if len(problems) > 0 {
				log.Warn("no usable webhook config", zap.Strings("problems", problems))
			}
			return nil
		}
		msg := "no valid webhook config found for subscription " + sub
		if len(problems) > 0 {
			msg += ": " + strings.Join(problems, "; ")
		}
		if err := x.resp.Started(ctx, e, ""); err != nil {
			x.reg.Forget(key)
			return fmt.Errorf("webhook: %w", err)
		}
		if err := x.resp.Finished(ctx, e, executor.Errored(msg)); err != nil {
			return fmt.Errorf("webhook: %w", err)
		}
		return nil
	}
	em, err := executor.EventMap(e)
	if err != nil {
		return executor.Malformed("%v", err)
	}
	if !triggered {
		for _, w := range hooks {
			x.bg.Go(func() {
				_, _, err := x.perform(context.Background(), w, em, t.Task)
				if err != nil {
					log.Warn("notification webhook failed", zap.String("reason", err.msg))
				}
			})
		}
		return nil
	}
	if x.opt.Claims != nil {
		run, err := x.opt.Claims.Claim(ctx, d.Project, e.ID(), x.opt.Source)
		if err != nil {
			x.reg.Forget(key)
			return fmt.Errorf("webhook: %w", err)
		}
		if !run {
			log.Info("task already claimed by another instance or before a restart; not run again")
			return nil
		}
	}
	for _, w := range hooks {
		runCtx, done, ok := x.reg.Begin(context.Background(), e.ID())
		if !ok {
			return nil
		}
		if w.SendStarted {
			n := 1
			if !w.SendFinished {
				n = len(w.Requests)
			}
			for i := 0; i < n; i++ {
				if err := x.resp.Started(ctx, e, ""); err != nil {
					done()
					x.reg.Forget(key)
					return fmt.Errorf("webhook: %w", err)
				}
			}
		}
		x.bg.Go(func() {
			defer done()
			x.finish(runCtx, e, w, em, t.Task, log)
		})
	}
	return nil
}

func (x *Executor) finish(ctx context.Context, e event.Event, w Webhook, em map[string]any, task string, log *zap.Logger) {
	responses, delivered, ferr := x.perform(ctx, w, em, task)
	var outcomes []executor.Outcome
	switch {
	case ferr == nil && w.SendFinished:
		outcomes = append(outcomes, executor.Outcome{Payload: map[string]any{"responses": responses}})
	case ferr == nil:
	case w.SendFinished:
		o := ferr.outcome()
		o.Payload = map[string]any{"responses": responses}
		outcomes = append(outcomes, o)
	default:
		for i := delivered; i < len(w.Requests); i++ {
			outcomes = append(outcomes, ferr.outcome())
		}
	}
	sendCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, o := range outcomes {
		o.Message = executor.TruncateMessage(o.Message, x.opt.MaxMessage)
		if err := x.resp.Finished(sendCtx, e, o); err != nil {
			log.Error("send finished", zap.Error(err))
			return
		}
	}
}

type failure struct {
	msg     string
	errored bool
}

func (f *failure) outcome() executor.Outcome {
	if f.errored {
		return executor.Errored(f.msg)
	}
	return executor.Fail(f.msg)
}

// perform runs w's requests in order and returns the responses, how many
// requests were delivered successfully, and the failure that stopped it.
func (x *Executor) perform(ctx context.Context, w Webhook, em map[string]any, task string) ([]any, int, *failure) {
	env := map[string]any{}
	var vals []string
	for _, ef := range w.EnvFrom {
		v, err := x.secret(ctx, em, ef.SecretRef.Name, ef.SecretRef.Key)
		if err != nil {
			return nil, 0, &failure{msg: fmt.Sprintf("could not read secret %s key %s for %s: %v", ef.SecretRef.Name, ef.SecretRef.Key, ef.Name, err), errored: true}
		}
		env[ef.Name] = v
		vals = append(vals, v)
	}
	red := redact.New(append(vals, x.opt.Secrets...)...)
	model := make(map[string]any, len(em)+1)
	for k, v := range em {
		model[k] = v
	}
	model["env"] = env
	responses := []any{}
	for i, r := range w.Requests {
		resp, f := x.do(ctx, i, r, model, red)
		if f != nil {
			f.msg = red.String(f.msg)
			return responses, i, f
		}
		responses = append(responses, red.Any(resp))
	}
	return responses, len(w.Requests), nil
}

var funcs = template.FuncMap{
	"toJson": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
}

func render(name, text string, model map[string]any) (string, error) {
	t, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, model); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (x *Executor) do(ctx context.Context, i int, r Request, model map[string]any, red *redact.Redactor) (any, *failure) {
	errored := func(format string, args ...any) *failure {
		return &failure{msg: fmt.Sprintf("request %d: ", i) + fmt.Sprintf(format, args...), errored: true}
	}
	u, err := render("url", r.URL, model)
	if err != nil {
		return nil, errored("url template: %v", err)
	}
	if strings.ContainsAny(u, "\r\n\x00 \t") {
		return nil, errored("rendered url contains whitespace or control characters")
	}
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return nil, errored("url %q: want an absolute http or https URL", red.String(u))
	}
	body, err := render("payload", r.Payload, model)
	if err != nil {
		return nil, errored("payload template: %v", err)
	}
	timeout := x.opt.Timeout
	if r.Timeout > 0 && r.Timeout < timeout {
		timeout = r.Timeout
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rb *strings.Reader
	if body != "" {
		rb = strings.NewReader(body)
	}
	var req *http.Request
	if rb != nil {
		req, err = http.NewRequestWithContext(rctx, r.Method, u, rb)
	} else {
		req, err = http.NewRequestWithContext(rctx, r.Method, u, nil)
	}
	if err != nil {
		return nil, errored("%v", err)
	}
	for _, h := range r.Headers {
		k, err := render("header", h.Key, model)
		if err != nil {
			return nil, errored("header template: %v", err)
		}
		v, err := render("header", h.Value, model)
		if err != nil {
			return nil, errored("header %s template: %v", k, err)
		}
		if strings.ContainsAny(k+v, "\r\n\x00") {
			return nil, errored("header %s: rendered value contains CR, LF or NUL", k)
		}
		if h.Basic {
			v = "Basic " + base64.StdEncoding.EncodeToString([]byte(v))
		}
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Add(k, v)
	}
	resp, err := x.client.Do(req)
	if err != nil {
		switch {
		case executor.Aborted(ctx):
			return nil, &failure{msg: "aborted", errored: true}
		case errors.Is(rctx.Err(), context.DeadlineExceeded):
			return nil, errored("timeout after %s", timeout)
		}
		return nil, errored("%v", err)
	}
	defer resp.Body.Close()
	b, trunc, err := safehttp.ReadLimited(resp.Body, x.opt.MaxResponse)
	if err != nil {
		if executor.Aborted(ctx) {
			return nil, &failure{msg: "aborted", errored: true}
		}
		return nil, errored("read response: %v", err)
	}
	text := red.String(string(b))
	if trunc {
		// The limit may have cut an echoed secret short of a full match.
		text = red.Head(string(b))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &failure{msg: fmt.Sprintf("request %d: %s %s answered HTTP %d: %s", i, r.Method, red.String(pu.Redacted()), resp.StatusCode, text)}
	}
	if !trunc {
		var obj map[string]any
		if json.Unmarshal(b, &obj) == nil && obj != nil {
			return obj, nil
		}
	}
	if trunc {
		text += "\n[... response truncated ...]"
	}
	return text, nil
}
