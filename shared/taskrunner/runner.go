package taskrunner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/proc"
	"github.com/slipwayhq/slipway/shared/redact"
	"github.com/slipwayhq/slipway/shared/safehttp"
	"github.com/slipwayhq/slipway/shared/secrets"
	"github.com/slipwayhq/slipway/shared/taskrunner/taskdef"
)

// Sender publishes an event (to the broker).
type Sender interface {
	Send(ctx context.Context, e event.Event) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, e event.Event) error

// Send implements Sender.
func (f SenderFunc) Send(ctx context.Context, e event.Event) error { return f(ctx, e) }

// SecretStore returns a key of a named secret (secrets.Dir implements it).
type SecretStore interface {
	Get(name, key string) (string, error)
}

// ProjectSecretStore is a SecretStore that resolves per project
// (secrets.Reader over API-created secrets): a project's task may name only
// global secrets and its own project's.
type ProjectSecretStore interface {
	GetFor(ctx context.Context, project, name, key string) (string, error)
}

// Deps are the runner's collaborators. Resources and Sender are required;
// Secrets defaults to secrets.Dir(Config.SecretsDir); Jobs nil means no
// container runtime (outside a cluster); HTTP defaults to a safehttp client
// for httpRef downloads; Log defaults to a no-op logger.
type Deps struct {
	Resources executor.Resources
	Sender    Sender
	Secrets   SecretStore
	Jobs      JobRunner
	HTTP      *http.Client
	Log       *zap.Logger
	// Sandbox runs deno and python tasks; nil builds one from Config.
	Sandbox *proc.Sandbox
	// Claims, when set, claims each task before running it, so a
	// redelivered .triggered runs once across instances and restarts (the
	// running and done sets only cover this process); nil: in memory only.
	Claims executor.Claimer
}

// Runner handles task events: for sh.keptn.event.<task>.triggered it runs
// the task's KeptnTaskDefinitions in parallel and answers with one .started
// and one .finished; sh.keptn.event.<task>.aborted cancels a running task.
type Runner struct {
	cfg     Config
	deps    Deps
	deno    string
	python  string
	log     *zap.Logger
	base    context.Context
	stop    context.CancelCauseFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	running map[string]*taskRun // by triggered event id
	done    *recent             // triggered ids already answered
}

// held are the secrets the runner holds: its API token and every mounted
// secret, read again for each definition (a mounted Secret is updated in
// place), so every task's output is redacted of all of them, not only of
// its own SECURE_DATA.
func (r *Runner) held() []string {
	vals, err := redact.DirValues(r.cfg.SecretsDir, 0)
	if err != nil {
		r.log.Warn("read secrets for redaction", zap.Error(err))
	}
	return append(vals, r.cfg.APIToken)
}

// New builds a Runner.
func New(cfg Config, deps Deps) (*Runner, error) {
	cfg.defaults()
	if deps.Resources == nil || deps.Sender == nil {
		return nil, errors.New("taskrunner: Resources and Sender are required")
	}
	if deps.Secrets == nil {
		deps.Secrets = secrets.Dir(cfg.SecretsDir)
	}
	if deps.HTTP == nil {
		deps.HTTP = safehttp.NewClient(safehttp.Options{AllowHosts: cfg.HTTPRefAllowHosts, Timeout: cfg.HTTPRefTimeout, MaxBody: 1 << 20})
	}
	if deps.Log == nil {
		deps.Log = zap.NewNop()
	}
	if deps.Sandbox == nil {
		sb, err := proc.NewSandbox(proc.SandboxConfig{Slots: cfg.ScriptConcurrency, UIDBase: cfg.ScriptUIDBase,
			Limits: proc.Limits{Processes: cfg.ScriptMaxProcesses, DataBytes: cfg.ScriptMaxDataBytes}})
		if err != nil {
			return nil, fmt.Errorf("taskrunner: %w", err)
		}
		deps.Sandbox = sb
	}
	r := &Runner{cfg: cfg, deps: deps, log: deps.Log, running: map[string]*taskRun{}, done: newRecent(4096)}
	r.deno = cfg.DenoPath
	if r.deno == "" {
		r.deno = FindDeno()
	}
	r.python = resolvePython(context.Background(), cfg.PythonPath)
	r.base, r.stop = context.WithCancelCause(context.Background())
	return r, nil
}

// Handle processes one event. For a .triggered event it returns after the
// .started was sent; the definitions run in the background and the .finished
// follows when all are done (Wait waits for that). An error means the event
// should be redelivered: nothing was sent, or only the .started.
func (r *Runner) Handle(ctx context.Context, e event.Event) error {
	t, err := keptn.ParseType(e.Type())
	if err != nil || !t.IsTask() {
		return nil
	}
	switch t.Kind {
	case keptn.KindTriggered:
		return r.trigger(ctx, t.Task, e)
	case keptn.KindAborted:
		r.abort(keptn.TriggeredID(e))
	}
	return nil
}

// Wait blocks until every started task has sent its .finished.
func (r *Runner) Wait() { r.wg.Wait() }

// Shutdown aborts running tasks (their .finished report errored/aborted) and
// waits for them, or for ctx.
func (r *Runner) Shutdown(ctx context.Context) error {
	r.stop(errShutdown)
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var (
	errAborted  = errors.New("aborted")
	errShutdown = errors.New("aborted: task runner shutting down")
)

// taskRun is one task (one .triggered event) in flight.
type taskRun struct {
	cancel context.CancelCauseFunc
	mu     sync.Mutex
	status []DefinitionStatus
}

// Status returns a snapshot of the definitions of the task started by the
// .triggered event id, and false when that task is not running here.
func (r *Runner) Status(triggeredID string) ([]DefinitionStatus, bool) {
	r.mu.Lock()
	tr, ok := r.running[triggeredID]
	r.mu.Unlock()
	if !ok {
		return nil, false
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]DefinitionStatus(nil), tr.status...), true
}

func (r *Runner) abort(triggeredID string) {
	r.mu.Lock()
	tr, ok := r.running[triggeredID]
	r.mu.Unlock()
	if ok {
		r.log.Info("aborting task", zap.String("triggeredid", triggeredID))
		tr.cancel(errAborted)
	}
}

// dnsName is a definition name.
var dnsName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

// plan is what the runner decided to run for a .triggered event.
type plan struct {
	defs []planned
}

type planned struct {
	name     string
	resolved Resolved
	err      error // resolution failed: the definition fails without running
	reason   string
}

func (r *Runner) trigger(ctx context.Context, task string, e event.Event) error {
	if err := context.Cause(r.base); err != nil {
		return fmt.Errorf("task %s: %w", task, err) // redeliver to a live instance
	}
	id := e.ID()
	log := r.log.With(zap.String("task", task), zap.String("triggeredid", id), zap.String("shkeptncontext", keptn.Context(e)))
	r.mu.Lock()
	_, busy := r.running[id]
	seen := r.done.has(id)
	r.mu.Unlock()
	if busy || seen {
		log.Info("duplicate .triggered ignored")
		return nil
	}
	d, data, err := keptn.DecodeData(e)
	if err != nil || d.Project == "" {
		log.Warn("malformed .triggered dropped", zap.Error(err), zap.String("project", d.Project))
		return nil
	}
	taskData, _ := data[task].(map[string]any)
	names, explicit := definitionNames(task, taskData)
	scope := executor.Scope{Project: d.Project, Stage: d.Stage, Service: d.Service, GitCommitID: keptn.GitCommitID(e)}
	ld := &loader{res: r.deps.Resources, scope: scope}
	taskParams := stringMap(taskData["parameters"])
	var p plan
	found := 0
	for _, n := range names {
		pl := planned{name: n}
		if !dnsName.MatchString(n) {
			pl.err, pl.reason = fmt.Errorf("%q is not a task definition name", n), ReasonInvalid
			p.defs = append(p.defs, pl)
			continue
		}
		res, err := ld.resolve(ctx, n, taskParams)
		switch {
		case err == nil:
			pl.resolved = res
			found++
		case errors.Is(err, errMissing):
			pl.err, pl.reason = err, ReasonNotFound
		case errors.Is(err, executor.ErrNotFound):
			pl.err, pl.reason, found = err, ReasonNotFound, found+1
		case errors.Is(err, taskdef.ErrInvalid), errors.Is(err, ErrRefCycle):
			pl.err, pl.reason, found = err, ReasonInvalid, found+1
		default:
			// The resource-service is unreachable or answered an error:
			// nothing was sent, let the broker redeliver.
			return fmt.Errorf("task %s: resolve definition %s: %w", task, n, err)
		}
		p.defs = append(p.defs, pl)
	}
	if found == 0 {
		log.Debug("no task definitions found; not answering", zap.Strings("definitions", names), zap.Bool("explicit", explicit))
		return nil
	}
	if r.deps.Claims != nil {
		run, err := r.deps.Claims.Claim(ctx, d.Project, id, r.cfg.Source)
		if err != nil {
			return fmt.Errorf("task %s: %w", task, err) // redelivered
		}
		if !run {
			log.Info("task already claimed by another instance or before a restart; not run again")
			return nil
		}
	}
	runCtx, cancel := context.WithCancelCause(r.base)
	tr := &taskRun{cancel: cancel}
	for _, pl := range p.defs {
		tr.status = append(tr.status, DefinitionStatus{Name: pl.name, Runtime: string(pl.resolved.Runtime), Status: StatePending})
	}
	r.mu.Lock()
	if _, busy := r.running[id]; busy {
		r.mu.Unlock()
		cancel(nil)
		return nil
	}
	r.running[id] = tr
	r.mu.Unlock()

	started, err := keptn.Respond(e, keptn.KindStarted, r.meta(id, "started"), keptn.Data{}, nil)
	if err == nil {
		err = r.deps.Sender.Send(ctx, started)
	}
	if err != nil {
		r.mu.Lock()
		delete(r.running, id)
		r.mu.Unlock()
		cancel(nil)
		return fmt.Errorf("task %s: send .started: %w", task, err)
	}
	log.Info("task started", zap.Strings("definitions", names))
	in := inputs{task: task, event: e, data: d}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer cancel(nil)
		r.runAll(runCtx, log, in, p, tr)
		r.finish(log, e, task, tr)
		r.mu.Lock()
		delete(r.running, id)
		r.done.add(id)
		r.mu.Unlock()
	}()
	return nil
}

// definitionNames: data.<task>.taskDefinitions (a list, or a comma-separated
// string) when set and non-empty, else the definition named after the task.
func definitionNames(task string, taskData map[string]any) ([]string, bool) {
	var names []string
	switch v := taskData["taskDefinitions"].(type) {
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				names = append(names, strings.TrimSpace(s))
			} else {
				names = append(names, fmt.Sprint(x))
			}
		}
	case string:
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				names = append(names, s)
			}
		}
	}
	if len(names) == 0 {
		return []string{task}, false
	}
	seen := map[string]bool{}
	uniq := names[:0]
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			uniq = append(uniq, n)
		}
	}
	return uniq, true
}

// stringMap turns a decoded JSON object into a string map; non-string values
// become their JSON text.
func stringMap(v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		if s, ok := x.(string); ok {
			out[k] = s
			continue
		}
		b, _ := json.Marshal(x)
		out[k] = string(b)
	}
	return out
}

// eventNS namespaces the runner's deterministic event ids.
var eventNS = uuid.MustParse("5b6f3d0e-8f7a-4c52-9a3e-2f0f1c7d9b41")

// meta gives the response to triggeredID a deterministic id, so a redelivered
// .triggered produces the same .started/.finished ids, which the control
// plane counts once.
func (r *Runner) meta(triggeredID, kind string) keptn.Meta {
	return keptn.Meta{
		ID:     uuid.NewSHA1(eventNS, []byte(r.cfg.Source+"/"+triggeredID+"/"+kind)).String(),
		Source: r.cfg.Source,
		Time:   time.Now(),
	}
}

func (r *Runner) runAll(ctx context.Context, log *zap.Logger, in inputs, p plan, tr *taskRun) {
	var wg sync.WaitGroup
	for i, pl := range p.defs {
		update := func(f func(*DefinitionStatus)) {
			tr.mu.Lock()
			f(&tr.status[i])
			tr.mu.Unlock()
		}
		if pl.err != nil {
			now := time.Now().UTC()
			update(func(s *DefinitionStatus) {
				s.Status, s.Reason, s.Message = StateFailed, pl.reason, pl.err.Error()
				s.StartTime, s.EndTime = &now, &now
			})
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.execute(ctx, log.With(zap.String("definition", pl.name)), in, pl.resolved, update)
		}()
	}
	wg.Wait()
}

// finish sends the task's .finished, retrying a few times.
func (r *Runner) finish(log *zap.Logger, triggered event.Event, task string, tr *taskRun) {
	tr.mu.Lock()
	defs := append([]DefinitionStatus(nil), tr.status...)
	tr.mu.Unlock()
	d := summarize(defs)
	out, err := keptn.Respond(triggered, keptn.KindFinished, r.meta(triggered.ID(), "finished"), d, map[string]any{"definitions": defs})
	if err != nil {
		log.Error("build .finished", zap.Error(err))
		return
	}
	ctx := context.WithoutCancel(r.base)
	delay := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = r.deps.Sender.Send(sctx, out)
		cancel()
		if err == nil {
			log.Info("task finished", zap.String("status", string(d.Status)), zap.String("result", string(d.Result)))
			return
		}
		if attempt == 5 {
			log.Error("send .finished failed; giving up", zap.Error(err))
			return
		}
		log.Warn("send .finished failed; retrying", zap.Error(err), zap.Int("attempt", attempt))
		time.Sleep(delay)
		delay *= 2
	}
}

// MaxMessage caps data.message of the .finished event.
const MaxMessage = 64 << 10

// summarize maps definition outcomes to the task's status, result and
// message: all Succeeded → succeeded/pass; an abort → errored/fail
// "aborted"; only script failures (non-zero exit after all retries) →
// succeeded/fail; any other failure (timeout, missing runtime, secret, code,
// definition) → errored/fail.
func summarize(defs []DefinitionStatus) keptn.Data {
	d := keptn.Data{Status: keptn.StatusSucceeded, Result: keptn.ResultPass}
	var lines, outputs []string
	aborted := false
	ok := 0
	for _, s := range defs {
		line := fmt.Sprintf("%s: %s", s.Name, s.Status)
		if s.Status == StateSucceeded {
			ok++
		} else {
			d.Result = keptn.ResultFail
			switch s.Reason {
			case ReasonAborted:
				aborted = true
				d.Status = keptn.StatusErrored
			case ReasonBackoffLimitExceeded:
			default:
				d.Status = keptn.StatusErrored
			}
			line += " (" + s.Reason + ": " + s.Message + ")"
			if s.Output != "" {
				outputs = append(outputs, "--- "+s.Name+" output ---\n"+s.Output)
			}
		}
		lines = append(lines, line)
	}
	sort.Strings(lines)
	if aborted {
		d.Message = "aborted"
		return d
	}
	msg := fmt.Sprintf("%d of %d task definitions succeeded\n%s", ok, len(defs), strings.Join(lines, "\n"))
	if len(outputs) > 0 {
		msg += "\n" + strings.Join(outputs, "\n")
	}
	if len(msg) > MaxMessage {
		msg = msg[:MaxMessage] + "\n[... message truncated ...]"
	}
	d.Message = msg
	return d
}

// recent is a bounded set of ids, oldest evicted first.
type recent struct {
	max   int
	order []string
	set   map[string]bool
}

func newRecent(max int) *recent { return &recent{max: max, set: map[string]bool{}} }

func (r *recent) has(id string) bool { return r.set[id] }

func (r *recent) add(id string) {
	if r.set[id] {
		return
	}
	r.set[id] = true
	r.order = append(r.order, id)
	if len(r.order) > r.max {
		delete(r.set, r.order[0])
		r.order = r.order[1:]
	}
}
