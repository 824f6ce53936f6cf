package knative

import (
	"slices"
	"strings"
	"testing"
)

// VisibilityLabel is Knative Serving's label that keeps a Service off the
// ingress (knative.dev/networking VisibilityLabelKey).
const (
	VisibilityLabel = "networking.knative.dev/visibility"
	ClusterLocal    = "cluster-local"
)

// PublicFunctions are the only functions reachable from outside the
// cluster: the API (REST, Bridge). Everything else takes events from the
// Broker or calls inside the cluster (docs/security.md).
var PublicFunctions = []string{"api"}

// TestInternalFunctionsAreClusterLocal: every func.yaml but the api's sets
// the cluster-local visibility label, and the api's does not (it is the
// way in).
func TestInternalFunctionsAreClusterLocal(t *testing.T) {
	fns, err := FindFunctions(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) < 4 {
		t.Fatalf("found %d functions", len(fns))
	}
	for _, f := range fns {
		local := false
		for _, l := range f.Spec.Deploy.Labels {
			if l.Key == VisibilityLabel && l.Value == ClusterLocal {
				local = true
			}
		}
		public := slices.Contains(PublicFunctions, f.Spec.Name)
		switch {
		case public && local:
			t.Errorf("%s/func.yaml: %s is the public function but is cluster-local", f.Rel, f.Spec.Name)
		case !public && !local:
			t.Errorf("%s/func.yaml: internal function %s lacks deploy.labels %s: %s (its Knative Service would be on the ingress)", f.Rel, f.Spec.Name, VisibilityLabel, ClusterLocal)
		}
	}
}

// TestConfigServicesAreClusterLocal: every Knative Service in config/ (the
// dead-letter sink) is cluster-local too.
func TestConfigServicesAreClusterLocal(t *testing.T) {
	docs, err := LoadDocs("config")
	if err != nil {
		t.Fatal(err)
	}
	// Only the Knative Services: other documents are other tests' business.
	var ksvc []Doc
	for _, d := range docs {
		if d.Kind == "Service" && strings.HasPrefix(d.APIVersion, "serving.knative.dev/") {
			ksvc = append(ksvc, d)
		}
	}
	m, err := Decode(validationContext(), ksvc)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Services) == 0 {
		t.Fatal("no Knative Service in config/")
	}
	for _, s := range m.Services {
		if s.Labels[VisibilityLabel] != ClusterLocal {
			t.Errorf("Service %s: label %s is %q, want %s", s.Name, VisibilityLabel, s.Labels[VisibilityLabel], ClusterLocal)
		}
	}
}

// TestHistoryIngestIsAuthenticated: the api gets its history tokens, apart
// from its API tokens, and no fixed hop count (behind Knative it varies).
func TestHistoryIngestIsAuthenticated(t *testing.T) {
	fns, err := FindFunctions(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fns {
		if f.Spec.Name != "api" {
			continue
		}
		env := map[string]string{}
		for _, e := range f.Spec.Run.Envs {
			env[e.Name] = e.Value
		}
		if env["API_HISTORY_TOKENS"] == "" || env["API_HISTORY_TOKENS"] == env["API_TOKENS"] {
			t.Errorf("api: API_HISTORY_TOKENS %q must be set and differ from API_TOKENS %q", env["API_HISTORY_TOKENS"], env["API_TOKENS"])
		}
		if env["API_TRUSTED_PROXIES"] == "" || env["API_FORWARDED_HOPS"] != "" {
			t.Errorf("api: want API_TRUSTED_PROXIES and no API_FORWARDED_HOPS, got %q / %q", env["API_TRUSTED_PROXIES"], env["API_FORWARDED_HOPS"])
		}
		return
	}
	t.Fatal("no api function")
}
