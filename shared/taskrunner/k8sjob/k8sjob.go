// Package k8sjob runs container-runtime KeptnTaskDefinition attempts as
// Kubernetes batch/v1 Jobs with client-go. It implements
// taskrunner.JobRunner and lives in its own module so the root module stays
// free of client-go.
//
// Each attempt is one Job: backoffLimit 0 and restartPolicy Never (the task
// runner does the retrying), activeDeadlineSeconds from the remaining
// timeout, no service-account token, no service links, a non-root pod with
// seccomp RuntimeDefault and a container without privilege escalation or
// capabilities. The container is named keptn-function-runner like KLT's and
// gets the Job's env (DATA, KEPTN_CONTEXT, the definition's own) plus
// SECURE_DATA from a secretKeyRef. RunJob watches the Job to completion,
// collects the container's logs, and deletes the Job when its context is
// canceled (abort, shutdown). A Job that already exists with the same name
// and Slipway's managed-by label (a redelivered event) is adopted, not
// recreated.
package k8sjob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/slipwayhq/slipway/shared/taskrunner"
)

// ContainerName is the task container's name (KLT's).
const ContainerName = "keptn-function-runner"

// ManagedBy is the app.kubernetes.io/managed-by label value of Slipway's Jobs.
const ManagedBy = "slipway"

// Options configures a Runner. Zero fields get the documented defaults.
type Options struct {
	// Namespace for Jobs whose taskrunner.Job has none ("default").
	Namespace string
	// ServiceAccountName of the pods ("": the namespace's default; its
	// token is never mounted either way).
	ServiceAccountName string
	// RunAsUser and RunAsGroup of the pod (1000 and 2000, as the
	// job-executor-service's chart).
	RunAsUser, RunAsGroup int64
	// Resources of the container (requests 50m/128Mi, limits 1 CPU/512Mi).
	Resources *corev1.ResourceRequirements
	// Retry is the pause before re-watching after a watch error (2s).
	Retry time.Duration
}

// Runner runs Jobs through a Kubernetes clientset.
type Runner struct {
	client kubernetes.Interface
	opts   Options
}

var _ taskrunner.JobRunner = (*Runner)(nil)

// New returns a Runner using client (a real or fake clientset).
func New(client kubernetes.Interface, opts Options) *Runner {
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.RunAsUser == 0 {
		opts.RunAsUser = 1000
	}
	if opts.RunAsGroup == 0 {
		opts.RunAsGroup = 2000
	}
	if opts.Resources == nil {
		opts.Resources = &corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("512Mi")},
		}
	}
	if opts.Retry <= 0 {
		opts.Retry = 2 * time.Second
	}
	return &Runner{client: client, opts: opts}
}

// ErrNotInCluster is returned by NewInCluster outside a Kubernetes pod.
var ErrNotInCluster = errors.New("not running in a Kubernetes cluster")

// NewInCluster returns a Runner using the pod's service account, or
// ErrNotInCluster.
func NewInCluster(opts Options) (*Runner, error) {
	cfg, err := rest.InClusterConfig()
	if errors.Is(err, rest.ErrNotInCluster) {
		return nil, ErrNotInCluster
	}
	if err != nil {
		return nil, fmt.Errorf("in-cluster config: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return New(cs, opts), nil
}

func (r *Runner) namespace(j taskrunner.Job) string {
	if j.Namespace != "" {
		return j.Namespace
	}
	return r.opts.Namespace
}

var labelValueBad = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// LabelValue makes s a valid label value: invalid characters become "-",
// at most 63 characters, alphanumeric at both ends.
func LabelValue(s string) string {
	s = labelValueBad.ReplaceAllString(s, "-")
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.TrimFunc(s, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9')
	})
}

// Build returns the Job for j.
func (r *Runner) Build(j taskrunner.Job) *batchv1.Job {
	labels := map[string]string{}
	for k, v := range j.Labels {
		labels[k] = LabelValue(v)
	}
	labels["app.kubernetes.io/managed-by"] = ManagedBy
	annotations := map[string]string{}
	for k, v := range j.Annotations {
		annotations[k] = v
	}
	var env []corev1.EnvVar
	for _, e := range j.Env {
		if e.Name == "SECURE_DATA" {
			continue
		}
		env = append(env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	if j.SecureDataSecret != "" {
		env = append(env, corev1.EnvVar{Name: "SECURE_DATA", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: j.SecureDataSecret}, Key: "SECURE_DATA", Optional: ptr(false)},
		}})
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: j.Name, Namespace: r.namespace(j), Labels: labels, Annotations: annotations},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr(int32(0)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					ServiceAccountName:           r.opts.ServiceAccountName,
					AutomountServiceAccountToken: ptr(false),
					EnableServiceLinks:           ptr(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr(true),
						RunAsUser:      ptr(r.opts.RunAsUser),
						RunAsGroup:     ptr(r.opts.RunAsGroup),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:            ContainerName,
						Image:           j.Image,
						ImagePullPolicy: corev1.PullIfNotPresent,
						Command:         j.Command,
						Args:            j.Args,
						WorkingDir:      j.WorkingDir,
						Env:             env,
						Resources:       *r.opts.Resources.DeepCopy(),
						SecurityContext: &corev1.SecurityContext{
							RunAsNonRoot:             ptr(true),
							Privileged:               ptr(false),
							AllowPrivilegeEscalation: ptr(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}
	if j.Timeout > 0 {
		job.Spec.ActiveDeadlineSeconds = ptr(int64(math.Ceil(j.Timeout.Seconds())))
	}
	if j.TTLSecondsAfterFinished > 0 {
		job.Spec.TTLSecondsAfterFinished = ptr(int32(min(j.TTLSecondsAfterFinished, math.MaxInt32)))
	}
	return job
}

// RunJob implements taskrunner.JobRunner.
func (r *Runner) RunJob(ctx context.Context, j taskrunner.Job) (taskrunner.JobResult, error) {
	ns := r.namespace(j)
	jobs := r.client.BatchV1().Jobs(ns)
	_, err := jobs.Create(ctx, r.Build(j), metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		existing, gerr := jobs.Get(ctx, j.Name, metav1.GetOptions{})
		if gerr != nil {
			return taskrunner.JobResult{}, fmt.Errorf("adopt job %s/%s: %w", ns, j.Name, gerr)
		}
		if existing.Labels["app.kubernetes.io/managed-by"] != ManagedBy {
			return taskrunner.JobResult{}, fmt.Errorf("job %s/%s exists and is not managed by %s", ns, j.Name, ManagedBy)
		}
		err = nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return taskrunner.JobResult{}, ctx.Err()
		}
		return taskrunner.JobResult{}, fmt.Errorf("create job %s/%s: %w", ns, j.Name, err)
	}
	done, err := r.wait(ctx, ns, j.Name)
	if err != nil {
		if ctx.Err() != nil {
			r.delete(ns, j.Name)
			return taskrunner.JobResult{}, ctx.Err()
		}
		return taskrunner.JobResult{}, err
	}
	res := outcome(done)
	res.Output, res.Truncated = r.logs(ctx, ns, j.Name, j.MaxOutput)
	return res, nil
}

// finished reports whether job has a true terminal condition.
func finished(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete, batchv1.JobSuccessCriteriaMet, batchv1.JobFailed, batchv1.JobFailureTarget:
			return true
		}
	}
	return false
}

func outcome(job *batchv1.Job) taskrunner.JobResult {
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete, batchv1.JobSuccessCriteriaMet:
			return taskrunner.JobResult{Succeeded: true}
		case batchv1.JobFailed, batchv1.JobFailureTarget:
			return taskrunner.JobResult{Reason: c.Reason, Message: c.Message}
		}
	}
	return taskrunner.JobResult{Reason: "Unknown"}
}

// wait watches the Job until it finishes, is deleted, or ctx ends.
func (r *Runner) wait(ctx context.Context, ns, name string) (*batchv1.Job, error) {
	jobs := r.client.BatchV1().Jobs(ns)
	for {
		// Watch first, then read: an update between the two is not lost.
		w, werr := jobs.Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()})
		cur, err := jobs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if w != nil {
				w.Stop()
			}
			if apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("job %s/%s was deleted before it finished", ns, name)
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("get job %s/%s: %w", ns, name, err)
		}
		if finished(cur) {
			if w != nil {
				w.Stop()
			}
			return cur, nil
		}
		if werr != nil {
			if !sleep(ctx, r.opts.Retry) {
				return nil, ctx.Err()
			}
			continue
		}
		job, err := r.consume(ctx, w, name)
		w.Stop()
		if err != nil || job != nil {
			return job, err
		}
		// The watch ended (server timeout): start again.
	}
}

func (r *Runner) consume(ctx context.Context, w watch.Interface, name string) (*batchv1.Job, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil, nil
			}
			job, isJob := ev.Object.(*batchv1.Job)
			if !isJob || job.Name != name {
				continue
			}
			if ev.Type == watch.Deleted {
				return nil, fmt.Errorf("job %s/%s was deleted before it finished", job.Namespace, name)
			}
			if finished(job) {
				return job, nil
			}
		}
	}
}

// delete removes an abandoned Job and its pods.
func (r *Runner) delete(ns, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_ = r.client.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)})
}

// logs returns the task container's logs of the Job's pods, capped at max
// bytes (0: 16 KiB). Missing logs are not an error.
func (r *Runner) logs(ctx context.Context, ns, name string, max int) (string, bool) {
	if max <= 0 {
		max = 16 << 10
	}
	pods, err := r.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + name})
	if err != nil {
		return "", false
	}
	var buf bytes.Buffer
	truncated := false
	for _, p := range pods.Items {
		limit := int64(max - buf.Len() + 1)
		if limit <= 1 {
			truncated = true
			break
		}
		if len(pods.Items) > 1 {
			fmt.Fprintf(&buf, "--- pod %s ---\n", p.Name)
		}
		s, err := r.client.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: ContainerName, LimitBytes: &limit}).Stream(ctx)
		if err != nil {
			fmt.Fprintf(&buf, "[logs unavailable: %v]\n", err)
			continue
		}
		_, _ = io.Copy(&buf, io.LimitReader(s, limit))
		s.Close()
	}
	out := buf.String()
	if len(out) > max {
		out, truncated = out[:max], true
	}
	return out, truncated
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func ptr[T any](v T) *T { return &v }
