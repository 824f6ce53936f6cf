// Package generic is Slipway's generic executor, compatible with Keptn's
// generic-executor-service: it runs `generic-executor/<name>.{sh,py,http}`
// files from the project's configuration for incoming events.
//
// File lookup. For an event sh.keptn.event.<task>.<kind> the base name X is
// "<task>.<kind>" (for a sequence event "<sequence>.<kind>"). Candidates are
// X.sh, X.py, X.http, all.events.sh, all.events.py, all.events.http, in that
// order; each candidate is tried at the service, stage and project level
// before the next, and the first one found runs, alone. So a project-level
// X.sh beats a service-level all.events.sh, and all.events.* never runs in
// addition to a specific file (GES 0.8.4's code; its README claimed
// otherwise).
//
// Actions. For sh.keptn.event.action.triggered the only candidates are
// action.triggered.<data.action.action>.{sh,py,http}: a catch-all never
// claims an action, so with only all.events.sh present an action.triggered
// gets no response and real action providers are not raced.
//
// Responses. A task .triggered event that finds a file gets .started before
// anything runs, then exactly one .finished; every other event (started,
// finished, sequence events, ...) runs its file in notification mode and
// nothing is emitted. sh.keptn.event.<task>.aborted cancels the work
// started for its triggeredid (the script's process group is killed); the
// .finished then says errored/fail "aborted".
package generic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/executor/httpfile"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/proc"
	"github.com/slipwayhq/slipway/shared/redact"
	"github.com/slipwayhq/slipway/shared/safehttp"
)

// Source is the default source of the events the executor emits.
const Source = "generic-executor-service"

// Dir is the folder of the configuration repository holding the files.
const Dir = "generic-executor/"

// Config configures an Executor. Zero fields take the documented defaults.
type Config struct {
	Source     string        // "generic-executor-service"
	Timeout    time.Duration // per run; 300s
	MaxTimeout time.Duration // cap for a file's own "slipway-timeout:"; 1h
	MaxOutput  int           // bytes of output kept in data.message; 64 KiB
	// Env holds the executor variables scripts may see, exposed as
	// ENV_<NAME> (and ${env.NAME} in .http files). Their values are
	// treated as secrets and redacted from every message and payload.
	Env     map[string]string
	Bash    string // "bash"
	Python  string // "python3"
	WorkDir string // parent of per-run temp dirs; os.TempDir()
	// HTTP configures the client for .http files (SSRF guard, limits).
	HTTP safehttp.Options
	// Secrets are further values to redact: every secret the executor
	// holds (its API token, mounted secret files), so a script that finds
	// one cannot pass it into an event.
	Secrets []string
	// Sandbox runs the scripts (uid, limits, queue; see proc.Sandbox); nil
	// makes one with proc's defaults.
	Sandbox *proc.Sandbox
	// Claims, when set, claims each task before running it, so a
	// redelivered .triggered runs once across instances and restarts;
	// nil dedupes in memory only.
	Claims executor.Claimer
}

func (c *Config) defaults() {
	if c.Source == "" {
		c.Source = Source
	}
	if c.Timeout <= 0 {
		c.Timeout = 300 * time.Second
	}
	if c.MaxTimeout <= 0 {
		c.MaxTimeout = time.Hour
	}
	if c.MaxOutput <= 0 {
		c.MaxOutput = 64 << 10
	}
	if c.Bash == "" {
		c.Bash = "bash"
	}
	if c.Python == "" {
		c.Python = "python3"
	}
}

// Executor handles events. Create it with New.
type Executor struct {
	cfg    Config
	res    executor.Resources
	resp   executor.Responder
	reg    *executor.Registry
	bg     executor.Background
	client *http.Client
	red    *redact.Redactor
	sb     *proc.Sandbox
	log    *zap.Logger
}

// New returns an Executor reading files from res and replying through s.
func New(cfg Config, res executor.Resources, s executor.Sender, log *zap.Logger) *Executor {
	cfg.defaults()
	if log == nil {
		log = zap.NewNop()
	}
	vals := make([]string, 0, len(cfg.Env)+len(cfg.Secrets))
	for _, v := range cfg.Env {
		vals = append(vals, v)
	}
	vals = append(vals, cfg.Secrets...)
	sb := cfg.Sandbox
	if sb == nil {
		var err error
		if sb, err = proc.NewSandbox(proc.SandboxConfig{}); err != nil {
			// prctl cannot fail on Linux for these arguments; without a
			// sandbox every script fails rather than run unconfined.
			log.Error("script sandbox", zap.Error(err))
		}
	}
	return &Executor{
		sb:     sb,
		cfg:    cfg,
		res:    res,
		resp:   executor.Responder{Source: cfg.Source, Sender: s},
		reg:    executor.NewRegistry(0, 0),
		client: safehttp.NewClient(cfg.HTTP),
		red:    redact.New(vals...),
		log:    log,
	}
}

// Wait blocks until all background work has finished.
func (x *Executor) Wait() { x.bg.Wait() }

// Running reports whether work for the .triggered event id is running.
func (x *Executor) Running(triggeredID string) bool { return x.reg.Running(triggeredID) }

var actionName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// Candidates returns the files to look for, in order, for an event of type
// t with data (nil when the event asks for nothing).
func Candidates(t keptn.Type, data map[string]any) []string {
	exts := []string{"sh", "py", "http"}
	var bases []string
	switch {
	case t.Task == "action" && t.Kind == keptn.KindTriggered:
		a, _ := getCI(asMap(data["action"]), "action").(string)
		if !actionName.MatchString(a) || strings.Contains(a, "..") {
			return nil
		}
		bases = []string{"action.triggered." + a}
	case t.IsTask():
		bases = []string{t.Task + "." + string(t.Kind), "all.events"}
	case t.IsSequence():
		bases = []string{t.Sequence + "." + string(t.Kind), "all.events"}
	}
	var out []string
	for _, b := range bases {
		for _, e := range exts {
			out = append(out, Dir+b+"."+e)
		}
	}
	return out
}

// Handle processes one event. It returns once the lookup is done and the
// .started (if any) was sent; the file runs in the background. Errors are
// for executor.Result: ErrMalformed for bad events, others to redeliver.
func (x *Executor) Handle(ctx context.Context, e event.Event) error {
	t, err := keptn.ParseType(e.Type())
	if errors.Is(err, keptn.ErrNotKeptn) {
		return nil
	}
	if err != nil {
		return executor.Malformed("%v", err)
	}
	if t.Kind == keptn.KindAborted {
		if x.reg.Abort(keptn.TriggeredID(e)) {
			x.log.Info("aborting", zap.String("triggeredid", keptn.TriggeredID(e)))
		}
		return nil
	}
	d, data, err := keptn.DecodeData(e)
	if err != nil {
		return executor.Malformed("%v", err)
	}
	if d.Project == "" {
		return nil // nothing addresses a configuration
	}
	uris := Candidates(t, data)
	if len(uris) == 0 {
		return nil
	}
	respond := t.IsTask() && t.Kind == keptn.KindTriggered
	key := "generic/" + e.ID()
	if !x.reg.FirstDelivery(key) {
		x.log.Info("duplicate delivery ignored", zap.String("id", e.ID()))
		return nil
	}
	scope := executor.Scope{Project: d.Project, Stage: d.Stage, Service: d.Service, GitCommitID: keptn.GitCommitID(e)}
	found, err := executor.Find(ctx, x.res, scope, uris)
	if errors.Is(err, executor.ErrNotFound) {
		return nil
	}
	if err != nil {
		x.reg.Forget(key)
		return fmt.Errorf("generic executor: %w", err)
	}
	log := x.log.With(zap.String("id", e.ID()), zap.String("type", e.Type()), zap.String("file", found.URI), zap.String("level", string(found.Level)))
	if !respond {
		x.bg.Go(func() {
			o := x.run(context.Background(), e, t, data, found)
			log.Info("notification run done", zap.String("status", string(o.Status)), zap.String("result", string(o.Result)))
		})
		return nil
	}
	if x.cfg.Claims != nil {
		// Across instances and restarts: the in-memory dedupe above only
		// knows this process's deliveries.
		run, err := x.cfg.Claims.Claim(ctx, d.Project, e.ID(), x.cfg.Source)
		if err != nil {
			x.reg.Forget(key)
			return fmt.Errorf("generic executor: %w", err)
		}
		if !run {
			log.Info("task already claimed by another instance or before a restart; not run again")
			return nil
		}
	}
	runCtx, done, ok := x.reg.Begin(context.Background(), e.ID())
	if !ok {
		log.Info("task was aborted before it started")
		return nil
	}
	if err := x.resp.Started(ctx, e, fmt.Sprintf("Found script %s (%s level)", found.URI, found.Level)); err != nil {
		done()
		x.reg.Forget(key)
		return fmt.Errorf("generic executor: %w", err)
	}
	x.bg.Go(func() {
		defer done()
		o := x.run(runCtx, e, t, data, found)
		sendCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := x.resp.Finished(sendCtx, e, o); err != nil {
			log.Error("send finished", zap.Error(err))
			return
		}
		log.Info("finished", zap.String("status", string(o.Status)), zap.String("result", string(o.Result)))
	})
	return nil
}

var timeoutDirective = regexp.MustCompile(`slipway-timeout:\s*([0-9a-zµ.]+)`)

// fileTimeout reads an optional "slipway-timeout: 90s" from the first lines.
func (x *Executor) fileTimeout(content []byte) time.Duration {
	head := content
	for i, n := 0, 0; i < len(head); i++ {
		if head[i] == '\n' {
			if n++; n == 10 {
				head = head[:i]
				break
			}
		}
	}
	if m := timeoutDirective.FindSubmatch(head); m != nil {
		if d, err := time.ParseDuration(string(m[1])); err == nil && d > 0 {
			return min(d, x.cfg.MaxTimeout)
		}
	}
	return x.cfg.Timeout
}

func (x *Executor) run(ctx context.Context, e event.Event, t keptn.Type, data map[string]any, f executor.Found) executor.Outcome {
	start := time.Now().UTC()
	var o executor.Outcome
	switch path.Ext(f.URI) {
	case ".sh":
		o = x.runScript(ctx, e, data, f, x.cfg.Bash)
	case ".py":
		o = x.runScript(ctx, e, data, f, x.cfg.Python)
	case ".http":
		o = x.runHTTP(ctx, e, f)
	default:
		o = executor.Errored("unsupported file " + f.URI)
	}
	// Script output and response bodies are redacted already (before their
	// caps); this covers the rest of the message: errors, rendered URLs.
	o.Message = executor.TruncateMessage(x.red.String(o.Message), x.cfg.MaxOutput+1024)
	if o.Payload != nil {
		o.Payload, _ = x.red.Any(o.Payload).(map[string]any)
	}
	if t.Task == "test" && t.Kind == keptn.KindTriggered && o.Status != keptn.StatusErrored {
		if o.Payload == nil {
			o.Payload = map[string]any{}
		}
		if _, ok := o.Payload["start"]; !ok {
			o.Payload["start"] = start.Format(time.RFC3339)
		}
		if _, ok := o.Payload["end"]; !ok {
			o.Payload["end"] = time.Now().UTC().Format(time.RFC3339)
		}
	}
	return o
}

func (x *Executor) runScript(ctx context.Context, e event.Event, data map[string]any, f executor.Found, interpreter string) executor.Outcome {
	work, err := os.MkdirTemp(x.cfg.WorkDir, "generic-executor-")
	if err != nil {
		return executor.Errored("create work dir: " + err.Error())
	}
	defer os.RemoveAll(work)
	script := filepath.Join(work, path.Base(f.URI))
	eventFile := filepath.Join(work, "event.json")
	resultFile := filepath.Join(work, "result.json")
	raw, err := json.Marshal(e)
	if err != nil {
		return executor.Errored("encode event: " + err.Error())
	}
	if err := os.WriteFile(script, f.Content, 0o700); err != nil {
		return executor.Errored("stage script: " + err.Error())
	}
	if err := os.WriteFile(eventFile, raw, 0o600); err != nil {
		return executor.Errored("stage event: " + err.Error())
	}
	base := append(proc.BaseEnv(work), "TMPDIR="+work, "EVENT_FILE="+eventFile, "RESULT_FILE="+resultFile)
	env := BuildEnv(EnvInput{Event: e, Data: data, Allowed: x.cfg.Env, Base: base})
	timeout := x.fileTimeout(f.Content)
	if x.sb == nil {
		return executor.Errored("no script sandbox")
	}
	res, err := x.sb.Run(ctx, proc.Cmd{
		Path: interpreter, Args: []string{script, eventFile}, Env: env, Dir: work,
		Timeout: timeout, MaxOutput: x.cfg.MaxOutput, Redact: x.red,
	})
	if err != nil {
		return executor.Errored(fmt.Sprintf("Failed to execute %s: %v", f.URI, err))
	}
	out := string(res.Output)
	switch {
	case res.Canceled && executor.Aborted(ctx):
		return executor.Errored("aborted")
	case res.Canceled:
		return executor.Errored(fmt.Sprintf("Failed to execute %s: canceled\n%s", f.URI, out))
	case res.TimedOut:
		return executor.Errored(fmt.Sprintf("Failed to execute %s: timeout after %s (process group killed)\n%s", f.URI, timeout, out))
	case res.ExitCode != 0:
		return executor.Fail(fmt.Sprintf("Failed to execute %s: exit code %d\n%s", f.URI, res.ExitCode, out))
	}
	payload := readResultFile(resultFile)
	if payload == nil && safeID.MatchString(e.ID()) { // GES: <id>.finished.event.json
		payload = readResultFile(filepath.Join(work, e.ID()+".finished.event.json"))
	}
	if payload == nil {
		payload = jsonFromOutput(res.Output)
	}
	return outcomeFromPayload(out, payload)
}

var safeID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,200}$`)

const maxResultFile = 256 << 10

func readResultFile(p string) map[string]any {
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, trunc, err := safehttp.ReadLimited(f, maxResultFile)
	if err != nil || trunc {
		return nil
	}
	return jsonObject(b)
}

func jsonObject(b []byte) map[string]any {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil
	}
	return m
}

// jsonFromOutput takes a JSON object from the whole output or, failing
// that, from its last non-empty line. stdout and stderr are interleaved, so
// scripts should print their result last or use $RESULT_FILE.
func jsonFromOutput(out []byte) map[string]any {
	if m := jsonObject(out); m != nil {
		return m
	}
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	return jsonObject(lines[len(lines)-1])
}

// outcomeFromPayload: {"error": ...} fails the task; any other object goes
// under data.<task>.
func outcomeFromPayload(message string, payload map[string]any) executor.Outcome {
	if payload != nil {
		if v, ok := payload["error"]; ok && v != nil && v != false && v != "" {
			return executor.Fail(httpfile.Stringify(v))
		}
	}
	return executor.Outcome{Message: message, Payload: payload}
}

func (x *Executor) runHTTP(ctx context.Context, e event.Event, f executor.Found) executor.Outcome {
	req, err := httpfile.Parse(string(f.Content))
	if err != nil {
		return executor.Errored(fmt.Sprintf("Failed to parse %s: %v", f.URI, err))
	}
	em, err := executor.EventMap(e)
	if err != nil {
		return executor.Errored(err.Error())
	}
	req, err = req.Render(httpfile.Vars{Event: em, Env: x.cfg.Env, Time: e.Time()})
	if err != nil {
		return executor.Errored(fmt.Sprintf("Failed to prepare %s: %v", f.URI, err))
	}
	timeout := x.fileTimeout(f.Content)
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := httpfile.Do(rctx, x.client, req, int64(x.cfg.MaxOutput))
	switch {
	case err != nil && executor.Aborted(ctx):
		return executor.Errored("aborted")
	case err != nil && errors.Is(rctx.Err(), context.DeadlineExceeded):
		return executor.Errored(fmt.Sprintf("Failed to execute %s: timeout after %s", f.URI, timeout))
	case err != nil:
		return executor.Errored(fmt.Sprintf("Failed to execute %s: %v", f.URI, err))
	}
	body := string(resp.Body)
	if resp.Truncated {
		// The limit may have cut an echoed secret short of a full match.
		body = x.red.Head(body) + "\n[... response truncated ...]"
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return executor.Fail(fmt.Sprintf("%s answered HTTP %d: %s", f.URI, resp.StatusCode, body))
	}
	var payload map[string]any
	if !resp.Truncated {
		payload = jsonObject(resp.Body)
	}
	return outcomeFromPayload(body, payload)
}
