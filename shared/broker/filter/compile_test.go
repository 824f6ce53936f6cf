package filter

import (
	"errors"
	"strings"
	"testing"
)

func TestCompile(t *testing.T) {
	tests := map[string]struct {
		spec      Spec
		want      bool
		wantErr   string
		wantIsErr error
	}{
		"empty spec matches everything": {spec: Spec{}, want: true},
		"empty attributes match":        {spec: Spec{Attributes: map[string]string{}}, want: true},
		"legacy match":                  {spec: Spec{Attributes: map[string]string{"type": "com.example.wf.step.completed"}}, want: true},
		"legacy miss":                   {spec: Spec{Attributes: map[string]string{"type": "x"}}, want: false},
		"filters win over filter": {spec: Spec{
			Attributes: map[string]string{"type": "x"},
			Filters:    []Expr{{Prefix: map[string]string{"type": "com."}}},
		}, want: true},
		"filters win, and can reject": {spec: Spec{
			Attributes: map[string]string{"type": "com.example.wf.step.completed"},
			Filters:    []Expr{{Exact: map[string]string{"type": "x"}}},
		}, want: false},
		"list is ANDed": {spec: Spec{Filters: []Expr{
			{Exact: map[string]string{"type": "com.example.wf.step.completed"}},
			{Prefix: map[string]string{"source": "/other/"}},
		}}, want: false},
		"reference example": {spec: Spec{Filters: []Expr{
			{Exact: map[string]string{"type": "com.example.wf.step.completed"}},
			{Prefix: map[string]string{"source": "/wf/"}},
		}}, want: true},
		"nested any/not/all": {spec: Spec{Filters: []Expr{
			{Any: []Expr{
				{Suffix: map[string]string{"type": ".started"}},
				{All: []Expr{
					{Exact: map[string]string{"workflowid": "wf-42"}},
					{Not: &Expr{Exact: map[string]string{"source": "/wf/deploy"}}},
				}},
			}},
		}}, want: true},
		"not of missing extension passes": {spec: Spec{Filters: []Expr{{Not: &Expr{Exact: map[string]string{"nosuch": "x"}}}}}, want: true},
		"no dialect refused":              {spec: Spec{Filters: []Expr{{}}}, wantErr: "filters[0]: no dialect set"},
		"two dialects refused": {spec: Spec{Filters: []Expr{{
			Exact: map[string]string{"type": "a"}, Suffix: map[string]string{"type": "b"},
		}}}, wantErr: "filters[0]: multiple dialects found"},
		"empty value refused":        {spec: Spec{Filters: []Expr{{Exact: map[string]string{"type": ""}}}}, wantErr: "filters[0].exact: attribute and value can't be empty"},
		"upper-case name refused":    {spec: Spec{Filters: []Expr{{Prefix: map[string]string{"Type": "a"}}}}, wantErr: "filters[0].prefix[Type]: invalid attribute name"},
		"legacy bad name refused":    {spec: Spec{Attributes: map[string]string{"workflow_id": "a"}}, wantErr: "filter.attributes[workflow_id]: invalid attribute name"},
		"nested error path":          {spec: Spec{Filters: []Expr{{Exact: map[string]string{"type": "a"}}, {Any: []Expr{{Not: &Expr{}}}}}}, wantErr: "filters[1].any[0].not: no dialect set"},
		"cesql refused":              {spec: Spec{Filters: []Expr{{CESQL: "type = 'a'"}}}, wantErr: "filters[0].cesql: cesql filters are not supported", wantIsErr: ErrCESQLUnsupported},
		"empty all is not a dialect": {spec: Spec{Filters: []Expr{{All: []Expr{}}}}, wantErr: "no dialect set"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := Compile(tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
				}
				if tc.wantIsErr != nil && !errors.Is(err, tc.wantIsErr) {
					t.Fatalf("err = %v, want errors.Is %v", err, tc.wantIsErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(testEvent(t)); got != tc.want {
				t.Fatalf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestResultAlgebra(t *testing.T) {
	rs := []Result{Pass, Fail, NoFilter}
	for _, x := range rs {
		for _, y := range rs {
			and, or := x.And(y), x.Or(y)
			switch {
			case x == NoFilter:
				if and != y || or != y {
					t.Errorf("%v op %v: and=%v or=%v", x, y, and, or)
				}
			case y == NoFilter:
				if and != x || or != x {
					t.Errorf("%v op %v: and=%v or=%v", x, y, and, or)
				}
			default:
				if (and == Pass) != (x == Pass && y == Pass) || (or == Pass) != (x == Pass || y == Pass) {
					t.Errorf("%v op %v: and=%v or=%v", x, y, and, or)
				}
			}
		}
	}
}
