package e2e

import (
	"fmt"
	"testing"
)

func TestApprovalStrategies(t *testing.T) {
	shipyard := `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: approvals}
spec:
  stages:
`
	combos := [][2]string{{"automatic", "automatic"}, {"manual", "automatic"}, {"automatic", "manual"}, {"manual", "manual"}}
	for i, c := range combos {
		shipyard += fmt.Sprintf(`    - name: combi%d
      sequences:
        - name: approval
          tasks: [{name: approval, properties: {pass: %s, warning: %s}}]
`, i+1, c[0], c[1])
	}
	s := start(t, "")
	s.createProject("appr", shipyard, "svc")
	for i, c := range combos {
		stage := fmt.Sprintf("combi%d", i+1)
		for _, result := range []string{"pass", "warning", "fail"} {
			t.Run(stage+"/"+result, func(t *testing.T) {
				kctx := s.trigger("appr", stage, "approval", "svc", map[string]any{"result": result})
				auto := result == "fail" || (result == "pass" && c[0] == "automatic") || (result == "warning" && c[1] == "automatic")
				started := s.waitHistory("appr", kctx, "sh.keptn.event.approval.started")
				if started.Data["status"] != "succeeded" {
					t.Fatalf("approval.started = %v", started.Data)
				}
				if auto {
					fin := s.waitHistory("appr", kctx, "sh.keptn.event.approval.finished")
					want := "pass"
					if result == "fail" {
						want = "fail"
					}
					if fin.Data["result"] != want || fin.Data["status"] != "succeeded" {
						t.Fatalf("approval.finished = %v, want result %s", fin.Data, want)
					}
					s.waitState("appr", kctx, "finished")
					return
				}
				// manual: an operator approves through the API
				open := s.openIn("appr", "approval", kctx)
				if len(s.history("appr", kctx, "sh.keptn.event.approval.finished")) != 0 {
					t.Fatal("manual approval finished by itself")
				}
				s.answer(open, "finished", "pass", "succeeded", nil)
				s.waitState("appr", kctx, "finished")
				fin := s.waitHistory("appr", kctx, "sh.keptn.event."+stage+".approval.finished")
				if fin.Data["result"] != "pass" {
					t.Fatalf("sequence finished = %v", fin.Data)
				}
			})
		}
	}
}
