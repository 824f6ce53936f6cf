package knative

import (
	"errors"
	"fmt"

	"github.com/kelseyhightower/envconfig"
	"k8s.io/client-go/rest"
	"knative.dev/serving/pkg/client/clientset/versioned"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned/typed/serving/v1"
)

// Env is the function's environment: the deployer's Config, the broker to
// reply to, and whether to use an in-memory cluster.
type Env struct {
	Config
	Sink string `envconfig:"K_SINK" required:"true"`
	// FakeCluster runs against fakeserving's in-memory Serving instead of
	// the cluster the pod runs in: the local runtime's stand-in for a
	// cluster (see docs/deploy.md). Never set it in a cluster.
	FakeCluster bool `envconfig:"DEPLOY_FAKE_CLUSTER" default:"false"`
	// FakeDomain is the public domain the fake cluster's URLs use.
	FakeDomain string `envconfig:"DEPLOY_FAKE_DOMAIN" default:"example.com"`
}

// FromEnv reads Env.
func FromEnv() (Env, error) {
	var e Env
	if err := envconfig.Process("", &e); err != nil {
		return e, fmt.Errorf("knative-deployer config: %w", err)
	}
	return e, nil
}

// ErrNotInCluster is returned by InCluster outside a Kubernetes pod.
var ErrNotInCluster = errors.New("not running in a Kubernetes cluster (no service account token); set DEPLOY_FAKE_CLUSTER=true for a local fake")

// InCluster returns the serving client of the cluster the pod runs in, with
// the pod's service account (config/rbac.yaml: slipway-knative-deployer).
func InCluster() (servingclient.ServingV1Interface, error) {
	rc, err := rest.InClusterConfig()
	if errors.Is(err, rest.ErrNotInCluster) {
		return nil, ErrNotInCluster
	}
	if err != nil {
		return nil, fmt.Errorf("in-cluster config: %w", err)
	}
	cs, err := versioned.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("serving client: %w", err)
	}
	return cs.ServingV1(), nil
}
