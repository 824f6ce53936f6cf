// Package actionkit turns plain Go functions into a Keptn remediation
// action provider.
//
//	p := actionkit.New("my-provider", map[string]actionkit.ActionFunc{
//		"scale": func(ctx context.Context, a actionkit.Action) (actionkit.Outcome, error) {
//			return actionkit.Outcome{Message: "scaled"}, nil
//		},
//	}, sender, nil)
//	// feed p.Handle with every sh.keptn.event.action.triggered event
//
// For sh.keptn.event.action.triggered the provider looks at
// data.action.action: an action it does not support gets no event at all
// (other providers may answer); a supported one gets .started, then the
// function runs, then .finished with the same triggeredid and shkeptncontext
// and status/result/message from the outcome. A returned error or a panic
// is errored/fail; Outcome.Result fail is succeeded/fail. An
// sh.keptn.event.action.aborted naming the task cancels the function's
// context and the .finished says errored/fail "aborted".
package actionkit

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/keptn"
)

// Event types handled.
const (
	TriggeredType = keptn.Prefix + "action.triggered"
	AbortedType   = keptn.Prefix + "action.aborted"
)

// Action is what an action function receives.
type Action struct {
	Name        string // data.action.name (display name)
	Action      string // data.action.action (the key providers match on)
	Description string
	// Value is data.action.value: an object (map[string]any) or a string.
	Value any
	// Problem is data.problem (problemTitle, rootCause, ...), may be nil.
	Problem map[string]any

	Project, Stage, Service string
	Labels                  map[string]string
	KeptnContext            string
	TriggeredID             string
	// Event is the whole action.triggered event.
	Event event.Event
}

// StringValue returns Value when it is a string, else the entry key of an
// object Value as a string ("" when absent).
func (a Action) StringValue(key string) string {
	switch v := a.Value.(type) {
	case string:
		if key == "" {
			return v
		}
	case map[string]any:
		if x, ok := v[key]; ok && x != nil {
			return fmt.Sprint(x)
		}
	}
	return ""
}

// Outcome is what an action function reports.
type Outcome struct {
	Result  keptn.Result // pass (default), warning or fail
	Message string
	// Data goes under data.action of the .finished event (e.g. gitCommit).
	Data map[string]any
}

// ActionFunc performs one action. Honour ctx: it is canceled on abort.
type ActionFunc func(ctx context.Context, a Action) (Outcome, error)

// Options tunes a Provider.
type Options struct {
	// Timeout bounds one action (0: 10 minutes); exceeding it is
	// errored/fail with "timeout".
	Timeout time.Duration
	// Sync runs the action before Handle returns. The default (false)
	// sends .started, returns, and runs the action in the background, as
	// a Knative request may not outlive 30 s.
	Sync bool
	Log  *zap.Logger
}

// Provider is a CloudEvents handler for action.triggered events.
type Provider struct {
	actions map[string]ActionFunc
	resp    executor.Responder
	reg     *executor.Registry
	bg      executor.Background
	opt     Options
	log     *zap.Logger
}

// New returns a Provider named name (the source of its events) serving
// actions, replying through s.
func New(name string, actions map[string]ActionFunc, s executor.Sender, opt *Options) *Provider {
	var o Options
	if opt != nil {
		o = *opt
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	log := o.Log
	if log == nil {
		log = zap.NewNop()
	}
	return &Provider{actions: actions, resp: executor.Responder{Source: name, Sender: s}, reg: executor.NewRegistry(0, 0), opt: o, log: log}
}

// Wait blocks until background actions have finished.
func (p *Provider) Wait() { p.bg.Wait() }

// Supports reports whether the provider serves action.
func (p *Provider) Supports(action string) bool { _, ok := p.actions[action]; return ok }

// Handle processes one event. Errors follow executor.Result: malformed
// events are ErrMalformed (400); a failure to send .started asks for
// redelivery.
func (p *Provider) Handle(ctx context.Context, e event.Event) error {
	switch e.Type() {
	case AbortedType:
		p.reg.Abort(keptn.TriggeredID(e))
		return nil
	case TriggeredType:
	default:
		return nil
	}
	d, data, err := keptn.DecodeData(e)
	if err != nil {
		return executor.Malformed("%v", err)
	}
	am, _ := get(data, "action").(map[string]any)
	a := Action{
		Name: str(get(am, "name")), Action: str(get(am, "action")), Description: str(get(am, "description")),
		Value: get(am, "value"), Project: d.Project, Stage: d.Stage, Service: d.Service, Labels: d.Labels,
		KeptnContext: keptn.Context(e), TriggeredID: e.ID(), Event: e,
	}
	a.Problem, _ = get(data, "problem").(map[string]any)
	fn, ok := p.actions[a.Action]
	if !ok {
		return nil // not ours: no event at all
	}
	key := "actionkit/" + e.ID()
	if !p.reg.FirstDelivery(key) {
		return nil
	}
	runCtx, done, ok := p.reg.Begin(context.Background(), e.ID())
	if !ok {
		return nil
	}
	if err := p.resp.Started(ctx, e, "running action "+a.Action); err != nil {
		done()
		p.reg.Forget(key)
		return fmt.Errorf("action %s: %w", a.Action, err)
	}
	work := func() error {
		defer done()
		o := p.run(runCtx, fn, a)
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := p.resp.Finished(sctx, e, o); err != nil {
			p.log.Error("send action.finished", zap.String("triggeredid", e.ID()), zap.Error(err))
			return err
		}
		return nil
	}
	if p.opt.Sync {
		if err := work(); err != nil {
			// .started went out already; a redelivery would not balance.
			p.log.Error("action finished not delivered", zap.Error(err))
		}
		return nil
	}
	p.bg.Go(func() { _ = work() })
	return nil
}

func (p *Provider) run(ctx context.Context, fn ActionFunc, a Action) (out executor.Outcome) {
	ctx, cancel := context.WithTimeoutCause(ctx, p.opt.Timeout, errTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("action panicked", zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
			out = executor.Errored(fmt.Sprintf("action %s panicked: %v", a.Action, r))
		}
	}()
	o, err := fn(ctx, a)
	switch {
	case executor.Aborted(ctx):
		return executor.Errored("aborted")
	case errors.Is(context.Cause(ctx), errTimeout):
		return executor.Errored(fmt.Sprintf("action %s: timeout after %s", a.Action, p.opt.Timeout))
	case err != nil:
		return executor.Errored(err.Error())
	}
	res := o.Result
	if res == "" {
		res = keptn.ResultPass
	}
	if !res.Known() {
		return executor.Errored(fmt.Sprintf("action %s returned unknown result %q", a.Action, res))
	}
	eo := executor.Outcome{Status: keptn.StatusSucceeded, Result: res, Message: o.Message}
	if o.Data != nil {
		eo.Payload = o.Data
	}
	return eo
}

var errTimeout = errors.New("action timeout")

func get(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m { // older payloads capitalised keys (Action, Value)
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// Handler is New with default options.
func Handler(name string, actions map[string]ActionFunc, s executor.Sender) *Provider {
	return New(name, actions, s, nil)
}
