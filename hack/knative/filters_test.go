package knative

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/eventfilter"
	"knative.dev/eventing/pkg/eventfilter/attributes"
	"knative.dev/eventing/pkg/eventfilter/subscriptionsapi"

	"github.com/slipwayhq/slipway/shared/broker/filter"
	"github.com/slipwayhq/slipway/shared/broker/trigger"
	"github.com/slipwayhq/slipway/shared/keptn"
)

// KindExtension marks the task events the control plane emits
// (slipwaykind=task), so that a Trigger can tell a task .triggered from a
// sequence .triggered without counting type segments.
const KindExtension = "slipwaykind"

// Sources of the events Slipway's own functions emit.
const (
	srcControlPlane    = keptn.ControlPlaneSource // shipyard-controller
	srcApproval        = "approval-service"
	srcExecutor        = "generic-executor"
	srcTaskRunner      = "task-runner"
	srcKnativeDeployer = "knative-deployer"
	srcPing            = "/apis/v1/namespaces/slipway/pingsources/slipway-sweeper"
	srcLighthouse      = "lighthouse-service"
	srcPrometheusSLI   = "prometheus-service"
)

// newEvent builds a bare event with the given extensions.
func newEvent(id, typ, source string, ext map[string]any) event.Event {
	e := event.New()
	e.SetID(id)
	e.SetType(typ)
	e.SetSource(source)
	for k, v := range ext {
		e.SetExtension(k, v)
	}
	return e
}

// knativeFilter builds the filter Knative's broker applies for a Trigger
// (filters win over filter.attributes; filter_handler.go).
func knativeFilter(t *eventingv1.Trigger) eventfilter.Filter {
	if len(t.Spec.Filters) > 0 {
		return subscriptionsapi.CreateSubscriptionsAPIFilters(zap.NewNop(), t.Spec.Filters)
	}
	if t.Spec.Filter != nil && len(t.Spec.Filter.Attributes) > 0 {
		return attributes.NewAttributesFilter(t.Spec.Filter.Attributes)
	}
	return nil
}

func knativeVerdict(f eventfilter.Filter, e event.Event) filter.Result {
	if f == nil {
		return filter.NoFilter
	}
	switch f.Filter(context.Background(), e) {
	case eventfilter.PassFilter:
		return filter.Pass
	case eventfilter.FailFilter:
		return filter.Fail
	default:
		return filter.NoFilter
	}
}

// routes pairs each Trigger's Knative filter with the dev broker's.
type route struct {
	name       string
	subscriber string
	knative    eventfilter.Filter
	dev        filter.Filter
}

func loadRoutes(t *testing.T) []route {
	t.Helper()
	m := loadManifests(t)
	dev, err := trigger.LoadDirs(repoRoot + "/triggers")
	if err != nil {
		t.Fatalf("dev broker cannot load triggers/: %v", err)
	}
	byName := map[string]trigger.Trigger{}
	for _, d := range dev {
		byName[d.Name] = d
	}
	var out []route
	for _, kt := range m.Triggers {
		d, ok := byName[kt.Name]
		if !ok {
			continue // config/ holds no Triggers today; the dev broker reads triggers/ only
		}
		df, err := filter.Compile(d.Filter)
		if err != nil {
			t.Fatalf("dev broker refuses Trigger %s: %v", kt.Name, err)
		}
		kf := knativeFilter(kt)
		if kf != nil {
			t.Cleanup(kf.Cleanup) // all/any start an optimizer goroutine
		}
		out = append(out, route{name: kt.Name, subscriber: kt.Spec.Subscriber.Ref.Name, knative: kf, dev: df})
	}
	if len(out) != len(dev) {
		t.Fatalf("dev broker loaded %d Triggers, Knative types %d", len(dev), len(out))
	}
	return out
}

// corpus is Keptn traffic as Slipway sees it: every kind of event each party
// emits, plus near misses (wrong prefix, extra segments, other ping sources,
// odd extension types).
func corpus() []event.Event {
	var out []event.Event
	n := 0
	mk := func(typ, source string, ext map[string]any) {
		n++
		e := newEvent(fmt.Sprintf("ev-%d", n), typ, source, ext)
		e.SetTime(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC))
		e.SetExtension(keptn.ExtContext, "0c7e5f61-8a86-4bbb-a9f3-5e22b3d7c0aa")
		e.SetExtension(keptn.ExtSpecVersion, keptn.SpecVersion)
		_ = e.SetData(event.ApplicationJSON, map[string]string{"project": "podtato", "stage": "dev", "service": "head"})
		out = append(out, e)
	}
	tasks := []string{"deployment", "test", "evaluation", "approval", "release", "get-action", "action", "rollback", "my-task", "triggered", "finished"}
	sequences := [][2]string{{"dev", "delivery"}, {"hardening", "delivery"}, {"production", "delivery"}, {"production", "remediation"}, {"dev", "evaluation"}, {"triggered", "finished"}}
	for _, task := range tasks {
		// from the control plane: .triggered and .aborted, marked as task events
		for _, kind := range []keptn.Kind{keptn.KindTriggered, keptn.KindAborted} {
			mk(keptn.TaskType(task, kind), srcControlPlane, map[string]any{KindExtension: "task"})
		}
		// from executors, the approval responder and third parties
		for _, src := range []string{srcExecutor, srcTaskRunner, srcApproval, "helm-service", "ci"} {
			for _, kind := range []keptn.Kind{keptn.KindStarted, keptn.KindStatusChanged, keptn.KindFinished} {
				mk(keptn.TaskType(task, kind), src, map[string]any{keptn.ExtTriggeredID: "t-1"})
			}
		}
		// a task .triggered posted by someone else (not marked)
		mk(keptn.TaskType(task, keptn.KindTriggered), "ci", nil)
	}
	for _, s := range sequences {
		for _, src := range []string{"ci", "https://github.com/org/repo", "api"} {
			mk(keptn.SequenceType(s[0], s[1], keptn.KindTriggered), src, nil)
		}
		mk(keptn.SequenceType(s[0], s[1], keptn.KindTriggered), srcControlPlane, map[string]any{KindExtension: "sequence"})
		mk(keptn.SequenceType(s[0], s[1], keptn.KindFinished), srcControlPlane, map[string]any{KindExtension: "sequence", keptn.ExtTriggeredID: "t-2"})
		mk(keptn.SequenceType(s[0], s[1], keptn.KindStarted), srcControlPlane, nil)
	}
	mk("dev.knative.sources.ping", srcPing, nil)
	mk("dev.knative.sources.ping", "/apis/v1/namespaces/other/pingsources/slipway-sweeper", nil)
	mk("dev.knative.sources.ping", "/apis/v1/namespaces/slipway/pingsources/nightly", nil)
	mk("sh.keptn.events.deployment-finished", "old", nil)                                      // Keptn 0.7 type
	mk("sh.keptn.event.deployment.triggered.extra", "x", nil)                                  // not a Keptn type
	mk("io.example.sh.keptn.event.dev.delivery.triggered", "x", nil)                           // prefix elsewhere
	mk("sh.keptn.event.dev.delivery.triggered", "ci", map[string]any{KindExtension: int32(7)}) // non-string extension
	mk("sh.keptn.event.deployment.triggered", srcControlPlane, map[string]any{KindExtension: "TASK"})
	mk("sh.keptn.event.dev.delivery.TRIGGERED", "ci", nil)
	return out
}

// TestDevBrokerMatchesKnative: the dev broker's filter gives Knative's verdict
// for every (Trigger, event) pair.
func TestDevBrokerMatchesKnative(t *testing.T) {
	routes := loadRoutes(t)
	events := corpus()
	pairs := 0
	for _, r := range routes {
		for _, e := range events {
			pairs++
			want, got := knativeVerdict(r.knative, e), r.dev.Evaluate(e)
			if want != got {
				t.Errorf("Trigger %s, event %s from %s (ext %v): Knative %v, dev broker %v", r.name, e.Type(), e.Source(),
					e.Extensions(), want, got)
			}
		}
	}
	t.Logf("%d Triggers × %d events = %d pairs agree", len(routes), len(events), pairs)
}

// TestDevBrokerMatchesKnativeDialects runs the same comparison on filter
// shapes the Triggers do not use yet (legacy attributes, nested not/any/all,
// empty all/any), so a Trigger edited later is covered too.
func TestDevBrokerMatchesKnativeDialects(t *testing.T) {
	specs := map[string]string{
		"legacy attributes":  `filter: {attributes: {type: sh.keptn.event.deployment.triggered, source: shipyard-controller}}`,
		"legacy empty value": `filter: {attributes: {triggeredid: ""}}`,
		"exact two keys":     `filters: [{exact: {type: sh.keptn.event.approval.triggered, source: shipyard-controller}}]`,
		"not any":            `filters: [{not: {any: [{suffix: {type: .started}}, {prefix: {source: approval}}]}}]`,
		"all nested":         `filters: [{all: [{prefix: {type: sh.keptn.}}, {not: {exact: {slipwaykind: task}}}]}]`,
		"extension prefix":   `filters: [{prefix: {triggeredid: t-}}]`,
		"missing extension":  `filters: [{suffix: {gitcommitid: abc}}]`,
	}
	events := corpus()
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			y := "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {name: t, namespace: slipway}\nspec:\n  broker: slipway\n  " +
				spec + "\n  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: api}}\n"
			dev, err := trigger.Parse(strings.NewReader(y), name)
			if err != nil || len(dev) != 1 {
				t.Fatalf("dev parse: %v", err)
			}
			df, err := filter.Compile(dev[0].Filter)
			if err != nil {
				t.Fatal(err)
			}
			docs, err := readDocsFromString(name, y)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(validationContext(), docs)
			if err != nil {
				t.Fatal(err)
			}
			kf := knativeFilter(m.Triggers[0])
			if kf != nil {
				defer kf.Cleanup()
			}
			for _, e := range events {
				if want, got := knativeVerdict(kf, e), df.Evaluate(e); want != got {
					t.Errorf("event %s from %s (ext %v): Knative %v, dev broker %v", e.Type(), e.Source(), e.Extensions(), want, got)
				}
			}
		})
	}
}

// Subscribers and what routing must deliver to them, decided with Knative's
// own filters. Each row is one event; want lists the Triggers that take it.
func TestRouting(t *testing.T) {
	routes := loadRoutes(t)
	ev := func(typ, source string, ext map[string]any) event.Event { return newEvent("x", typ, source, ext) }
	task := map[string]any{KindExtension: "task"}
	seq := map[string]any{KindExtension: "sequence"}
	executorsTriggered := []string{"generic-executor-triggered", "task-runner-triggered"}
	cases := map[string]struct {
		event event.Event
		want  []string
	}{
		"client triggers a sequence": {ev("sh.keptn.event.dev.delivery.triggered", "ci", nil),
			append([]string{"control-plane-sequence-triggered", "api-history"}, executorsTriggered...)},
		"control plane chains a follow-up sequence": {ev("sh.keptn.event.hardening.delivery.triggered", srcControlPlane, seq),
			append([]string{"control-plane-sequence-triggered", "api-history"}, executorsTriggered...)},
		"control plane triggers a deployment": {ev("sh.keptn.event.deployment.triggered", srcControlPlane, task),
			append([]string{"api-history", "knative-deployer-triggered"}, executorsTriggered...)},
		"control plane triggers a release": {ev("sh.keptn.event.release.triggered", srcControlPlane, task),
			append([]string{"api-history", "knative-deployer-triggered"}, executorsTriggered...)},
		"control plane triggers a rollback": {ev("sh.keptn.event.rollback.triggered", srcControlPlane, task),
			append([]string{"api-history", "knative-deployer-triggered"}, executorsTriggered...)},
		"control plane triggers a test": {ev("sh.keptn.event.test.triggered", srcControlPlane, task),
			append([]string{"api-history"}, executorsTriggered...)},
		"knative-deployer finishes": {ev("sh.keptn.event.deployment.finished", srcKnativeDeployer, nil), []string{"control-plane-task-events", "api-history"}},
		"control plane triggers a remediation action": {ev("sh.keptn.event.get-action.triggered", srcControlPlane, task),
			append([]string{"api-history"}, executorsTriggered...)},
		"control plane triggers an approval": {ev("sh.keptn.event.approval.triggered", srcControlPlane, task),
			append([]string{"control-plane-approval", "api-history"}, executorsTriggered...)},
		"executor starts a task":            {ev("sh.keptn.event.deployment.started", srcExecutor, nil), []string{"control-plane-task-events", "api-history"}},
		"task runner finishes":              {ev("sh.keptn.event.test.finished", srcTaskRunner, nil), []string{"control-plane-task-events", "api-history"}},
		"approval responder":                {ev("sh.keptn.event.approval.finished", srcApproval, nil), []string{"control-plane-task-events", "api-history"}},
		"operator approves via API":         {ev("sh.keptn.event.approval.finished", "https://keptn-bridge", nil), []string{"control-plane-task-events", "api-history"}},
		"status.changed":                    {ev("sh.keptn.event.deployment.status.changed", srcExecutor, nil), []string{"api-history"}},
		"control plane finishes a sequence": {ev("sh.keptn.event.dev.delivery.finished", srcControlPlane, seq), []string{"api-history"}},
		"control plane aborts a task": {ev("sh.keptn.event.deployment.aborted", srcControlPlane, task),
			[]string{"api-history", "generic-executor-aborted", "task-runner-aborted", "knative-deployer-aborted"}},
		"control plane aborts a test": {ev("sh.keptn.event.test.aborted", srcControlPlane, task),
			[]string{"api-history", "generic-executor-aborted", "task-runner-aborted"}},
		"control plane triggers an evaluation": {ev("sh.keptn.event.evaluation.triggered", srcControlPlane, task),
			append([]string{"evaluator-evaluation-triggered", "api-history"}, executorsTriggered...)},
		"evaluator asks for SLIs": {ev("sh.keptn.event.get-sli.triggered", srcLighthouse, task),
			append([]string{"prometheus-sli-get-sli-triggered", "api-history"}, executorsTriggered...)},
		"SLI provider answers": {ev("sh.keptn.event.get-sli.finished", srcPrometheusSLI, nil),
			[]string{"evaluator-get-sli-finished", "control-plane-task-events", "api-history"}},
		"evaluator finishes": {ev("sh.keptn.event.evaluation.finished", srcLighthouse, nil), []string{"control-plane-task-events", "api-history"}},
		"sweeper tick":       {ev("dev.knative.sources.ping", srcPing, nil), []string{"control-plane-sweeper"}},
		"another PingSource": {ev("dev.knative.sources.ping", "/apis/v1/namespaces/slipway/pingsources/other", nil), nil},
		"not a Keptn event":  {ev("com.example.build.done", "ci", nil), nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, r := range routes {
				if knativeVerdict(r.knative, c.event) != filter.Fail {
					got = append(got, r.name)
				}
			}
			want := append([]string(nil), c.want...)
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s from %s routed to %v, want %v", c.event.Type(), c.event.Source(), got, want)
			}
		})
	}
}

// TestNoSelfLoops: no subscriber's Trigger takes the events that subscriber
// emits, except the two hand-offs the design needs (the control plane's
// follow-up sequences and its approval.triggered, which it answers).
func TestNoSelfLoops(t *testing.T) {
	routes := loadRoutes(t)
	emits := map[string][]event.Event{}
	add := func(sub, typ, source string, ext map[string]any) {
		emits[sub] = append(emits[sub], newEvent("x", typ, source, ext))
	}
	for _, task := range []string{"deployment", "test", "evaluation", "release", "rollback", "get-action", "action", "my-task"} {
		add("control-plane", keptn.TaskType(task, keptn.KindTriggered), srcControlPlane, map[string]any{KindExtension: "task"})
		add("control-plane", keptn.TaskType(task, keptn.KindAborted), srcControlPlane, map[string]any{KindExtension: "task"})
		for _, kind := range []keptn.Kind{keptn.KindStarted, keptn.KindStatusChanged, keptn.KindFinished} {
			add("generic-executor", keptn.TaskType(task, kind), srcExecutor, nil)
			add("task-runner", keptn.TaskType(task, kind), srcTaskRunner, nil)
			add("knative-deployer", keptn.TaskType(task, kind), srcKnativeDeployer, nil)
		}
	}
	add("control-plane", "sh.keptn.event.dev.delivery.finished", srcControlPlane, map[string]any{KindExtension: "sequence"})
	for _, kind := range []keptn.Kind{keptn.KindStarted, keptn.KindFinished} {
		add("evaluator", keptn.TaskType("evaluation", kind), srcLighthouse, nil)
		add("prometheus-sli", keptn.TaskType("get-sli", kind), srcPrometheusSLI, nil)
	}
	add("evaluator", "sh.keptn.event.get-sli.triggered", srcLighthouse, map[string]any{KindExtension: "task"})
	for _, r := range routes {
		for _, e := range emits[r.subscriber] {
			if knativeVerdict(r.knative, e) != filter.Fail {
				t.Errorf("Trigger %s delivers %s (emitted by %s itself) back to it", r.name, e.Type(), r.subscriber)
			}
		}
	}
}
