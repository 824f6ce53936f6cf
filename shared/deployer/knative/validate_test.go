package knative_test

import (
	"context"
	"testing"

	"knative.dev/pkg/apis"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/slipwayhq/slipway/shared/deployer/knative"
)

// TestPlansPassKnativeValidation: every Service the deployer writes passes
// Knative Serving's own webhook checks (SetDefaults, then Validate on create
// or update against the previous object: BYO revision names, traffic tags,
// percentages), through a whole blue/green and direct life cycle.
func TestPlansPassKnativeValidation(t *testing.T) {
	ctx := context.Background()
	type op struct {
		name string
		plan func(*servingv1.Service) error
	}
	deploy := func(s knative.Strategy, rev, image string) op {
		return op{"deploy " + string(s) + " " + rev, func(svc *servingv1.Service) error {
			_, err := knative.PlanDeploy(svc, s, rev, image)
			return err
		}}
	}
	revs := map[string]servingv1.RevisionSpec{}
	release := op{"release", func(svc *servingv1.Service) error { _, err := knative.PlanRelease(svc); return err }}
	rollback := op{"rollback", func(svc *servingv1.Service) error {
		_, err := knative.PlanRollback(svc, func(name string) (servingv1.RevisionSpec, error) { return revs[name], nil })
		return err
	}}
	ops := []op{
		deploy(knative.BlueGreen, "web-00000001", "img:1"), release,
		deploy(knative.BlueGreen, "web-00000002", "img:2"), rollback,
		deploy(knative.BlueGreen, "web-00000003", "img:3"), release, rollback,
		deploy(knative.Direct, "web-00000004", "img:4"), rollback,
	}
	svc := knative.NewService("ns", "web")
	var old *servingv1.Service
	for _, o := range ops {
		next := svc.DeepCopy()
		if err := o.plan(next); err != nil {
			t.Fatalf("%s: %v", o.name, err)
		}
		next.SetDefaults(ctx)
		vctx := apis.WithinCreate(ctx)
		if old != nil {
			vctx = apis.WithinUpdate(ctx, old)
		}
		if ferr := next.Validate(vctx).Filter(apis.ErrorLevel); ferr != nil {
			t.Fatalf("%s: Knative rejects the Service: %v", o.name, ferr)
		}
		revs[next.Spec.Template.Name] = next.Spec.Template.Spec
		// The controller would resolve the traffic; the plans read it from
		// the annotations, so status stays as the controller left it.
		old, svc = next.DeepCopy(), next
	}
}

// TestKnativeValidationBites: the check above rejects what Knative rejects
// (a revision name without the "<service>-" prefix; a tag used twice).
func TestKnativeValidationBites(t *testing.T) {
	ctx := context.Background()
	cases := map[string]func(*servingv1.Service){
		"revision name without the service prefix": func(s *servingv1.Service) { s.Spec.Template.Name = "other-1" },
		"a tag used twice": func(s *servingv1.Service) {
			s.Spec.Traffic = append(s.Spec.Traffic, s.Spec.Traffic[0])
		},
	}
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			svc := knative.NewService("ns", "web")
			if _, err := knative.PlanDeploy(svc, knative.BlueGreen, "web-1", "img:1"); err != nil {
				t.Fatal(err)
			}
			breakIt(svc)
			svc.SetDefaults(ctx)
			if ferr := svc.Validate(apis.WithinCreate(ctx)).Filter(apis.ErrorLevel); ferr == nil {
				t.Fatal("Knative's Validate accepted a broken Service: the check proves nothing")
			}
		})
	}
}
