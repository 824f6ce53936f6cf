package knative_test

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/slipwayhq/slipway/shared/deployer/knative"
	"github.com/slipwayhq/slipway/shared/deployer/knative/fakeserving"
	"github.com/slipwayhq/slipway/shared/keptn"
)

const (
	project = "sockshop"
	stage   = "hardening"
	service = "podtato-head"
	ns      = "sockshop-hardening"
)

// rig is a deployer wired to a fake cluster whose controller runs, and a
// sink collecting the deployer's replies.
type rig struct {
	t       testing.TB
	cluster *fakeserving.Cluster
	d       *knative.Deployer
	out     chan event.Event
	ctx     context.Context
}

func newRig(t testing.TB, timeout time.Duration) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := fakeserving.New("example.com")
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	out := make(chan event.Event, 64)
	sender := senderFunc(func(_ context.Context, e event.Event) error { out <- e; return nil })
	d := knative.New(knative.Config{Timeout: timeout}, c.Clientset.ServingV1(), sender, zap.NewNop())
	t.Cleanup(func() {
		_ = d.Shutdown(context.Background())
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	})
	return &rig{t: t, cluster: c, d: d, out: out, ctx: ctx}
}

type senderFunc func(context.Context, event.Event) error

func (f senderFunc) Send(ctx context.Context, e event.Event) error { return f(ctx, e) }

func triggered(t testing.TB, task string, payload map[string]any, extra map[string]any) event.Event {
	t.Helper()
	data := map[string]any{"project": project, "stage": stage, "service": service}
	if payload != nil {
		data[task] = payload
	}
	for k, v := range extra {
		data[k] = v
	}
	e, err := keptn.NewEvent(keptn.TaskType(task, keptn.KindTriggered), keptn.Meta{
		ID: uuid.NewString(), Source: "shipyard-controller", Time: time.Now(), Context: uuid.NewString(),
	}, data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func deployEvent(t testing.TB, strategy, image string) event.Event {
	return triggered(t, knative.TaskDeployment, map[string]any{"deploymentstrategy": strategy},
		map[string]any{"configurationChange": map[string]any{"values": map[string]any{"image": image}}})
}

// run hands e to the deployer and returns its .finished data, checking a
// .started came first.
func (r *rig) run(e event.Event) map[string]any {
	r.t.Helper()
	if err := r.d.Handle(r.ctx, e); err != nil {
		r.t.Fatalf("handle %s: %v", e.Type(), err)
	}
	return r.finished(e)
}

func (r *rig) finished(e event.Event) map[string]any {
	r.t.Helper()
	deadline := time.After(time.Minute)
	task := strings.TrimSuffix(strings.TrimPrefix(e.Type(), keptn.Prefix), ".triggered")
	for {
		select {
		case got := <-r.out:
			if keptn.TriggeredID(got) != e.ID() {
				r.t.Fatalf("reply %s answers %s, want %s", got.Type(), keptn.TriggeredID(got), e.ID())
			}
			if got.Type() == keptn.TaskType(task, keptn.KindStarted) {
				continue
			}
			if got.Type() != keptn.TaskType(task, keptn.KindFinished) {
				r.t.Fatalf("unexpected reply %s", got.Type())
			}
			m := map[string]any{}
			if err := json.Unmarshal(got.Data(), &m); err != nil {
				r.t.Fatal(err)
			}
			return m
		case <-deadline:
			r.t.Fatalf("no .finished for %s within a minute", e.Type())
		}
	}
}

func (r *rig) service() *servingv1.Service {
	r.t.Helper()
	svc, err := r.cluster.Clientset.ServingV1().Services(ns).Get(r.ctx, service, metav1.GetOptions{})
	if err != nil {
		r.t.Fatal(err)
	}
	return svc
}

// traffic renders spec traffic as "tag=image@percent" sorted by tag.
func (r *rig) traffic() string {
	r.t.Helper()
	svc := r.service()
	var parts []string
	for _, tt := range svc.Spec.Traffic {
		rev, err := r.cluster.Clientset.ServingV1().Revisions(ns).Get(r.ctx, tt.RevisionName, metav1.GetOptions{})
		img := "?"
		if err == nil {
			img = rev.Spec.Containers[0].Image
		}
		parts = append(parts, tt.Tag+"="+img+"@"+itoa(*tt.Percent))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

type step struct {
	task     string // deployment, release, rollback
	strategy string // deployment only
	image    string // deployment only
}

func TestDeployer(t *testing.T) {
	type want struct {
		result  keptn.Result
		status  keptn.Status
		message string // substring
		traffic string // after the last step
		uris    []string
	}
	cases := map[string]struct {
		before  []step                         // run first, must pass
		outcome map[string]fakeserving.Outcome // by image
		last    step
		want    want
	}{
		"direct deployment, first, Ready": {
			last: step{"deployment", "direct", "podtato:v1"},
			want: want{result: "pass", traffic: "primary=podtato:v1@100", uris: []string{"http://podtato-head.sockshop-hardening.example.com"}},
		},
		"direct deployment, update, Ready": {
			before: []step{{"deployment", "direct", "podtato:v1"}},
			last:   step{"deployment", "direct", "podtato:v2"},
			want:   want{result: "pass", traffic: "primary=podtato:v2@100"},
		},
		"direct deployment, revision failed": {
			before:  []step{{"deployment", "direct", "podtato:v1"}},
			outcome: map[string]fakeserving.Outcome{"podtato:bad": fakeserving.Fail},
			last:    step{"deployment", "direct", "podtato:bad"},
			want:    want{result: "fail", status: "succeeded", message: `Back-off pulling image "podtato:bad"`, traffic: "primary=podtato:bad@100"},
		},
		"direct deployment, never Ready (timeout)": {
			outcome: map[string]fakeserving.Outcome{"podtato:slow": fakeserving.Pending},
			last:    step{"deployment", "direct", "podtato:slow"},
			want:    want{result: "fail", message: "not Ready with the traffic applied within"},
		},
		"direct release: nothing to shift": {
			before: []step{{"deployment", "direct", "podtato:v1"}},
			last:   step{task: "release"},
			want:   want{result: "pass", traffic: "primary=podtato:v1@100"},
		},
		"direct rollback: the previous revision again": {
			before: []step{{"deployment", "direct", "podtato:v1"}, {"deployment", "direct", "podtato:v2"}},
			last:   step{task: "rollback"},
			want:   want{result: "pass", traffic: "primary=podtato:v1@100"},
		},
		"direct rollback of a failed revision": {
			before:  []step{{"deployment", "direct", "podtato:v1"}},
			outcome: map[string]fakeserving.Outcome{"podtato:bad": fakeserving.Fail},
			last:    step{task: "rollback"},
			want:    want{result: "pass", traffic: "primary=podtato:v1@100"},
		},
		"direct rollback without a previous revision": {
			before: []step{{"deployment", "direct", "podtato:v1"}},
			last:   step{task: "rollback"},
			want:   want{result: "fail", message: "nothing to roll back to"},
		},
		"blue_green deployment, first: primary and candidate": {
			last: step{"deployment", "blue_green_service", "podtato:v1"},
			want: want{result: "pass", traffic: "candidate=podtato:v1@0 primary=podtato:v1@100",
				uris: []string{"http://candidate-podtato-head.sockshop-hardening.example.com"}},
		},
		"blue_green deployment, update, Ready": {
			before: []step{{"deployment", "blue_green_service", "podtato:v1"}, {task: "release"}},
			last:   step{"deployment", "blue_green_service", "podtato:v2"},
			want: want{result: "pass", traffic: "candidate=podtato:v2@0 primary=podtato:v1@100",
				uris: []string{"http://candidate-podtato-head.sockshop-hardening.example.com"}},
		},
		"blue_green deployment, revision failed": {
			before:  []step{{"deployment", "blue_green_service", "podtato:v1"}, {task: "release"}},
			outcome: map[string]fakeserving.Outcome{"podtato:bad": fakeserving.Fail},
			last:    step{"deployment", "blue_green_service", "podtato:bad"},
			want:    want{result: "fail", message: "Back-off pulling image", traffic: "candidate=podtato:bad@0 primary=podtato:v1@100"},
		},
		"blue_green release, Ready": {
			before: []step{{"deployment", "blue_green_service", "podtato:v1"}, {task: "release"}, {"deployment", "blue_green_service", "podtato:v2"}},
			last:   step{task: "release"},
			want:   want{result: "pass", traffic: "primary=podtato:v2@100"},
		},
		"blue_green release, controller stuck (timeout)": {
			before:  []step{{"deployment", "blue_green_service", "podtato:v1"}, {task: "release"}, {"deployment", "blue_green_service", "podtato:v2"}},
			outcome: map[string]fakeserving.Outcome{"podtato:v2": fakeserving.Pending},
			last:    step{task: "release"},
			want:    want{result: "fail", message: "within"},
		},
		"blue_green rollback of a candidate, Ready": {
			before: []step{{"deployment", "blue_green_service", "podtato:v1"}, {task: "release"}, {"deployment", "blue_green_service", "podtato:v2"}},
			last:   step{task: "rollback"},
			want:   want{result: "pass", traffic: "primary=podtato:v1@100"},
		},
		"blue_green rollback of a failed candidate, Ready": {
			before:  []step{{"deployment", "blue_green_service", "podtato:v1"}, {task: "release"}},
			outcome: map[string]fakeserving.Outcome{"podtato:bad": fakeserving.Fail},
			last:    step{task: "rollback"},
			want:    want{result: "pass", traffic: "primary=podtato:v1@100"},
		},
		"blue_green rollback, controller stuck (timeout)": {
			before:  []step{{"deployment", "blue_green_service", "podtato:v1"}, {task: "release"}, {"deployment", "blue_green_service", "podtato:v2"}},
			outcome: map[string]fakeserving.Outcome{"podtato:v1": fakeserving.Pending},
			last:    step{task: "rollback"},
			want:    want{result: "fail", message: "within"},
		},
		"blue_green release of a failed candidate": {
			before:  []step{{"deployment", "blue_green_service", "podtato:v1"}, {task: "release"}},
			outcome: map[string]fakeserving.Outcome{"podtato:bad": fakeserving.Fail},
			last:    step{task: "release"},
			want:    want{result: "fail", message: `Revision "podtato-head-`},
		},
		"blue_green rollback after a release": {
			before: []step{{"deployment", "blue_green_service", "podtato:v1"}, {task: "release"}, {"deployment", "blue_green_service", "podtato:v2"}, {task: "release"}},
			last:   step{task: "rollback"},
			want:   want{result: "pass", traffic: "primary=podtato:v1@100"},
		},
		"unsupported strategy": {
			last: step{"deployment", "user_managed", "podtato:v1"},
			want: want{result: "fail", status: "errored", message: "deploymentstrategy"},
		},
		"no image": {
			last: step{"deployment", "direct", ""},
			want: want{result: "fail", status: "errored", message: "configurationChange.values.image is missing"},
		},
		"release of an unknown service": {
			last: step{task: "release"},
			want: want{result: "fail", message: "not found"},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			timeout := time.Minute
			for _, o := range c.outcome {
				if o == fakeserving.Pending {
					timeout = 200 * time.Millisecond // the failure is certain, not timed
				}
			}
			r := newRig(t, timeout)
			ev := func(s step) event.Event {
				if s.task == knative.TaskDeployment {
					return deployEvent(t, s.strategy, s.image)
				}
				return triggered(t, s.task, nil, nil)
			}
			for i, s := range c.before {
				if got := r.run(ev(s)); got["result"] != "pass" {
					t.Fatalf("step %d (%+v): %v", i, s, got)
				}
			}
			for img, o := range c.outcome {
				r.cluster.SetOutcome(img, o)
			}
			if c.last.task != "deployment" && c.outcome["podtato:bad"] == fakeserving.Fail {
				// the failed revision first: deployed (and failed), then rolled back
				strat := "direct"
				if strings.HasPrefix(name, "blue_green") {
					strat = "blue_green_service"
				}
				if got := r.run(deployEvent(t, strat, "podtato:bad")); got["result"] != "fail" {
					t.Fatalf("bad deployment: %v", got)
				}
			}
			got := r.run(ev(c.last))
			if got["result"] != string(c.want.result) {
				t.Errorf("result %v, want %s (message %v)", got["result"], c.want.result, got["message"])
			}
			wantStatus := c.want.status
			if wantStatus == "" {
				wantStatus = keptn.StatusSucceeded
			}
			if got["status"] != string(wantStatus) {
				t.Errorf("status %v, want %s", got["status"], wantStatus)
			}
			if msg, _ := got["message"].(string); !strings.Contains(msg, c.want.message) {
				t.Errorf("message %q, want it to contain %q", msg, c.want.message)
			}
			if c.want.traffic != "" {
				if tr := r.traffic(); tr != c.want.traffic {
					t.Errorf("traffic %q, want %q", tr, c.want.traffic)
				}
			}
			if c.want.uris != nil {
				dep, _ := got["deployment"].(map[string]any)
				pub, _ := json.Marshal(dep["deploymentURIsPublic"])
				want, _ := json.Marshal(c.want.uris)
				if string(pub) != string(want) {
					t.Errorf("deploymentURIsPublic %s, want %s (deployment %v)", pub, want, dep)
				}
				if dep["deploymentstrategy"] != c.last.strategy {
					t.Errorf("deploymentstrategy %v, want %s", dep["deploymentstrategy"], c.last.strategy)
				}
				if names, _ := dep["deploymentNames"].([]any); len(names) != 1 || !strings.HasPrefix(names[0].(string), service+"-") {
					t.Errorf("deploymentNames %v", dep["deploymentNames"])
				}
				if local, _ := dep["deploymentURIsLocal"].([]any); len(local) != 1 || !strings.HasSuffix(local[0].(string), ".svc.cluster.local") {
					t.Errorf("deploymentURIsLocal %v", dep["deploymentURIsLocal"])
				}
			}
		})
	}
}

// TestAbort: an .aborted deployment stops waiting, reports errored/fail
// "aborted" and leaves all traffic on the primary.
func TestAbort(t *testing.T) {
	cases := map[string]struct {
		strategy string
		want     string
	}{
		"blue_green: the candidate is dropped": {"blue_green_service", "primary=podtato:v1@100"},
		"direct: back to the previous primary": {"direct", "primary=podtato:v1@100"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, time.Hour)
			if got := r.run(deployEvent(t, c.strategy, "podtato:v1")); got["result"] != "pass" {
				t.Fatalf("first deployment: %v", got)
			}
			r.cluster.SetOutcome("podtato:v2", fakeserving.Pending)
			trig := deployEvent(t, c.strategy, "podtato:v2")
			if err := r.d.Handle(r.ctx, trig); err != nil {
				t.Fatal(err)
			}
			// The .started is out: the deployer has begun (and now waits).
			if got := <-r.out; got.Type() != keptn.TaskType("deployment", keptn.KindStarted) {
				t.Fatalf("first reply %s", got.Type())
			}
			ab, err := keptn.NewEvent(keptn.TaskType("deployment", keptn.KindAborted), keptn.Meta{
				ID: uuid.NewString(), Source: "shipyard-controller", Time: time.Now(), Context: keptn.Context(trig), TriggeredID: trig.ID(),
			}, map[string]any{"project": project, "stage": stage, "service": service})
			if err != nil {
				t.Fatal(err)
			}
			// The abort may race the update itself; either way the end state
			// is the same.
			if err := r.d.Handle(r.ctx, ab); err != nil {
				t.Fatal(err)
			}
			got := r.finished(trig)
			if got["status"] != "errored" || got["result"] != "fail" || !strings.Contains(got["message"].(string), "aborted") {
				t.Fatalf(".finished %v", got)
			}
			r.cluster.SetOutcome("podtato:v2", fakeserving.Ready) // let the controller catch up
			svc := r.service()
			if svc.Annotations[knative.AnnCandidate] != "" {
				t.Errorf("candidate annotation left: %v", svc.Annotations)
			}
			if len(svc.Spec.Traffic) != 1 || *svc.Spec.Traffic[0].Percent != 100 || svc.Spec.Traffic[0].Tag != "primary" ||
				svc.Spec.Traffic[0].RevisionName != svc.Annotations[knative.AnnPrimary] {
				t.Errorf("traffic %+v", svc.Spec.Traffic)
			}
			if svc.Spec.Template.Spec.Containers[0].Image != "podtato:v1" {
				t.Errorf("template image %s, want podtato:v1", svc.Spec.Template.Spec.Containers[0].Image)
			}
		})
	}
}

// TestShutdownWhileWaiting: stopping the deployer ends a wait with an
// errored .finished that says so.
func TestShutdownWhileWaiting(t *testing.T) {
	r := newRig(t, time.Hour)
	r.cluster.SetOutcome("podtato:v1", fakeserving.Pending)
	e := deployEvent(t, "direct", "podtato:v1")
	if err := r.d.Handle(r.ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := r.d.Shutdown(r.ctx); err != nil {
		t.Fatal(err)
	}
	got := r.finished(e)
	if got["status"] != "errored" || !strings.Contains(got["message"].(string), "stopped while waiting") {
		t.Fatalf(".finished %v", got)
	}
}
