package knative_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/slipwayhq/slipway/shared/deployer/knative"
)

func pct(n int64) *int64 { return &n }

// TestObserve: the wait's verdict on one observation of the Service, as the
// Serving controller reports it.
func TestObserve(t *testing.T) {
	spec := []servingv1.TrafficTarget{{RevisionName: "s-1", Tag: "primary", Percent: pct(100)}, {RevisionName: "s-2", Tag: "candidate", Percent: pct(0)}}
	applied := []servingv1.TrafficTarget{{RevisionName: "s-2", Tag: "candidate", Percent: pct(0)}, {RevisionName: "s-1", Tag: "primary", Percent: pct(100)}}
	ready := func(s corev1.ConditionStatus, msg string) duckv1.Conditions {
		return duckv1.Conditions{{Type: apis.ConditionReady, Status: s, Reason: "R", Message: msg}}
	}
	cases := map[string]struct {
		observed int64
		conds    duckv1.Conditions
		traffic  []servingv1.TrafficTarget
		want     knative.State
		msg      string
	}{
		"controller has not seen the change":      {observed: 1, conds: ready(corev1.ConditionTrue, ""), traffic: applied, want: knative.Pending},
		"no Ready condition yet":                  {observed: 2, want: knative.Pending},
		"Ready Unknown":                           {observed: 2, conds: ready(corev1.ConditionUnknown, ""), traffic: applied, want: knative.Pending},
		"Ready, traffic applied (any order)":      {observed: 2, conds: ready(corev1.ConditionTrue, ""), traffic: applied, want: knative.Done},
		"Ready, old traffic still routed":         {observed: 2, conds: ready(corev1.ConditionTrue, ""), traffic: applied[1:], want: knative.Pending},
		"revision failed":                         {observed: 2, conds: ready(corev1.ConditionFalse, `Revision "s-2" failed`), want: knative.Failed, msg: `Revision "s-2" failed`},
		"failed without a message gives reason":   {observed: 2, conds: ready(corev1.ConditionFalse, ""), want: knative.Failed, msg: "R"},
		"a later generation observed also counts": {observed: 3, conds: ready(corev1.ConditionTrue, ""), traffic: applied, want: knative.Done},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			svc := &servingv1.Service{}
			svc.Generation = 2
			svc.Spec.Traffic = spec
			svc.Status.ObservedGeneration = c.observed
			svc.Status.Conditions = c.conds
			svc.Status.Traffic = c.traffic
			got, msg := knative.Observe(svc, 2)
			if got != c.want || msg != c.msg {
				t.Fatalf("Observe = %v %q, want %v %q", got, msg, c.want, c.msg)
			}
		})
	}
}

// TestPlanDeployIsIdempotent: a redelivered deployment (same revision
// name) changes nothing.
func TestPlanDeployIsIdempotent(t *testing.T) {
	svc := knative.NewService("ns", "s")
	if changed, err := knative.PlanDeploy(svc, knative.BlueGreen, "s-abc", "img:1"); !changed || err != nil {
		t.Fatalf("first plan: %v %v", changed, err)
	}
	before := svc.DeepCopy()
	if changed, err := knative.PlanDeploy(svc, knative.BlueGreen, "s-abc", "img:1"); changed || err != nil {
		t.Fatalf("second plan: %v %v", changed, err)
	}
	if !equality.Semantic.DeepEqual(before, svc) {
		t.Fatal("the second plan changed the Service")
	}
	if _, err := knative.PlanDeploy(svc, "user_managed", "s-def", "img:2"); err == nil {
		t.Fatal("an unsupported strategy must be refused")
	}
}
