// Package knative is Slipway's deployment executor on Knative Serving: it
// answers Keptn's deployment, release and rollback tasks by changing a
// serving.knative.dev/v1 Service (revisions and traffic tags are blue/green
// by construction) and waiting until the Serving controller reports it.
// It lives in its own module so the root module stays free of client-go.
package knative

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned/typed/serving/v1"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/keptn"
)

// Tasks the deployer answers.
const (
	TaskDeployment = "deployment"
	TaskRelease    = "release"
	TaskRollback   = "rollback"
)

// Config is the deployer's configuration (environment, see FromEnv).
type Config struct {
	// Namespace is where a service's Knative Service lives; {project},
	// {stage} and {service} are replaced (Keptn's helm-service used
	// <project>-<stage>).
	Namespace string `envconfig:"DEPLOY_NAMESPACE" default:"{project}-{stage}"`
	// Timeout bounds the wait for the Service to be Ready with its traffic,
	// unless the task sets data.<task>.timeout (a Go duration).
	Timeout time.Duration `envconfig:"DEPLOY_TIMEOUT" default:"5m"`
	// Source is the CloudEvents source of the replies.
	Source string `envconfig:"DEPLOY_SOURCE" default:"knative-deployer"`
}

// Deployer handles deployment/release/rollback .triggered and .aborted.
type Deployer struct {
	cfg     Config
	client  servingclient.ServingV1Interface
	respond executor.Responder
	reg     *executor.Registry
	bg      executor.Background
	log     *zap.Logger
	base    context.Context
	stop    context.CancelFunc
}

// New returns a Deployer using client (the typed serving.knative.dev/v1
// client: a real one in a cluster, the generated fake in tests and the
// local runtime).
func New(cfg Config, client servingclient.ServingV1Interface, sender executor.Sender, log *zap.Logger) *Deployer {
	if cfg.Namespace == "" {
		cfg.Namespace = "{project}-{stage}"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.Source == "" {
		cfg.Source = "knative-deployer"
	}
	base, stop := context.WithCancel(context.Background())
	return &Deployer{
		cfg: cfg, client: client, log: log,
		respond: executor.Responder{Source: cfg.Source, Sender: sender},
		reg:     executor.NewRegistry(0, 0),
		base:    base, stop: stop,
	}
}

// Wait blocks until background work ended (tests).
func (d *Deployer) Wait() { d.bg.Wait() }

// Shutdown stops waiting: running tasks finish errored, saying the deployer
// stopped (the Service may still converge; the sequence decides).
func (d *Deployer) Shutdown(ctx context.Context) error {
	d.stop()
	done := make(chan struct{})
	go func() { d.bg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// imageTag is the OCI distribution spec's tag grammar.
var imageTag = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// NamespaceFor resolves the namespace template for a scope.
func (c Config) NamespaceFor(s keptn.Scope) (string, error) {
	ns := strings.NewReplacer("{project}", s.Project, "{stage}", s.Stage, "{service}", s.Service).Replace(c.Namespace)
	if len(ns) > 63 || !dnsLabel.MatchString(ns) {
		return "", fmt.Errorf("namespace %q (from %q) is not a Kubernetes namespace name", ns, c.Namespace)
	}
	return ns, nil
}

// RevisionName is the revision a deployment creates: derived from the
// .triggered id, so a redelivery finds its own revision instead of adding
// one. Knative requires the "<service>-" prefix.
func RevisionName(service, triggeredID string) (string, error) {
	h := sha256.Sum256([]byte(triggeredID))
	name := service + "-" + hex.EncodeToString(h[:])[:8]
	if len(name) > 63 {
		return "", fmt.Errorf("service name %q is too long for a revision name (max 54 characters)", service)
	}
	return name, nil
}

// Image reads configurationChange.values.image and .tag (Keptn CLI's
// --image/--tag): a tag is appended to an image without tag or digest and
// must agree with one it already has.
func Image(data map[string]any) (string, error) {
	cc, _ := data["configurationChange"].(map[string]any)
	values, _ := cc["values"].(map[string]any)
	image, _ := values["image"].(string)
	tag, _ := values["tag"].(string)
	image, tag = strings.TrimSpace(image), strings.TrimSpace(tag)
	if image == "" {
		return "", errors.New("configurationChange.values.image is missing")
	}
	if strings.IndexFunc(image, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return "", fmt.Errorf("configurationChange.values.image %q is not an image reference", image)
	}
	if tag == "" {
		return image, nil
	}
	if !imageTag.MatchString(tag) {
		return "", fmt.Errorf("configurationChange.values.tag %q is not an image tag", tag)
	}
	last := image[strings.LastIndex(image, "/")+1:]
	switch {
	case strings.Contains(last, "@"):
		return "", fmt.Errorf("image %q is pinned by digest; drop configurationChange.values.tag %q", image, tag)
	case strings.Contains(last, ":"):
		if have := last[strings.Index(last, ":")+1:]; have != tag {
			return "", fmt.Errorf("image %q has tag %q, configurationChange.values.tag says %q", image, have, tag)
		}
		return image, nil
	}
	return image + ":" + tag, nil
}

// task is one .triggered event being worked on.
type task struct {
	e        event.Event
	name     string // deployment, release, rollback
	scope    keptn.Scope
	ns       string
	strategy Strategy
	image    string
	timeout  time.Duration
}

// Handle implements executor.Handler: .triggered of the three tasks starts
// work (its .started is sent before Handle returns), .aborted stops it;
// anything else is ignored.
func (d *Deployer) Handle(ctx context.Context, e event.Event) error {
	t, err := keptn.ParseType(e.Type())
	if err != nil || !t.IsTask() {
		return nil
	}
	switch t.Task {
	case TaskDeployment, TaskRelease, TaskRollback:
	default:
		return nil
	}
	switch t.Kind {
	case keptn.KindAborted:
		if d.reg.Abort(keptn.TriggeredID(e)) {
			d.log.Info("aborting", zap.String("task", t.Task), zap.String("triggeredid", keptn.TriggeredID(e)))
		}
		return nil
	case keptn.KindTriggered:
	default:
		return nil
	}
	if !d.reg.FirstDelivery(e.ID()) {
		return nil
	}
	tk, bad := d.parse(e, t.Task)
	if err := d.respond.Started(ctx, e, ""); err != nil {
		d.reg.Forget(e.ID())
		return err
	}
	wctx, done, ok := d.reg.Begin(d.base, e.ID())
	d.bg.Go(func() {
		defer done()
		var o executor.Outcome
		switch {
		case bad != nil:
			o = executor.Errored(bad.Error())
		case !ok:
			o = executor.Errored("aborted")
		default:
			o = d.run(wctx, tk)
		}
		o.Message = executor.TruncateMessage(o.Message, 4<<10)
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.respond.Finished(sctx, e, o); err != nil {
			d.log.Error("send .finished", zap.String("task", tk.name), zap.String("id", e.ID()), zap.Error(err))
		}
	})
	return nil
}

// parse reads what the task needs; an error becomes an errored .finished
// (after .started, so the sequence does not wait for a timeout).
func (d *Deployer) parse(e event.Event, name string) (task, error) {
	tk := task{e: e, name: name, timeout: d.cfg.Timeout}
	cd, data, err := keptn.DecodeData(e)
	if err != nil {
		return tk, err
	}
	tk.scope = keptn.Scope{Project: cd.Project, Stage: cd.Stage, Service: cd.Service}
	if cd.Project == "" || cd.Stage == "" || cd.Service == "" {
		return tk, errors.New("event needs data.project, data.stage and data.service")
	}
	if err := tk.scope.Validate(); err != nil {
		return tk, err
	}
	if tk.ns, err = d.cfg.NamespaceFor(tk.scope); err != nil {
		return tk, err
	}
	props, _ := data[name].(map[string]any)
	if s, ok := props["timeout"].(string); ok && s != "" {
		dur, err := time.ParseDuration(s)
		if err != nil || dur <= 0 {
			return tk, fmt.Errorf("%s.timeout %q is not a positive duration", name, s)
		}
		tk.timeout = dur
	}
	if name != TaskDeployment {
		return tk, nil
	}
	tk.strategy = Direct
	if s, _ := props["deploymentstrategy"].(string); s != "" {
		tk.strategy = Strategy(s)
	}
	if tk.strategy != Direct && tk.strategy != BlueGreen {
		return tk, fmt.Errorf("deployment.deploymentstrategy %q: the Knative deployer supports %s and %s", tk.strategy, Direct, BlueGreen)
	}
	tk.image, err = Image(data)
	return tk, err
}

func (d *Deployer) run(ctx context.Context, tk task) executor.Outcome {
	ctx, cancel := context.WithTimeout(ctx, tk.timeout)
	defer cancel()
	log := d.log.With(zap.String("task", tk.name), zap.String("namespace", tk.ns), zap.String("service", tk.scope.Service))
	var (
		o   executor.Outcome
		gen int64
		err error
	)
	switch tk.name {
	case TaskDeployment:
		gen, err = d.deploy(ctx, tk)
	case TaskRelease:
		gen, err = d.update(ctx, tk, PlanRelease)
	case TaskRollback:
		gen, err = d.update(ctx, tk, func(svc *servingv1.Service) (bool, error) {
			_, err := PlanRollback(svc, func(name string) (servingv1.RevisionSpec, error) {
				r, err := d.client.Revisions(tk.ns).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return servingv1.RevisionSpec{}, err
				}
				return r.Spec, nil
			})
			return true, err
		})
	}
	if err != nil {
		return d.fail(ctx, tk, log, err)
	}
	svc, err := d.wait(ctx, tk, gen)
	if err != nil {
		return d.fail(ctx, tk, log, err)
	}
	log.Info("done", zap.Int64("generation", gen))
	o.Message = fmt.Sprintf("%s: service %s/%s is Ready with its traffic applied", tk.name, tk.ns, tk.scope.Service)
	if tk.name == TaskDeployment {
		o.Payload = deploymentPayload(svc, tk.strategy)
	}
	return o
}

// fail reports err. An abort stops waiting and leaves the primary with all
// traffic: a deployment's candidate is dropped, a direct deployment rolled
// back to the previous primary.
func (d *Deployer) fail(ctx context.Context, tk task, log *zap.Logger, err error) executor.Outcome {
	if d.base.Err() != nil {
		return executor.Errored(fmt.Sprintf("%s of %s/%s: the deployer stopped while waiting for the Service", tk.name, tk.ns, tk.scope.Service))
	}
	if !executor.Aborted(ctx) {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("not Ready with the traffic applied within %s: %w", tk.timeout, err)
		}
		log.Info("failed", zap.Error(err))
		return executor.Fail(fmt.Sprintf("%s of %s/%s: %v", tk.name, tk.ns, tk.scope.Service, err))
	}
	if tk.name == TaskDeployment {
		rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, rerr := d.update(rctx, tk, func(svc *servingv1.Service) (bool, error) {
			_, err := PlanRollback(svc, func(name string) (servingv1.RevisionSpec, error) {
				r, err := d.client.Revisions(tk.ns).Get(rctx, name, metav1.GetOptions{})
				if err != nil {
					return servingv1.RevisionSpec{}, err
				}
				return r.Spec, nil
			})
			if errors.Is(err, ErrNothingToRollBack) {
				return false, nil // a first deployment: nothing else to serve
			}
			return true, err
		})
		if rerr != nil {
			log.Error("restore traffic after abort", zap.Error(rerr))
			return executor.Errored("aborted; restoring the primary failed: " + rerr.Error())
		}
	}
	return executor.Errored("aborted")
}

func (d *Deployer) deploy(ctx context.Context, tk task) (int64, error) {
	rev, err := RevisionName(tk.scope.Service, tk.e.ID())
	if err != nil {
		return 0, err
	}
	svcs := d.client.Services(tk.ns)
	for attempt := 0; ; attempt++ {
		svc, err := svcs.Get(ctx, tk.scope.Service, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			svc = NewService(tk.ns, tk.scope.Service)
			if _, err := PlanDeploy(svc, tk.strategy, rev, tk.image); err != nil {
				return 0, err
			}
			created, err := svcs.Create(ctx, svc, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) && attempt < 5 {
				continue
			}
			if err != nil {
				return 0, fmt.Errorf("create service: %w", err)
			}
			return created.Generation, nil
		}
		if err != nil {
			return 0, fmt.Errorf("get service: %w", err)
		}
		svc = svc.DeepCopy()
		changed, err := PlanDeploy(svc, tk.strategy, rev, tk.image)
		if err != nil || !changed {
			return svc.Generation, err
		}
		updated, err := svcs.Update(ctx, svc, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) && attempt < 5 {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("update service: %w", err)
		}
		return updated.Generation, nil
	}
}

// update applies plan to the Service, retrying on write conflicts.
func (d *Deployer) update(ctx context.Context, tk task, plan func(*servingv1.Service) (bool, error)) (int64, error) {
	svcs := d.client.Services(tk.ns)
	for attempt := 0; ; attempt++ {
		svc, err := svcs.Get(ctx, tk.scope.Service, metav1.GetOptions{})
		if err != nil {
			return 0, fmt.Errorf("get service: %w", err)
		}
		svc = svc.DeepCopy()
		changed, err := plan(svc)
		if err != nil || !changed {
			return svc.Generation, err
		}
		updated, err := svcs.Update(ctx, svc, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) && attempt < 5 {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("update service: %w", err)
		}
		return updated.Generation, nil
	}
}

// wait watches the Service until Observe says done or failed, or ctx ends.
// The watch starts before the first read so no change falls in between; a
// closed watch (API server timeout) is reopened.
func (d *Deployer) wait(ctx context.Context, tk task, gen int64) (*servingv1.Service, error) {
	svcs := d.client.Services(tk.ns)
	sel := fields.OneTermEqualSelector("metadata.name", tk.scope.Service).String()
	for {
		w, err := svcs.Watch(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return nil, fmt.Errorf("watch service: %w", err)
		}
		svc, err := svcs.Get(ctx, tk.scope.Service, metav1.GetOptions{})
		if err != nil {
			w.Stop()
			return nil, fmt.Errorf("get service: %w", err)
		}
		for {
			switch st, msg := Observe(svc, gen); st {
			case Done:
				w.Stop()
				return svc, nil
			case Failed:
				w.Stop()
				return svc, fmt.Errorf("service not Ready: %s", msg)
			}
			var ev watch.Event
			var open bool
			select {
			case <-ctx.Done():
				w.Stop()
				return nil, context.Cause(ctx)
			case ev, open = <-w.ResultChan():
			}
			if !open {
				break
			}
			if s, ok := ev.Object.(*servingv1.Service); ok && s.Name == tk.scope.Service {
				if ev.Type == watch.Deleted {
					w.Stop()
					return nil, errors.New("service was deleted")
				}
				svc = s
			}
		}
		w.Stop()
	}
}

// deploymentPayload is data.deployment of the .finished, in Keptn's field
// names: the URIs reach the new revision (its candidate tag for blue/green,
// the service for direct) so test and evaluation tasks hit it.
func deploymentPayload(svc *servingv1.Service, s Strategy) map[string]any {
	tag := TagPrimary
	if s == BlueGreen {
		tag = TagCandidate
	}
	var public, local []string
	rev := ""
	for _, t := range svc.Status.Traffic {
		if t.Tag != tag {
			continue
		}
		rev = t.RevisionName
		if t.URL != nil {
			public = append(public, t.URL.String())
		}
	}
	if s == Direct && svc.Status.URL != nil {
		public = []string{svc.Status.URL.String()}
	}
	if a := svc.Status.Address; a != nil && a.URL != nil {
		u := url.URL(*a.URL)
		if s == BlueGreen {
			u.Host = tag + "-" + u.Host // Knative's per-tag cluster-local name
		}
		local = append(local, u.String())
	}
	return map[string]any{
		"deploymentstrategy":   string(s),
		"deploymentNames":      []string{rev},
		"deploymentURIsLocal":  nonNil(local),
		"deploymentURIsPublic": nonNil(public),
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
