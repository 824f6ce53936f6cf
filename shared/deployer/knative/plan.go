package knative

import (
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// Strategy is the deployment task's deploymentstrategy (Keptn's names).
type Strategy string

// Strategies. Keptn's user_managed is not supported: it means "someone
// else deploys", which needs no executor.
const (
	Direct    Strategy = "direct"
	BlueGreen Strategy = "blue_green_service"
)

// Traffic tags. The tag URLs (http://<tag>-<svc>.<ns>...) are how tests
// and evaluations reach one revision.
const (
	TagPrimary   = "primary"
	TagCandidate = "candidate"
)

// Annotations on the Knative Service record which revision is which, so
// release and rollback (separate events, possibly another instance) know
// what to shift without any state of their own.
const (
	AnnPrimary   = "deploy.slipway.dev/primary"
	AnnPrevious  = "deploy.slipway.dev/previous-primary"
	AnnCandidate = "deploy.slipway.dev/candidate"
	AnnStrategy  = "deploy.slipway.dev/strategy"
)

// ErrNothingToRollBack is returned by PlanRollback when the Service has
// neither a candidate nor a previous primary.
var ErrNothingToRollBack = errors.New("nothing to roll back to: no candidate and no previous primary revision")

func pct(n int64) *int64 { return &n }

func target(rev, tag string, percent int64) servingv1.TrafficTarget {
	return servingv1.TrafficTarget{RevisionName: rev, Tag: tag, Percent: pct(percent)}
}

// NewService is the Service a first deployment creates: one container with
// the image, the revision named rev.
func NewService(ns, name string) *servingv1.Service {
	return &servingv1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "serving.knative.dev/v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app.kubernetes.io/managed-by": "slipway"}},
		Spec: servingv1.ServiceSpec{ConfigurationSpec: servingv1.ConfigurationSpec{Template: servingv1.RevisionTemplateSpec{
			Spec: servingv1.RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{{}}}},
		}}},
	}
}

// currentPrimary is the revision serving production: the annotation, else
// (a Service deployed by someone else) the revision the Route resolved at
// 100 %, else the latest ready one.
func currentPrimary(svc *servingv1.Service) string {
	if p := svc.Annotations[AnnPrimary]; p != "" {
		return p
	}
	for _, t := range svc.Status.Traffic {
		if t.Percent != nil && *t.Percent == 100 && t.RevisionName != "" {
			return t.RevisionName
		}
	}
	return svc.Status.LatestReadyRevisionName
}

func setAnn(svc *servingv1.Service, k, v string) {
	if svc.Annotations == nil {
		svc.Annotations = map[string]string{}
	}
	if v == "" {
		delete(svc.Annotations, k)
		return
	}
	svc.Annotations[k] = v
}

// PlanDeploy changes svc (a copy; a NewService for a first deployment) to
// run image as revision rev with the strategy's traffic:
//   - direct: rev at 100 %, tagged primary;
//   - blue_green_service: the current primary stays at 100 %, rev is tagged
//     candidate at 0 %. Without a primary yet (first deployment) rev is both:
//     primary at 100 % and candidate at 0 %, so tests reach it the same way.
//
// It reports false when svc already runs rev (a redelivered event).
func PlanDeploy(svc *servingv1.Service, s Strategy, rev, image string) (bool, error) {
	if s != Direct && s != BlueGreen {
		return false, fmt.Errorf("deployment strategy %q: want %s or %s", s, Direct, BlueGreen)
	}
	if svc.Spec.Template.Name == rev {
		return false, nil
	}
	t := &svc.Spec.Template
	if len(t.Spec.Containers) == 0 {
		t.Spec.Containers = []corev1.Container{{}}
	}
	// The first container is the service's; sidecars keep their images.
	t.Name = rev
	t.Spec.Containers[0].Image = image
	primary := currentPrimary(svc)
	setAnn(svc, AnnStrategy, string(s))
	switch {
	case s == Direct || primary == "":
		traffic := []servingv1.TrafficTarget{target(rev, TagPrimary, 100)}
		if s == BlueGreen {
			traffic = append(traffic, target(rev, TagCandidate, 0))
			setAnn(svc, AnnCandidate, rev)
		} else {
			setAnn(svc, AnnCandidate, "")
		}
		svc.Spec.Traffic = traffic
		setAnn(svc, AnnPrevious, primary)
		setAnn(svc, AnnPrimary, rev)
	default:
		svc.Spec.Traffic = []servingv1.TrafficTarget{target(primary, TagPrimary, 100), target(rev, TagCandidate, 0)}
		setAnn(svc, AnnPrimary, primary)
		setAnn(svc, AnnCandidate, rev)
	}
	return true, nil
}

// PlanRelease makes the candidate the primary at 100 %. Without a candidate
// (direct, or already released) nothing changes: direct already put the new
// revision in production.
func PlanRelease(svc *servingv1.Service) (bool, error) {
	cand := svc.Annotations[AnnCandidate]
	if cand == "" {
		return false, nil
	}
	prev := currentPrimary(svc)
	if prev == cand {
		prev = svc.Annotations[AnnPrevious] // first deployment: both tags on one revision
	}
	svc.Spec.Traffic = []servingv1.TrafficTarget{target(cand, TagPrimary, 100)}
	setAnn(svc, AnnPrevious, prev)
	setAnn(svc, AnnPrimary, cand)
	setAnn(svc, AnnCandidate, "")
	return true, nil
}

// PlanRollback sends all traffic back: with a candidate, the candidate is
// dropped and the primary keeps 100 %; without one (direct, or after a
// release), the previous primary gets 100 % and becomes primary again. The
// template is set back to the primary's revision (its name and spec, as
// revisionSpec returns them), so the Configuration is Ready again even if
// the dropped revision failed. It returns the revision now primary.
func PlanRollback(svc *servingv1.Service, revisionSpec func(name string) (servingv1.RevisionSpec, error)) (string, error) {
	cand := svc.Annotations[AnnCandidate]
	primary := currentPrimary(svc)
	prev := svc.Annotations[AnnPrevious]
	var to string
	switch {
	case cand != "" && primary != "" && primary != cand:
		to = primary
	case cand != "" && prev != "":
		to = prev // the first deployment was the candidate: back to before it
	case cand == "" && prev != "":
		to = prev
		setAnn(svc, AnnPrevious, "")
	default:
		return "", ErrNothingToRollBack
	}
	if svc.Spec.Template.Name != to {
		spec, err := revisionSpec(to)
		if err != nil {
			return "", fmt.Errorf("revision %s: %w", to, err)
		}
		svc.Spec.Template.Name = to
		svc.Spec.Template.Spec = spec
	}
	svc.Spec.Traffic = []servingv1.TrafficTarget{target(to, TagPrimary, 100)}
	setAnn(svc, AnnPrimary, to)
	setAnn(svc, AnnCandidate, "")
	return to, nil
}

// trafficKey identifies a traffic target for comparing spec with status.
type trafficKey struct {
	rev, tag string
	pct      int64
}

func keys(ts []servingv1.TrafficTarget) []trafficKey {
	out := make([]trafficKey, 0, len(ts))
	for _, t := range ts {
		var p int64
		if t.Percent != nil {
			p = *t.Percent
		}
		out = append(out, trafficKey{t.RevisionName, t.Tag, p})
	}
	slices.SortFunc(out, func(a, b trafficKey) int {
		if a.tag != b.tag {
			if a.tag < b.tag {
				return -1
			}
			return 1
		}
		if a.rev < b.rev {
			return -1
		}
		if a.rev > b.rev {
			return 1
		}
		return 0
	})
	return out
}

// TrafficApplied reports whether the Route serves exactly the traffic the
// spec asks for (the controller resolved and programmed it).
func TrafficApplied(svc *servingv1.Service) bool {
	return slices.Equal(keys(svc.Spec.Traffic), keys(svc.Status.Traffic))
}

// State is what waiting concluded from one observation of the Service.
type State int

// States.
const (
	Pending State = iota
	Done
	Failed
)

// Observe classifies svc the way `kn service update --wait` would: done
// when the controller saw this generation, reports Ready and routes the
// wanted traffic; failed when it saw this generation and Ready is False.
func Observe(svc *servingv1.Service, generation int64) (State, string) {
	if svc.Status.ObservedGeneration < generation {
		return Pending, ""
	}
	c := svc.Status.GetCondition("Ready")
	switch {
	case c == nil:
		return Pending, ""
	case c.IsFalse():
		msg := c.Message
		if msg == "" {
			msg = c.Reason
		}
		return Failed, msg
	case c.IsTrue() && TrafficApplied(svc):
		return Done, ""
	}
	return Pending, ""
}
