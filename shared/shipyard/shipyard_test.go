package shipyard

import (
	"errors"
	"strings"
	"testing"
)

const valid = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: s}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          timeout: 1h
          tasks:
            - name: deployment
              triggeredAfter: 10s
              timeout: 5m
              properties: {deploymentstrategy: direct}
    - name: prod
      sequences:
        - name: delivery
          triggeredOn:
            - event: dev.delivery.finished
              selector: {match: {result: pass}}
          tasks: [{name: deployment}]
        - name: rollback
          triggeredOn:
            - event: dev.delivery.finished
              selector: {match: {deployment.result: fail}}
          tasks: [{name: rollback}]
`

func TestParseValid(t *testing.T) {
	s, err := Parse([]byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	st, ok := s.Stage("dev")
	if !ok {
		t.Fatal("no dev")
	}
	seq, ok := st.Sequence("delivery")
	if !ok || seq.Tasks[0].Properties["deploymentstrategy"] != "direct" || Duration(seq.Tasks[0].TriggeredAfter).Seconds() != 10 {
		t.Fatalf("delivery = %+v", seq)
	}
	if ev, ok := st.Sequence("evaluation"); !ok || ev.Tasks[0].Name != "evaluation" {
		t.Fatal("built-in evaluation sequence missing")
	}
}

func TestValidationErrorsNameTheField(t *testing.T) {
	tests := map[string]struct{ yaml, field string }{
		"old api version":    {strings.Replace(valid, "0.2.3", "0.1.7", 1), "apiVersion"},
		"garbage version":    {strings.Replace(valid, "spec.keptn.sh/0.2.3", "banana", 1), "apiVersion"},
		"no stages":          {"apiVersion: spec.keptn.sh/0.2.3\nkind: Shipyard\nspec: {stages: []}\n", "spec.stages"},
		"unnamed stage":      {strings.Replace(valid, "name: prod", "name: ''", 1), "spec.stages[1].name"},
		"bad stage name":     {strings.Replace(valid, "name: prod", "name: Prod_1", 1), "spec.stages[1].name"},
		"dotted task":        {strings.Replace(valid, "name: rollback}", "name: roll.back}", 1), "spec.stages[1].sequences[1].tasks[0].name"},
		"bad triggeredAfter": {strings.Replace(valid, "triggeredAfter: 10s", "triggeredAfter: soon", 1), "spec.stages[0].sequences[0].tasks[0].triggeredAfter"},
		"bad task timeout":   {strings.Replace(valid, "timeout: 5m", "timeout: -5m", 1), "spec.stages[0].sequences[0].tasks[0].timeout"},
		"bad seq timeout":    {strings.Replace(valid, "timeout: 1h", "timeout: x", 1), "spec.stages[0].sequences[0].timeout"},
		"bad trigger event":  {strings.Replace(valid, "event: dev.delivery.finished\n              selector: {match: {result: pass}}", "event: dev.delivery\n              selector: {match: {result: pass}}", 1), "spec.stages[1].sequences[0].triggeredOn[0].event"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			var fe *FieldError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("err = %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
	if _, err := Parse([]byte("{{{")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("yaml error = %v", err)
	}
}

func TestValidateUpdate(t *testing.T) {
	old, _ := Parse([]byte(valid))
	reordered, _ := Parse([]byte(valid))
	reordered.Spec.Stages[0], reordered.Spec.Stages[1] = reordered.Spec.Stages[1], reordered.Spec.Stages[0]
	if err := ValidateUpdate(old, reordered); err != nil {
		t.Fatalf("reorder rejected: %v", err)
	}
	renamed, _ := Parse([]byte(strings.Replace(valid, "name: prod", "name: production", 1)))
	if err := ValidateUpdate(old, renamed); !errors.Is(err, ErrInvalid) {
		t.Fatalf("rename accepted: %v", err)
	}
	removed, _ := Parse([]byte(valid))
	removed.Spec.Stages = removed.Spec.Stages[:1]
	if err := ValidateUpdate(old, removed); err == nil {
		t.Fatal("removal accepted")
	}
}

func TestFollowUps(t *testing.T) {
	s, _ := Parse([]byte(valid))
	tests := map[string]struct {
		result string
		want   []string
	}{
		"pass":    {"pass", []string{"prod.delivery"}},
		"fail":    {"fail", []string{"prod.rollback"}},
		"warning": {"warning", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			// the run's only task is deployment, so its result is the run's
			of := func(task string) string {
				if task == "deployment" {
					return tc.result
				}
				return ""
			}
			for _, f := range s.FollowUps("dev", "delivery", tc.result, of) {
				got = append(got, f.Stage+"."+f.Sequence)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("follow-ups = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSelectorWithoutMatch(t *testing.T) {
	for result, want := range map[string]bool{"pass": true, "warning": true, "fail": false, "": false} {
		if got := (Selector{}).Matches(result, func(string) string { return "" }); got != want {
			t.Errorf("%q: %v", result, got)
		}
	}
}

func TestValidateEntityName(t *testing.T) {
	for name, ok := range map[string]bool{"dev": true, "a": true, "prod-1": true, "1dev": false, "dev-": false, "Dev": false, "d_v": false, "": false} {
		if err := ValidateEntityName(name); (err == nil) != ok {
			t.Errorf("%q: %v", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte("apiVersion: spec.keptn.sh/0.2.0\nspec: {stages: [{name: a}]}"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := Parse(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if len(s.Spec.Stages) == 0 {
			t.Fatal("valid shipyard without stages")
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed shipyard fails validation: %v", err)
		}
	})
}
