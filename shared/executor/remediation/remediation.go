// Package remediation answers sh.keptn.event.get-action.triggered from
// remediation.yaml (spec.keptn.sh/0.1.4), like Keptn's remediation-service:
// it sends .started, then .finished carrying data.action {name, action,
// description, value} and data["get-action"].actionIndex = index + 1.
//
// The file is read at the service level (the stage level for events
// without a service), pinned to the event's gitcommitid. The problem type
// is chosen by data.problem.rootCause, then data.problem.problemTitle,
// then "default" (exact string comparisons); the action by
// data["get-action"].actionIndex (or the older top-level data.actionIndex),
// default 0. A missing or invalid file is errored/fail; no matching problem
// type or an index past the end is succeeded/fail, which ends the
// remediation loop.
package remediation

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"
	"gopkg.in/yaml.v3"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/keptn"
)

// Constants of the format and the task.
const (
	APIVersion = "spec.keptn.sh/0.1.4"
	URI        = "remediation.yaml"
	Task       = "get-action"
	Source     = "remediation-service"
)

// File is a parsed remediation.yaml.
type File struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Remediations []Remediation `yaml:"remediations"`
	} `yaml:"spec"`
}

// Remediation lists the actions for one problem type.
type Remediation struct {
	ProblemType   string   `yaml:"problemType"`
	ActionsOnOpen []Action `yaml:"actionsOnOpen"`
}

// Action is one remediation action; Value may be an object or a string.
type Action struct {
	Name        string `yaml:"name" json:"name"`
	Action      string `yaml:"action" json:"action"`
	Description string `yaml:"description" json:"description"`
	Value       any    `yaml:"value" json:"value,omitempty"`
}

// Parse parses remediation.yaml and checks its apiVersion.
func Parse(b []byte) (File, error) {
	var f File
	if err := yaml.Unmarshal(b, &f); err != nil {
		return File{}, fmt.Errorf("could not parse remediation.yaml: %w", err)
	}
	if f.APIVersion != APIVersion {
		return File{}, fmt.Errorf("remediation.yaml file does not conform to remediation spec %s", APIVersion)
	}
	return f, nil
}

// ErrNoAction is wrapped when no action applies.
var ErrNoAction = errors.New("no remediation action")

// NextAction picks the action for a problem and index.
func NextAction(f File, rootCause, problemTitle string, index int) (Action, error) {
	problem := "problem type default"
	switch {
	case rootCause != "":
		problem = "root cause " + rootCause
	case problemTitle != "":
		problem = "problem title " + problemTitle
	}
	var actions []Action
	found := false
	for _, want := range []string{rootCause, problemTitle, "default"} {
		for _, r := range f.Spec.Remediations {
			if r.ProblemType == want {
				actions, found = r.ActionsOnOpen, true
				break
			}
		}
		if found {
			break
		}
	}
	if !found {
		return Action{}, fmt.Errorf("%w: unable to find action for %s", ErrNoAction, problem)
	}
	if index < 0 || index >= len(actions) {
		return Action{}, fmt.Errorf("%w: there is no action with index %d for %s", ErrNoAction, index, problem)
	}
	return actions[index], nil
}

// Handler answers get-action.triggered events.
type Handler struct {
	res  executor.Resources
	resp executor.Responder
	reg  *executor.Registry
	log  *zap.Logger
}

// New returns a Handler (source "" means "remediation-service").
func New(source string, res executor.Resources, s executor.Sender, log *zap.Logger) *Handler {
	if source == "" {
		source = Source
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Handler{res: res, resp: executor.Responder{Source: source, Sender: s}, reg: executor.NewRegistry(0, 0), log: log}
}

// Handle processes one event; it answers synchronously (the work is a
// single read) and returns only after both events were sent.
func (h *Handler) Handle(ctx context.Context, e event.Event) error {
	if e.Type() != keptn.TaskType(Task, keptn.KindTriggered) {
		return nil
	}
	d, data, err := keptn.DecodeData(e)
	if err != nil {
		return executor.Malformed("%v", err)
	}
	if d.Project == "" || d.Stage == "" {
		return executor.Malformed("get-action.triggered %s without project or stage", e.ID())
	}
	key := "remediation/" + e.ID()
	if !h.reg.FirstDelivery(key) {
		return nil
	}
	if err := h.resp.Started(ctx, e, ""); err != nil {
		h.reg.Forget(key)
		return fmt.Errorf("remediation: %w", err)
	}
	o := h.decide(ctx, e, d, data)
	if err := h.resp.Finished(ctx, e, o); err != nil {
		// .started went out; a redelivery would send a second one, so
		// log instead of asking for one.
		h.log.Error("send get-action.finished", zap.String("id", e.ID()), zap.Error(err))
	}
	return nil
}

func (h *Handler) decide(ctx context.Context, e event.Event, d keptn.Data, data map[string]any) executor.Outcome {
	scope := executor.Scope{Project: d.Project, Stage: d.Stage, Service: d.Service, GitCommitID: keptn.GitCommitID(e)}
	level := executor.LevelService
	if d.Service == "" {
		level = executor.LevelStage
	}
	where := "service " + d.Service + " in stage " + d.Stage
	b, err := scope.Get(ctx, h.res, level, URI)
	if err == nil && len(b) == 0 {
		err = executor.ErrNotFound
	}
	if err != nil {
		return executor.Errored(fmt.Sprintf("Could not get remediation.yaml file for %s: %v", where, err))
	}
	f, err := Parse(b)
	if err != nil {
		return executor.Errored(err.Error() + ". Please validate it against the specification.")
	}
	problem, _ := data["problem"].(map[string]any)
	rootCause, _ := problem["rootCause"].(string)
	title, _ := problem["problemTitle"].(string)
	index := 0
	if ga, ok := data[Task].(map[string]any); ok {
		index = intOf(ga["actionIndex"])
	} else {
		index = intOf(data["actionIndex"])
	}
	a, err := NextAction(f, rootCause, title, index)
	if err != nil {
		return executor.Fail(err.Error())
	}
	return executor.Outcome{
		Payload: map[string]any{"actionIndex": index + 1},
		Extra:   map[string]any{"action": jsonable(a)},
	}
}

func intOf(v any) int {
	if f, ok := v.(float64); ok {
		return int(f)
	}
	return 0
}

// jsonable converts YAML-decoded values (map[string]any from yaml.v3 is
// already JSON-friendly) into the action object.
func jsonable(a Action) map[string]any {
	m := map[string]any{"name": a.Name, "action": a.Action, "description": a.Description}
	if a.Value != nil {
		m["value"] = a.Value
	}
	return m
}
