package taskrunner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/proc"
	"github.com/slipwayhq/slipway/shared/redact"
	"github.com/slipwayhq/slipway/shared/safehttp"
	"github.com/slipwayhq/slipway/shared/taskrunner/taskdef"
)

// State is a definition's status, as KLT's KeptnTask status.
type State string

// States: Pending → Progressing → Succeeded|Failed.
const (
	StatePending     State = "Pending"
	StateProgressing State = "Progressing"
	StateSucceeded   State = "Succeeded"
	StateFailed      State = "Failed"
)

// Reasons of a Failed definition.
const (
	// ReasonBackoffLimitExceeded: the script failed (non-zero exit, failed
	// Job) on every attempt. The only reason that reports status succeeded
	// (result fail); every other reason reports status errored.
	ReasonBackoffLimitExceeded = "BackoffLimitExceeded"
	ReasonDeadlineExceeded     = "DeadlineExceeded"
	ReasonAborted              = "Aborted"
	ReasonNotFound             = "NotFound"
	ReasonInvalid              = "InvalidDefinition"
	ReasonCodeUnavailable      = "CodeUnavailable"
	ReasonSecretUnavailable    = "SecretUnavailable"
	ReasonRuntimeUnavailable   = "RuntimeUnavailable"
	ReasonJobError             = "JobError"
)

// DefinitionStatus is one definition's outcome, reported in the .finished
// event under data.<task>.definitions.
type DefinitionStatus struct {
	Name            string     `json:"name"`
	Runtime         string     `json:"runtime,omitempty"`
	Status          State      `json:"status"`
	Reason          string     `json:"reason,omitempty"`
	Message         string     `json:"message,omitempty"`
	StartTime       *time.Time `json:"startTime,omitempty"`
	EndTime         *time.Time `json:"endTime,omitempty"`
	Attempts        int        `json:"attempts"`
	Output          string     `json:"output,omitempty"`
	OutputTruncated bool       `json:"outputTruncated,omitempty"`
}

// inputs is what a definition learns about the event.
type inputs struct {
	task  string
	event event.Event
	data  keptn.Data
}

// The environment variables a deno script may read.
var denoAllowEnv = "--allow-env=DATA,SECURE_DATA,KEPTN_CONTEXT,CMD_ARGS,SCRIPT"

var errDeadline = errors.New("deadline exceeded")

// outcome of one attempt.
type outcome struct {
	ok        bool
	output    string // redacted
	truncated bool
	detail    string // e.g. "exit code 1"
	timedOut  bool   // the runtime itself reported the deadline (Job)
	infra     error  // not worth retrying
	reason    string // for infra
}

func (r *Runner) execute(ctx context.Context, log *zap.Logger, in inputs, res Resolved, update func(func(*DefinitionStatus))) {
	start := time.Now().UTC()
	update(func(s *DefinitionStatus) {
		s.Status, s.StartTime, s.Runtime = StateProgressing, &start, string(res.Runtime)
	})
	end := func(state State, reason, msg string) {
		now := time.Now().UTC()
		update(func(s *DefinitionStatus) {
			s.Status, s.Reason, s.Message, s.EndTime = state, reason, msg, &now
		})
		log.Info("definition done", zap.String("status", string(state)), zap.String("reason", reason))
	}
	dctx, cancel := context.WithTimeoutCause(ctx, res.Timeout, errDeadline)
	defer cancel()

	var secure string
	if res.Secret != "" {
		var v string
		var err error
		if ps, ok := r.deps.Secrets.(ProjectSecretStore); ok {
			v, err = ps.GetFor(dctx, in.data.Project, res.Secret, "SECURE_DATA")
		} else {
			v, err = r.deps.Secrets.Get(res.Secret, "SECURE_DATA")
		}
		switch {
		case err == nil:
			secure = v
		case res.Runtime != taskdef.Container:
			// A container reads the cluster's secret itself; locally the
			// secret is needed.
			end(StateFailed, ReasonSecretUnavailable, fmt.Sprintf("secureParameters.secret %q: %v", res.Secret, err))
			return
		}
	}
	red := redactorFor(secure, r.held()...)

	env := envInputs{keptnContext: keptnContextJSON(in, res.Name), cmdArgs: res.CmdParameters}
	if len(res.Parameters) > 0 {
		b, _ := json.Marshal(res.Parameters)
		env.data = string(b)
	}
	env.secureData = secure
	code := res.Code
	if res.Runtime != taskdef.Container {
		if res.Source == taskdef.SourceHTTP {
			var err error
			if code, err = r.fetch(dctx, res.URL); err != nil {
				if cause := context.Cause(dctx); cause != nil {
					r.endCanceled(end, cause, 0)
					return
				}
				end(StateFailed, ReasonCodeUnavailable, red.String(err.Error()))
				return
			}
			env.script = res.URL
		}
	}

	for attempt := 1; ; attempt++ {
		update(func(s *DefinitionStatus) { s.Attempts = attempt })
		var o outcome
		switch res.Runtime {
		case taskdef.Deno, taskdef.Python:
			o = r.runScript(dctx, res, code, env, red)
		case taskdef.Container:
			o = r.runJob(dctx, in, res, env, attempt, red)
		default:
			o = outcome{infra: fmt.Errorf("unknown runtime %q", res.Runtime), reason: ReasonInvalid}
		}
		update(func(s *DefinitionStatus) { s.Output, s.OutputTruncated = o.output, o.truncated })
		if o.ok {
			end(StateSucceeded, "", fmt.Sprintf("succeeded after %d attempt(s)", attempt))
			return
		}
		if o.timedOut {
			end(StateFailed, ReasonDeadlineExceeded, fmt.Sprintf("timeout %s exceeded in attempt %d", res.Timeout, attempt))
			return
		}
		if cause := context.Cause(dctx); cause != nil {
			r.endCanceled(end, cause, attempt, res.Timeout)
			return
		}
		if o.infra != nil {
			end(StateFailed, o.reason, red.String(o.infra.Error()))
			return
		}
		log.Info("attempt failed", zap.Int("attempt", attempt), zap.String("detail", o.detail))
		if attempt > res.Retries {
			end(StateFailed, ReasonBackoffLimitExceeded, fmt.Sprintf("%s; failed %d attempt(s) (retries %d)", o.detail, attempt, res.Retries))
			return
		}
		if r.cfg.RetryDelay > 0 {
			t := time.NewTimer(r.cfg.RetryDelay)
			select {
			case <-t.C:
			case <-dctx.Done():
				t.Stop()
				r.endCanceled(end, context.Cause(dctx), attempt, res.Timeout)
				return
			}
		}
	}
}

func (r *Runner) endCanceled(end func(State, string, string), cause error, attempt int, timeout ...time.Duration) {
	switch {
	case errors.Is(cause, errDeadline):
		msg := "timeout exceeded"
		if len(timeout) > 0 {
			msg = fmt.Sprintf("timeout %s exceeded in attempt %d", timeout[0], attempt)
		}
		end(StateFailed, ReasonDeadlineExceeded, msg)
	case errors.Is(cause, errAborted), errors.Is(cause, errShutdown):
		end(StateFailed, ReasonAborted, cause.Error())
	default:
		end(StateFailed, ReasonAborted, "canceled: "+cause.Error())
	}
}

// redactorFor redacts held, the secure data and, when it is a JSON object,
// each of its string values of 3 or more characters.
func redactorFor(secure string, held ...string) *redact.Redactor {
	if secure == "" {
		return redact.New(held...)
	}
	values := append([]string{secure, strings.TrimSpace(secure)}, held...)
	var m map[string]any
	if json.Unmarshal([]byte(secure), &m) == nil {
		var walk func(v any)
		walk = func(v any) {
			switch t := v.(type) {
			case string:
				if len(t) >= 3 {
					values = append(values, t)
				}
			case map[string]any:
				for _, x := range t {
					walk(x)
				}
			case []any:
				for _, x := range t {
					walk(x)
				}
			}
		}
		walk(m)
	}
	return redact.New(values...)
}

// envInputs are the KLT inputs of a definition.
type envInputs struct {
	data, secureData, keptnContext, cmdArgs, script string
}

func (e envInputs) list(script string) []string {
	var out []string
	if e.data != "" {
		out = append(out, "DATA="+e.data)
	}
	if e.secureData != "" {
		out = append(out, "SECURE_DATA="+e.secureData)
	}
	out = append(out, "KEPTN_CONTEXT="+e.keptnContext, "CMD_ARGS="+e.cmdArgs)
	if e.script != "" {
		script = e.script
	}
	return append(out, "SCRIPT="+script)
}

// KeptnContext is KEPTN_CONTEXT: KLT's TaskContext fields, mapped from the
// Keptn v1 event, plus the Keptn fields.
type KeptnContext struct {
	WorkloadName    string            `json:"workloadName"`    // service
	AppName         string            `json:"appName"`         // project
	AppVersion      string            `json:"appVersion"`      // always ""
	WorkloadVersion string            `json:"workloadVersion"` // always ""
	TaskType        string            `json:"taskType"`        // the Keptn task name
	ObjectType      string            `json:"objectType"`      // "Workload"
	Metadata        map[string]string `json:"metadata,omitempty"`
	Project         string            `json:"project"`
	Stage           string            `json:"stage"`
	Service         string            `json:"service"`
	KeptnContext    string            `json:"keptnContext"`
	TriggeredID     string            `json:"triggeredid"`
	GitCommitID     string            `json:"gitcommitid,omitempty"`
	Task            string            `json:"task"`
	TaskDefinition  string            `json:"taskDefinition"`
}

func keptnContextJSON(in inputs, def string) string {
	kc := KeptnContext{
		WorkloadName: in.data.Service, AppName: in.data.Project, TaskType: in.task, ObjectType: "Workload",
		Metadata: in.data.Labels, Project: in.data.Project, Stage: in.data.Stage, Service: in.data.Service,
		KeptnContext: keptn.Context(in.event), TriggeredID: in.event.ID(), GitCommitID: keptn.GitCommitID(in.event),
		Task: in.task, TaskDefinition: def,
	}
	b, _ := json.Marshal(kc)
	return string(b)
}

// fetch downloads httpRef code through the SSRF-safe client. A transport
// error, a non-2xx answer or an empty body is an error: never run an empty
// program.
func (r *Runner) fetch(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("httpRef %s: %w", url, err)
	}
	resp, err := r.deps.HTTP.Do(req)
	if err != nil {
		return "", fmt.Errorf("httpRef %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, truncated, err := safehttp.ReadLimited(resp.Body, 1<<20)
	switch {
	case err != nil:
		return "", fmt.Errorf("httpRef %s: read body: %w", url, err)
	case resp.StatusCode/100 != 2:
		return "", fmt.Errorf("httpRef %s: HTTP %d", url, resp.StatusCode)
	case truncated:
		return "", fmt.Errorf("httpRef %s: code larger than 1 MiB", url)
	case strings.TrimSpace(string(body)) == "":
		return "", fmt.Errorf("httpRef %s: empty body", url)
	}
	return string(body), nil
}

// runScript runs deno or python in a fresh private temp dir with only the
// KLT inputs and PATH/HOME/LANG in its environment. The output is redacted
// as it is captured, before the cap can cut a secret in two.
func (r *Runner) runScript(ctx context.Context, res Resolved, code string, in envInputs, red *redact.Redactor) outcome {
	bin, file := r.deno, "function.ts"
	if res.Runtime == taskdef.Python {
		bin, file = r.python, "function.py"
	}
	if bin == "" {
		return outcome{infra: fmt.Errorf("%s runtime: no %s binary found (set SLIPWAY_DENO / SLIPWAY_PYTHON)", res.Runtime, res.Runtime), reason: ReasonRuntimeUnavailable}
	}
	dir, err := os.MkdirTemp(r.cfg.WorkDir, "slipway-task-")
	if err != nil {
		return outcome{infra: fmt.Errorf("make work dir: %w", err), reason: ReasonJobError}
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, file)
	if err := os.WriteFile(script, []byte(code), 0o600); err != nil {
		return outcome{infra: fmt.Errorf("write script: %w", err), reason: ReasonJobError}
	}
	env := []string{"PATH=" + r.cfg.ScriptPATH, "HOME=" + dir, "LANG=C.UTF-8"}
	var args []string
	if res.Runtime == taskdef.Deno {
		// deno's own settings; the script cannot read them.
		env = append(env, "DENO_DIR="+filepath.Join(dir, ".deno"), "DENO_NO_UPDATE_CHECK=1", "NO_COLOR=1")
		// The network policy of safehttp, as far as deno's flags can say it.
		args = append([]string{"run", "--no-prompt", "--no-config", "--no-lock", denoAllowEnv},
			safehttp.DenoNetFlags(r.cfg.HTTPRefAllowHosts, r.cfg.DenoAllowNet)...)
		args = append(args, script)
	} else {
		args = append([]string{script}, strings.Fields(res.CmdParameters)...)
	}
	env = append(env, in.list(script)...)
	pr, err := r.deps.Sandbox.Run(ctx, proc.Cmd{Path: bin, Args: args, Env: env, Dir: dir, MaxOutput: r.cfg.MaxOutput, Redact: red})
	if err != nil {
		return outcome{infra: fmt.Errorf("%s runtime: %w", res.Runtime, err), reason: ReasonRuntimeUnavailable}
	}
	o := outcome{output: string(pr.Output), truncated: pr.Truncated, ok: pr.ExitCode == 0 && !pr.TimedOut && !pr.Canceled}
	o.detail = "exit code " + strconv.Itoa(pr.ExitCode)
	return o
}

// JobName is a DNS-1123 label unique per (triggered event, definition,
// attempt), so a redelivered event finds its Job again.
func JobName(triggeredID, definition string, attempt int) string {
	sum := sha256.Sum256([]byte(triggeredID + "/" + definition))
	d := strings.Trim(strings.ReplaceAll(definition, ".", "-"), "-")
	if len(d) > 30 {
		d = strings.Trim(d[:30], "-")
	}
	return fmt.Sprintf("slipway-%s-%s-%d", d, hex.EncodeToString(sum[:])[:10], attempt)
}

// reservedEnv are set by the runner and replace a container's own values.
var reservedEnv = map[string]bool{"DATA": true, "SECURE_DATA": true, "KEPTN_CONTEXT": true, "CMD_ARGS": true, "SCRIPT": true}

// runJob runs a container attempt as a Job. The logs arrive capped (their
// head kept), so a secret cut at the end is masked as well.
func (r *Runner) runJob(ctx context.Context, in inputs, res Resolved, e envInputs, attempt int, red *redact.Redactor) outcome {
	if r.deps.Jobs == nil {
		return outcome{infra: errors.New("the container runtime needs a Kubernetes cluster: no job runner is configured (the task runner is running outside a cluster)"), reason: ReasonRuntimeUnavailable}
	}
	c := res.Container
	job := Job{
		Name: JobName(in.event.ID(), res.Name, attempt), Namespace: r.cfg.JobNamespace,
		Image: c.Image, Command: c.Command, Args: c.Args, WorkingDir: c.WorkingDir,
		SecureDataSecret: res.Secret, TTLSecondsAfterFinished: res.TTL, MaxOutput: r.cfg.MaxOutput,
		Labels: map[string]string{
			"app.kubernetes.io/managed-by": "slipway",
			"keptn.sh/context":             keptn.Context(in.event),
			"keptn.sh/event-id":            in.event.ID(),
			"keptn.sh/task":                in.task,
			"keptn.sh/task-definition":     res.Name,
			"keptn.sh/project":             in.data.Project,
			"keptn.sh/stage":               in.data.Stage,
			"keptn.sh/service":             in.data.Service,
		},
		Annotations: map[string]string{"keptn.sh/attempt": strconv.Itoa(attempt), "keptn.sh/triggeredid": in.event.ID()},
	}
	if dl, ok := ctx.Deadline(); ok {
		job.Timeout = time.Until(dl)
	}
	for _, v := range c.Env {
		if !reservedEnv[v.Name] {
			job.Env = append(job.Env, EnvVar{Name: v.Name, Value: v.Value})
		}
	}
	if e.data != "" {
		job.Env = append(job.Env, EnvVar{Name: "DATA", Value: e.data})
	}
	job.Env = append(job.Env, EnvVar{Name: "KEPTN_CONTEXT", Value: e.keptnContext})
	jr, err := r.deps.Jobs.RunJob(ctx, job)
	if err != nil {
		return outcome{infra: fmt.Errorf("job %s: %w", job.Name, err), reason: ReasonJobError}
	}
	out := red.String(jr.Output)
	if jr.Truncated {
		out = red.Head(jr.Output)
	}
	o := outcome{ok: jr.Succeeded, output: out, truncated: jr.Truncated, detail: "job failed"}
	if jr.Reason != "" || jr.Message != "" {
		o.detail = strings.TrimSpace("job failed: " + jr.Reason + " " + jr.Message)
	}
	o.timedOut = !jr.Succeeded && jr.Reason == ReasonDeadlineExceeded
	return o
}
