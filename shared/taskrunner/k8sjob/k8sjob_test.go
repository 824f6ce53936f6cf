package k8sjob

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/slipwayhq/slipway/shared/taskrunner"
)

func testJob() taskrunner.Job {
	return taskrunner.Job{
		Name:       taskrunner.JobName("trig-1", "ctr", 1),
		Image:      "busybox:1.36",
		Command:    []string{"sh", "-c"},
		Args:       []string{"echo hi"},
		WorkingDir: "/work",
		Env: []taskrunner.EnvVar{
			{Name: "FOO", Value: "bar"},
			{Name: "DATA", Value: `{"k":"v"}`},
			{Name: "KEPTN_CONTEXT", Value: `{"project":"p"}`},
			{Name: "SECURE_DATA", Value: "must not be literal"},
		},
		SecureDataSecret:        "tok",
		Timeout:                 90*time.Second + time.Millisecond,
		TTLSecondsAfterFinished: 300,
		Labels:                  map[string]string{"keptn.sh/context": "ctx-1", "keptn.sh/event-id": "weird id/with:chars", "keptn.sh/task": "test"},
		Annotations:             map[string]string{"keptn.sh/attempt": "1"},
		MaxOutput:               1024,
	}
}

func TestBuildJobSpec(t *testing.T) {
	r := New(fake.NewClientset(), Options{Namespace: "tasks"})
	job := r.Build(testJob())
	if job.Namespace != "tasks" || job.Name != testJob().Name {
		t.Fatalf("meta %s/%s", job.Namespace, job.Name)
	}
	s := job.Spec
	if *s.BackoffLimit != 0 || *s.ActiveDeadlineSeconds != 91 || *s.TTLSecondsAfterFinished != 300 {
		t.Fatalf("backoff %d deadline %d ttl %d", *s.BackoffLimit, *s.ActiveDeadlineSeconds, *s.TTLSecondsAfterFinished)
	}
	p := s.Template.Spec
	if p.RestartPolicy != corev1.RestartPolicyNever || *p.AutomountServiceAccountToken || *p.EnableServiceLinks {
		t.Fatalf("pod spec %+v", p)
	}
	if sc := p.SecurityContext; !*sc.RunAsNonRoot || *sc.RunAsUser != 1000 || *sc.RunAsGroup != 2000 || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Fatalf("pod security %+v", sc)
	}
	if len(p.Containers) != 1 {
		t.Fatalf("%d containers", len(p.Containers))
	}
	c := p.Containers[0]
	if c.Name != ContainerName || c.Image != "busybox:1.36" || !reflect.DeepEqual(c.Command, []string{"sh", "-c"}) || !reflect.DeepEqual(c.Args, []string{"echo hi"}) || c.WorkingDir != "/work" || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Fatalf("container %+v", c)
	}
	if sc := c.SecurityContext; *sc.AllowPrivilegeEscalation || *sc.Privileged || !*sc.RunAsNonRoot || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Fatalf("container security %+v", sc)
	}
	if c.Resources.Limits.Memory().String() != "512Mi" || c.Resources.Requests.Cpu().String() != "50m" {
		t.Fatalf("resources %+v", c.Resources)
	}
	want := []corev1.EnvVar{
		{Name: "FOO", Value: "bar"},
		{Name: "DATA", Value: `{"k":"v"}`},
		{Name: "KEPTN_CONTEXT", Value: `{"project":"p"}`},
		{Name: "SECURE_DATA", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "tok"}, Key: "SECURE_DATA", Optional: ptr(false)}}},
	}
	if !reflect.DeepEqual(c.Env, want) {
		t.Fatalf("env\n%+v\nwant\n%+v", c.Env, want)
	}
	for _, l := range []map[string]string{job.Labels, s.Template.Labels} {
		if l["app.kubernetes.io/managed-by"] != "slipway" || l["keptn.sh/context"] != "ctx-1" || l["keptn.sh/event-id"] != "weird-id-with-chars" || l["keptn.sh/task"] != "test" {
			t.Fatalf("labels %v", l)
		}
	}
	if job.Annotations["keptn.sh/attempt"] != "1" {
		t.Fatalf("annotations %v", job.Annotations)
	}

	noSecret := testJob()
	noSecret.SecureDataSecret, noSecret.Timeout, noSecret.TTLSecondsAfterFinished = "", 0, 0
	job = r.Build(noSecret)
	for _, e := range job.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "SECURE_DATA" {
			t.Fatal("SECURE_DATA without a secret")
		}
	}
	if job.Spec.ActiveDeadlineSeconds != nil || job.Spec.TTLSecondsAfterFinished != nil {
		t.Fatal("deadline or ttl without timeout/ttl")
	}
}

func TestLabelValue(t *testing.T) {
	tests := map[string]string{
		"ctx-1":                   "ctx-1",
		"a b/c":                   "a-b-c",
		"-x-":                     "x",
		"":                        "",
		string(make([]byte, 100)): "",
	}
	long := "a"
	for len(long) < 100 {
		long += "b"
	}
	tests[long] = long[:63]
	for in, want := range tests {
		if got := LabelValue(in); got != want {
			t.Errorf("LabelValue(%q) = %q, want %q", in, got, want)
		}
	}
}

type runResult struct {
	res taskrunner.JobResult
	err error
}

// start runs j in the background and waits (with a deadline) until the Job
// exists in the fake cluster.
func start(t *testing.T, ctx context.Context, r *Runner, cs *fake.Clientset, j taskrunner.Job) <-chan runResult {
	t.Helper()
	out := make(chan runResult, 1)
	go func() {
		res, err := r.RunJob(ctx, j)
		out <- runResult{res, err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := cs.BatchV1().Jobs("tasks").Get(context.Background(), j.Name, metav1.GetOptions{}); err == nil {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatal("job never created")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func setCondition(t *testing.T, cs *fake.Clientset, name string, typ batchv1.JobConditionType, reason, msg string) {
	t.Helper()
	jobs := cs.BatchV1().Jobs("tasks")
	job, err := jobs.Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	job.Status.Conditions = append(job.Status.Conditions, batchv1.JobCondition{Type: typ, Status: corev1.ConditionTrue, Reason: reason, Message: msg})
	if _, err := jobs.UpdateStatus(context.Background(), job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func addPod(t *testing.T, cs *fake.Clientset, job string) {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: job + "-abcde", Namespace: "tasks", Labels: map[string]string{"job-name": job}}}
	if _, err := cs.CoreV1().Pods("tasks").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func wait(t *testing.T, ch <-chan runResult) runResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("RunJob did not return")
		return runResult{}
	}
}

func TestRunJobOutcomes(t *testing.T) {
	tests := map[string]struct {
		typ    batchv1.JobConditionType
		reason string
		want   taskrunner.JobResult
	}{
		"complete":         {typ: batchv1.JobComplete, want: taskrunner.JobResult{Succeeded: true, Output: "fake logs"}},
		"deadline":         {typ: batchv1.JobFailed, reason: "DeadlineExceeded", want: taskrunner.JobResult{Reason: "DeadlineExceeded", Message: "too slow", Output: "fake logs"}},
		"backoff":          {typ: batchv1.JobFailed, reason: "BackoffLimitExceeded", want: taskrunner.JobResult{Reason: "BackoffLimitExceeded", Message: "too slow", Output: "fake logs"}},
		"failure target":   {typ: batchv1.JobFailureTarget, reason: "PodFailurePolicy", want: taskrunner.JobResult{Reason: "PodFailurePolicy", Message: "too slow", Output: "fake logs"}},
		"success criteria": {typ: batchv1.JobSuccessCriteriaMet, want: taskrunner.JobResult{Succeeded: true, Output: "fake logs"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cs := fake.NewClientset()
			r := New(cs, Options{Namespace: "tasks"})
			j := testJob()
			ch := start(t, context.Background(), r, cs, j)
			addPod(t, cs, j.Name)
			msg := ""
			if tc.reason != "" {
				msg = "too slow"
			}
			setCondition(t, cs, j.Name, tc.typ, tc.reason, msg)
			got := wait(t, ch)
			if got.err != nil || !reflect.DeepEqual(got.res, tc.want) {
				t.Fatalf("got %+v %v, want %+v", got.res, got.err, tc.want)
			}
		})
	}
}

func TestRunJobCancelDeletesJob(t *testing.T) {
	cs := fake.NewClientset()
	r := New(cs, Options{Namespace: "tasks"})
	ctx, cancel := context.WithCancel(context.Background())
	j := testJob()
	ch := start(t, ctx, r, cs, j)
	cancel()
	got := wait(t, ch)
	if !errors.Is(got.err, context.Canceled) {
		t.Fatalf("err %v", got.err)
	}
	if _, err := cs.BatchV1().Jobs("tasks").Get(context.Background(), j.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("job not deleted: %v", err)
	}
}

func TestRunJobDeletedByOthers(t *testing.T) {
	cs := fake.NewClientset()
	r := New(cs, Options{Namespace: "tasks"})
	j := testJob()
	ch := start(t, context.Background(), r, cs, j)
	if err := cs.BatchV1().Jobs("tasks").Delete(context.Background(), j.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := wait(t, ch); got.err == nil {
		t.Fatalf("no error: %+v", got.res)
	}
}

func TestRunJobAdoptsExisting(t *testing.T) {
	cs := fake.NewClientset()
	r := New(cs, Options{Namespace: "tasks"})
	j := testJob()
	existing := r.Build(j)
	existing.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
	if _, err := cs.BatchV1().Jobs("tasks").Create(context.Background(), existing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := r.RunJob(context.Background(), j)
	if err != nil || !res.Succeeded {
		t.Fatalf("%+v %v", res, err)
	}

	foreign := testJob()
	foreign.Name = "foreign"
	if _, err := cs.BatchV1().Jobs("tasks").Create(context.Background(), &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "foreign", Namespace: "tasks"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RunJob(context.Background(), foreign); err == nil {
		t.Fatal("adopted a foreign job")
	}
}

func TestNewInClusterOutsideCluster(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	if _, err := NewInCluster(Options{}); !errors.Is(err, ErrNotInCluster) {
		t.Fatalf("err %v", err)
	}
}
