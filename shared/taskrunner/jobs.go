package taskrunner

import (
	"context"
	"time"
)

// JobRunner runs a container-runtime definition's attempt as a Kubernetes
// Job (module github.com/slipwayhq/slipway/shared/taskrunner/k8sjob). RunJob
// creates the Job (or adopts an existing one of the same name), waits for it
// to complete and returns its outcome with the container's logs; when ctx
// is canceled it deletes the Job and returns ctx's error. An error means the
// Job could not be run at all (the runner does not retry it).
type JobRunner interface {
	RunJob(ctx context.Context, job Job) (JobResult, error)
}

// Job is one attempt of a container-runtime definition.
type Job struct {
	Name       string // DNS-1123 label (JobName)
	Namespace  string // "" = the JobRunner's default
	Image      string
	Command    []string
	Args       []string
	WorkingDir string
	// Env holds literal variables: the container's own, then DATA (when
	// parameters are set) and KEPTN_CONTEXT.
	Env []EnvVar
	// SecureDataSecret, when set, becomes SECURE_DATA from the key
	// SECURE_DATA of that Secret (secretKeyRef).
	SecureDataSecret string
	// Timeout becomes activeDeadlineSeconds (0: none).
	Timeout                 time.Duration
	TTLSecondsAfterFinished int
	Labels                  map[string]string // values need not be valid label values yet
	Annotations             map[string]string
	MaxOutput               int // cap for the returned logs
}

// EnvVar is a literal environment variable.
type EnvVar struct {
	Name  string
	Value string
}

// JobResult is a finished Job's outcome. Reason is the Job condition's
// reason when it failed (DeadlineExceeded, BackoffLimitExceeded, ...).
type JobResult struct {
	Succeeded bool
	Reason    string
	Message   string
	Output    string
	// Truncated: Output is the head of longer logs, cut at Job.MaxOutput
	// (the runner masks a secret that the cut left partial).
	Truncated bool
}
