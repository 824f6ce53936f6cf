package keptn

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Keptn's CloudEvents extension attributes.
const (
	ExtContext     = "shkeptncontext"
	ExtTriggeredID = "triggeredid"
	ExtGitCommitID = "gitcommitid"
	ExtSpecVersion = "shkeptnspecversion"
)

// ExtSlipwayKind marks events by role where the type alone cannot: task
// .triggered events carry "task", so a Trigger can tell them from
// <stage>.<sequence>.triggered (both end in .triggered) without CESQL.
const (
	ExtSlipwayKind  = "slipwaykind"
	SlipwayKindTask = "task"
)

// SpecVersion is the Keptn spec version Slipway speaks.
const SpecVersion = "0.2.4"

// ControlPlaneSource is the source of events the control plane emits; Keptn
// clients and tests look for it.
const ControlPlaneSource = "shipyard-controller"

// Ext returns a string extension of e ("" when absent).
func Ext(e event.Event, name string) string {
	v, ok := Extension(e, name)
	if !ok {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// Extension looks up one extension by its (lower-case) name. Unlike
// e.Extensions(), which copies the whole map on every call, it reads a v1.0
// context in place; the handlers ask for several extensions per event.
func Extension(e event.Event, name string) (any, bool) {
	if c, ok := e.Context.(*event.EventContextV1); ok {
		v, ok := c.Extensions[name]
		return v, ok
	}
	if e.Context == nil {
		return nil, false
	}
	v, ok := e.Extensions()[name]
	return v, ok
}

// Context returns e's shkeptncontext.
func Context(e event.Event) string { return Ext(e, ExtContext) }

// TriggeredID returns e's triggeredid.
func TriggeredID(e event.Event) string { return Ext(e, ExtTriggeredID) }

// GitCommitID returns e's gitcommitid.
func GitCommitID(e event.Event) string { return Ext(e, ExtGitCommitID) }

// Meta is what identifies a Keptn event besides its type and data.
type Meta struct {
	ID          string
	Source      string
	Time        time.Time
	Context     string
	TriggeredID string
	GitCommitID string
	// Extra holds further extension attributes (e.g. ExtSlipwayKind).
	Extra map[string]string
}

// NewEvent builds a Keptn CloudEvent with a JSON data payload.
func NewEvent(typ string, m Meta, data any) (event.Event, error) {
	e := event.New()
	e.SetID(m.ID)
	e.SetType(typ)
	e.SetSource(m.Source)
	e.SetTime(m.Time.UTC())
	e.SetExtension(ExtContext, m.Context)
	e.SetExtension(ExtSpecVersion, SpecVersion)
	if m.TriggeredID != "" {
		e.SetExtension(ExtTriggeredID, m.TriggeredID)
	}
	if m.GitCommitID != "" {
		e.SetExtension(ExtGitCommitID, m.GitCommitID)
	}
	for k, v := range m.Extra {
		e.SetExtension(k, v)
	}
	if err := e.SetData(event.ApplicationJSON, data); err != nil {
		return event.Event{}, fmt.Errorf("encode data of %s: %w", typ, err)
	}
	return e, nil
}

// Scope is where an event belongs: data.project, data.stage, data.service.
type Scope struct {
	Project string `json:"project"`
	Stage   string `json:"stage"`
	Service string `json:"service"`
}

// DecodeScope reads only e's scope. It is for handlers that route or index
// events without reading the rest: DecodeData builds a map of the whole
// payload, a cost paid on every event. Like Keptn's Go SDK (and unlike
// DecodeData's map lookups) it matches the keys case-insensitively.
//
// encoding/json into the three-field struct: a hand-written one-pass
// scanner did it in a third of the time in isolation, but the load harness
// showed no difference beyond its noise (docs/benchmarks.md), so it went.
func DecodeScope(e event.Event) (Scope, error) {
	raw := e.Data()
	if len(raw) == 0 {
		return Scope{}, nil
	}
	var s Scope
	if err := json.Unmarshal(raw, &s); err != nil {
		return Scope{}, fmt.Errorf("event %s: data is not a JSON object with string project, stage and service: %w", e.ID(), err)
	}
	return s, nil
}

// DecodeData decodes e's data into the common block and the full map, with
// one JSON decode (the block is read from the map).
func DecodeData(e event.Event) (Data, map[string]any, error) {
	var d Data
	m := map[string]any{}
	raw := e.Data()
	if len(raw) == 0 {
		return d, m, nil
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return d, nil, fmt.Errorf("event %s: data is not a JSON object: %w", e.ID(), err)
	}
	str := func(k string) (string, error) {
		switch v := m[k].(type) {
		case nil:
			return "", nil
		case string:
			return v, nil
		default:
			return "", fmt.Errorf("event %s: data.%s is %T, not a string", e.ID(), k, v)
		}
	}
	var err error
	var status, result string
	for _, f := range []struct {
		k   string
		dst *string
	}{{"project", &d.Project}, {"stage", &d.Stage}, {"service", &d.Service}, {"message", &d.Message},
		{"status", &status}, {"result", &result}} {
		if *f.dst, err = str(f.k); err != nil {
			return Data{}, nil, err
		}
	}
	d.Status, d.Result = Status(status), Result(result)
	switch l := m["labels"].(type) {
	case nil:
	case map[string]any:
		d.Labels = make(map[string]string, len(l))
		for k, v := range l {
			s, ok := v.(string)
			if !ok {
				return Data{}, nil, fmt.Errorf("event %s: data.labels.%s is %T, not a string", e.ID(), k, v)
			}
			d.Labels[k] = s
		}
	default:
		return Data{}, nil, fmt.Errorf("event %s: data.labels is %T, not an object", e.ID(), l)
	}
	return d, m, nil
}

// Respond builds a response (.started/.status.changed/.finished) to a
// .triggered event the way Keptn's SDK does: same context, gitcommitid and
// project/stage/service/labels, triggeredid set to the triggering event's id.
// status/result/message and payload (under data.<task>) are optional.
func Respond(triggered event.Event, kind Kind, m Meta, d Data, payload any) (event.Event, error) {
	t, err := ParseType(triggered.Type())
	if err != nil {
		return event.Event{}, err
	}
	if !t.IsTask() {
		return event.Event{}, fmt.Errorf("respond to %s: not a task event", triggered.Type())
	}
	in, _, err := DecodeData(triggered)
	if err != nil {
		return event.Event{}, err
	}
	d.Project, d.Stage, d.Service = in.Project, in.Stage, in.Service
	labels := map[string]string{}
	for k, v := range d.Labels {
		labels[k] = v
	}
	for k, v := range in.Labels { // responders may add labels, never change them
		labels[k] = v
	}
	if len(labels) > 0 {
		d.Labels = labels
	}
	body := map[string]any{}
	raw, _ := json.Marshal(d)
	_ = json.Unmarshal(raw, &body)
	if payload != nil {
		body[t.Task] = payload
	}
	m.Context = Context(triggered)
	m.TriggeredID = triggered.ID()
	m.GitCommitID = GitCommitID(triggered)
	return NewEvent(TaskType(t.Task, kind), m, body)
}
