package approval

import (
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/keptn"
)

func TestDecide(t *testing.T) {
	tests := []struct {
		result, pass, warning string
		want                  keptn.Result
		decided               bool
	}{
		{"pass", Automatic, Automatic, keptn.ResultPass, true},
		{"pass", Automatic, Manual, keptn.ResultPass, true},
		{"pass", Manual, Automatic, "", false},
		{"pass", "", Automatic, "", false}, // missing strategy is manual
		{"warning", Automatic, Automatic, keptn.ResultPass, true},
		{"warning", Manual, Automatic, keptn.ResultPass, true},
		{"warning", Automatic, Manual, "", false},
		{"fail", Automatic, Automatic, keptn.ResultFail, true},
		{"fail", Manual, Manual, keptn.ResultFail, true},
		{"", Automatic, Automatic, "", false},
	}
	for _, tc := range tests {
		got, ok := Decide(keptn.Result(tc.result), tc.pass, tc.warning)
		if got != tc.want || ok != tc.decided {
			t.Errorf("Decide(%s, %s, %s) = %s, %v; want %s, %v", tc.result, tc.pass, tc.warning, got, ok, tc.want, tc.decided)
		}
	}
}

func TestRespond(t *testing.T) {
	ids := func(p ...string) string { return p[0] + "/" + p[len(p)-1] }
	mk := func(data map[string]any) []string {
		ev, err := keptn.NewEvent(keptn.TaskType("approval", keptn.KindTriggered), keptn.Meta{ID: "t1", Source: "sc", Time: time.Now(), Context: "c"}, data)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Respond(ev, time.Now(), ids)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range out {
			if keptn.TriggeredID(e) != "t1" || keptn.Context(e) != "c" {
				t.Fatalf("response %s not correlated", e.Type())
			}
			_, d, _ := keptn.DecodeData(e)
			types = append(types, e.Type()+":"+str(d["result"]))
		}
		return types
	}
	base := map[string]any{"project": "p", "stage": "s", "service": "x", "approval": map[string]any{"pass": "automatic", "warning": "manual"}}
	base["result"] = "pass"
	if got := mk(base); len(got) != 2 || got[1] != "sh.keptn.event.approval.finished:pass" {
		t.Fatalf("automatic pass: %v", got)
	}
	base["result"] = "warning"
	if got := mk(base); len(got) != 1 || got[0] != "sh.keptn.event.approval.started:" {
		t.Fatalf("manual warning: %v", got)
	}
	delete(base, "result")
	base["evaluation"] = map[string]any{"result": "fail"}
	if got := mk(base); len(got) != 2 || got[1] != "sh.keptn.event.approval.finished:fail" {
		t.Fatalf("result from evaluation: %v", got)
	}
}

func str(v any) string { s, _ := v.(string); return s }
