package knative

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/slipwayhq/slipway/shared/evaluation"
	"github.com/slipwayhq/slipway/shared/executor/remediation"
	"github.com/slipwayhq/slipway/shared/executor/webhook"
	"github.com/slipwayhq/slipway/shared/shipyard"
	"github.com/slipwayhq/slipway/shared/sli"
	"github.com/slipwayhq/slipway/shared/taskrunner/taskdef"
)

// TestSamples: the sample project in config/samples/ parses with the same
// parsers the control plane and the executors use.
func TestSamples(t *testing.T) {
	dir := filepath.Join(repoRoot, "config", "samples")
	read := func(t *testing.T, rel string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := map[string]func(t *testing.T){
		"shipyard": func(t *testing.T) {
			s, err := shipyard.Parse(read(t, "shipyard.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if n := len(s.Spec.Stages); n != 3 {
				t.Errorf("%d stages, want dev, hardening, production", n)
			}
		},
		"webhook": func(t *testing.T) {
			if _, err := webhook.Parse(read(t, "resources/webhook/webhook.yaml")); err != nil {
				t.Fatal(err)
			}
		},
		"remediation": func(t *testing.T) {
			if _, err := remediation.Parse(read(t, "resources/service/remediation.yaml")); err != nil {
				t.Fatal(err)
			}
		},
		"task definition": func(t *testing.T) {
			f, err := taskdef.Parse(read(t, "resources/task-definitions/notify-slack.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Definitions) != 1 {
				t.Fatalf("%d definitions, want 1", len(f.Definitions))
			}
		},
	}
	cases["slo"] = func(t *testing.T) {
		s, err := evaluation.ParseSLO(read(t, "resources/slo.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		f, err := sli.Parse("prometheus/sli.yaml", read(t, "resources/prometheus/sli.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range s.Objectives {
			if f.Indicators[o.SLI] == "" {
				t.Errorf("slo.yaml objective %s has no query in prometheus/sli.yaml", o.SLI)
			}
		}
	}
	for name, check := range cases {
		t.Run(name, check)
	}
}
