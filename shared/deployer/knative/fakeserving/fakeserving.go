// Package fakeserving plays Knative Serving's controller on the generated
// fake clientset, so the deployer's tests and the local runtime see a
// Service's status move as in a cluster: the API server's generation bump
// on spec changes, a Revision per template name, the Ready condition (or
// its failure message) and the resolved traffic with Knative's tag URLs.
package fakeserving

import (
	"context"
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	ktesting "k8s.io/client-go/testing"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"
)

// Outcome is what the controller makes of a revision's image.
type Outcome int

// Outcomes.
const (
	Ready   Outcome = iota // the revision becomes Ready
	Fail                   // the revision fails (e.g. image pull error)
	Pending                // the controller never finishes (stays Unknown)
)

// Cluster is a fake clientset with a controller. The zero value is not
// usable; use New.
type Cluster struct {
	Clientset *fake.Clientset
	domain    string

	mu       sync.Mutex
	outcomes map[string]Outcome // by image; default Ready
}

// New returns a cluster whose public URLs end in domain (e.g. example.com).
func New(domain string, objects ...runtime.Object) *Cluster {
	cs := fake.NewSimpleClientset(objects...)
	c := &Cluster{Clientset: cs, domain: domain, outcomes: map[string]Outcome{}}
	cs.PrependReactor("create", "services", c.bumpGeneration)
	cs.PrependReactor("update", "services", c.bumpGeneration)
	return c
}

// SetOutcome decides what revisions running image become.
func (c *Cluster) SetOutcome(image string, o Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.outcomes[image] = o
}

func (c *Cluster) outcome(image string) Outcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.outcomes[image]
}

var servicesGVR = servingv1.SchemeGroupVersion.WithResource("services")

// bumpGeneration does what the API server does: metadata.generation starts
// at 1 and grows by one on every spec change, never on status writes.
func (c *Cluster) bumpGeneration(a ktesting.Action) (bool, runtime.Object, error) {
	if a.GetSubresource() != "" {
		return false, nil, nil
	}
	var obj runtime.Object
	switch a := a.(type) {
	case ktesting.CreateAction:
		obj = a.GetObject()
	case ktesting.UpdateAction:
		obj = a.GetObject()
	default:
		return false, nil, nil
	}
	svc, ok := obj.(*servingv1.Service)
	if !ok {
		return false, nil, nil
	}
	old, err := c.Clientset.Tracker().Get(servicesGVR, svc.Namespace, svc.Name)
	switch {
	case apierrors.IsNotFound(err):
		svc.Generation = 1
	case err != nil:
		return true, nil, err
	default:
		o := old.(*servingv1.Service)
		svc.Generation = o.Generation
		if !equality.Semantic.DeepEqual(o.Spec, svc.Spec) {
			svc.Generation++
		}
		svc.Status = o.Status // status only through the status subresource
	}
	return false, nil, nil
}

// Run reconciles every Service change until ctx ends.
func (c *Cluster) Run(ctx context.Context) error {
	w, err := c.Clientset.ServingV1().Services("").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	defer w.Stop()
	// Services created before the watch.
	list, err := c.Clientset.ServingV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range list.Items {
		if err := c.Reconcile(ctx, &list.Items[i]); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil
			}
			svc, isSvc := ev.Object.(*servingv1.Service)
			if !isSvc || ev.Type == watch.Deleted {
				continue
			}
			if err := c.Reconcile(ctx, svc); err != nil && ctx.Err() == nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
				return err
			}
		}
	}
}

// Reconcile brings one Service's status in line with its spec.
func (c *Cluster) Reconcile(ctx context.Context, in *servingv1.Service) error {
	svc, err := c.Clientset.ServingV1().Services(in.Namespace).Get(ctx, in.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	svc = svc.DeepCopy()
	revs := c.Clientset.ServingV1().Revisions(svc.Namespace)
	tmpl := svc.Spec.Template
	latest := tmpl.Name
	if latest == "" {
		latest = fmt.Sprintf("%s-%05d", svc.Name, svc.Generation)
	}
	image := ""
	if len(tmpl.Spec.Containers) > 0 {
		image = tmpl.Spec.Containers[0].Image
	}
	if c.outcome(image) == Pending {
		return nil // the controller has not got to it
	}
	if _, err := revs.Get(ctx, latest, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		r := &servingv1.Revision{
			ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: latest,
				Labels: map[string]string{"serving.knative.dev/service": svc.Name, "serving.knative.dev/configuration": svc.Name}},
			Spec: tmpl.Spec,
		}
		cond := apis.Condition{Type: apis.ConditionReady, Status: corev1.ConditionTrue}
		if c.outcome(image) == Fail {
			cond = apis.Condition{Type: apis.ConditionReady, Status: corev1.ConditionFalse, Reason: "ImagePullBackOff",
				Message: fmt.Sprintf("Back-off pulling image %q", image)}
		}
		r.Status.Conditions = duckv1.Conditions{cond}
		r.Status.ObservedGeneration = 1
		if _, err := revs.Create(ctx, r, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	} else if err != nil {
		return err
	}
	failed := func(name string) (string, bool) {
		r, err := revs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Sprintf("Revision %q referenced in traffic not found.", name), true
		}
		if cnd := r.Status.GetCondition(apis.ConditionReady); cnd != nil && cnd.IsFalse() {
			return fmt.Sprintf("Revision %q failed with message: %s.", name, cnd.Message), true
		}
		return "", false
	}
	st := svc.Status.DeepCopy()
	st.ObservedGeneration = svc.Generation
	st.LatestCreatedRevisionName = latest
	host := svc.Name + "." + svc.Namespace
	st.URL = &apis.URL{Scheme: "http", Host: host + "." + c.domain}
	st.Address = &duckv1.Addressable{URL: &apis.URL{Scheme: "http", Host: host + ".svc.cluster.local"}}
	msg, bad := failed(latest)
	if !bad {
		st.LatestReadyRevisionName = latest
	}
	// The Route: every target resolved to a revision, or the old traffic
	// stays in place and Ready is False.
	spec := svc.Spec.Traffic
	if len(spec) == 0 {
		spec = []servingv1.TrafficTarget{{LatestRevision: ptr(true), Percent: ptr(int64(100))}}
	}
	var traffic []servingv1.TrafficTarget
	for _, t := range spec {
		name := t.RevisionName
		if name == "" {
			name = st.LatestReadyRevisionName
		}
		if m, b := failed(name); b {
			msg, bad = m, true
			break
		}
		rt := servingv1.TrafficTarget{Tag: t.Tag, RevisionName: name, LatestRevision: t.LatestRevision, Percent: t.Percent}
		if t.Tag != "" {
			rt.URL = &apis.URL{Scheme: "http", Host: t.Tag + "-" + host + "." + c.domain}
		}
		traffic = append(traffic, rt)
	}
	ready := apis.Condition{Type: apis.ConditionReady, Status: corev1.ConditionTrue}
	if bad {
		ready = apis.Condition{Type: apis.ConditionReady, Status: corev1.ConditionFalse, Reason: "RevisionFailed", Message: msg}
	} else {
		st.Traffic = traffic
	}
	st.Conditions = duckv1.Conditions{ready}
	if equality.Semantic.DeepEqual(*st, svc.Status) {
		return nil
	}
	svc.Status = *st
	_, err = c.Clientset.ServingV1().Services(svc.Namespace).UpdateStatus(ctx, svc, metav1.UpdateOptions{})
	return err
}

func ptr[T any](v T) *T { return &v }

// Primary returns the revision serving 100 % of svc's traffic and its image
// (tests and the local runtime's diagnostics).
func (c *Cluster) Primary(ctx context.Context, ns, name string) (rev, image string, err error) {
	svc, err := c.Clientset.ServingV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", "", err
	}
	for _, t := range svc.Status.Traffic {
		if t.Percent != nil && *t.Percent == 100 {
			rev = t.RevisionName
		}
	}
	if rev == "" {
		return "", "", fmt.Errorf("service %s/%s routes no revision at 100 %%", ns, name)
	}
	r, err := c.Clientset.ServingV1().Revisions(ns).Get(ctx, rev, metav1.GetOptions{})
	if err != nil {
		return rev, "", err
	}
	if len(r.Spec.Containers) > 0 {
		image = r.Spec.Containers[0].Image
	}
	return rev, strings.TrimSpace(image), nil
}
