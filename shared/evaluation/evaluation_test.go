package evaluation

import (
	"math"
	"strings"
	"testing"
)

// Golden cases marked "lighthouse:" come from Keptn's own tests in
// keptn/keptn lighthouse-service/event_handler/evaluate_sli_handler_test.go
// (TestParseCriteriaString, TestCalculatePercentile, TestEvaluateComparison,
// TestEvaluateValue); the expected values are theirs, the code is ours.

func TestParseCriterion(t *testing.T) {
	tests := map[string]struct {
		in                     string
		op                     string
		value                  float64
		percent, cmp, increase bool
		err                    bool
	}{
		"lighthouse: <10":               {in: "<10", op: "<", value: 10},
		"lighthouse: <=10":              {in: "<=10", op: "<=", value: 10},
		"lighthouse: =10":               {in: "=10", op: "=", value: 10},
		"lighthouse: >=10":              {in: ">=10", op: ">=", value: 10},
		"lighthouse: >10":               {in: ">10", op: ">", value: 10},
		"lighthouse: >-10%":             {in: ">-10%", op: ">", value: 10, percent: true, cmp: true},
		"lighthouse: <=+10.5%":          {in: "<=+10.5%", op: "<=", value: 10.5, percent: true, cmp: true, increase: true},
		"lighthouse: <=+10":             {in: "<=+10", op: "<=", value: 10, cmp: true, increase: true},
		"lighthouse: spaces":            {in: "  <=+10   %", op: "<=", value: 10, percent: true, cmp: true, increase: true},
		"lighthouse: percent is a rise": {in: "  <=10%", op: "<=", value: 10, percent: true, cmp: true, increase: true},
		"absolute 600":                  {in: "<=600", op: "<=", value: 600},
		"decimal":                       {in: "<0.5", op: "<", value: 0.5},
		"no operator":                   {in: "600", err: true},
		"no number":                     {in: "<=", err: true},
		"double sign":                   {in: "<=+-5", err: true},
		"words":                         {in: "<=fast", err: true},
		"exponent":                      {in: "<1e3", err: true},
		"empty":                         {in: "", err: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := parseCriterion(tc.in)
			if tc.err {
				if err == nil {
					t.Fatalf("parseCriterion(%q) = %+v, want an error", tc.in, c)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Op != tc.op || c.Value != tc.value || c.Percent != tc.percent || c.Comparison != tc.cmp || c.Increase != tc.increase {
				t.Fatalf("parseCriterion(%q) = %+v", tc.in, c)
			}
		})
	}
}

func TestCompareOperators(t *testing.T) {
	tests := map[string]struct {
		measured, target float64
		op               string
		want             bool
	}{
		"lighthouse: 10 > 9":   {10, 9, ">", true},
		"lighthouse: 10 >= 10": {10, 10, ">=", true},
		"lighthouse: 10 <= 10": {10, 10, "<=", true},
		"lighthouse: 10 < 10":  {10, 10, "<", false},
		"lighthouse: 10 > 10":  {10, 10, ">", false},
		"lighthouse: 10 ? 10":  {10, 10, "?", false},
		"equal":                {3, 3, "=", true},
		"not equal":            {3, 4, "=", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := compare(tc.measured, tc.target, tc.op); got != tc.want {
				t.Fatalf("compare(%v %s %v) = %v", tc.measured, tc.op, tc.target, got)
			}
		})
	}
}

func TestAggregate(t *testing.T) {
	zeroToTen := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	tests := map[string]struct {
		fn     string
		values []float64
		want   float64
	}{
		"lighthouse: p50 of 0..10": {"p50", zeroToTen, 5},
		"lighthouse: p90 of 0..10": {"p90", zeroToTen, 9.8},
		"lighthouse: p95 of 0..10": {"p95", zeroToTen, 10},
		"avg":                      {"avg", []float64{10, 20, 30}, 20},
		"p90 of one":               {"p90", []float64{7}, 7},
		"p50 unsorted":             {"p50", []float64{10, 5}, 7.5},
		"p95 clamps low":           {"p95", []float64{3, 1}, 3},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := aggregate(tc.fn, tc.values); math.Abs(got-tc.want) > 1e-9 {
				t.Fatalf("aggregate(%s, %v) = %v, want %v", tc.fn, tc.values, got, tc.want)
			}
		})
	}
}

func prev(id, result string, metric string, values ...float64) Previous {
	p := Previous{ID: id, Result: result}
	for _, v := range values {
		p.Indicators = append(p.Indicators, IndicatorResult{Status: result, Value: SLIResult{Metric: metric, Value: v, Success: true}})
	}
	return p
}

// TestRelativeCriteria holds comparisons with earlier results.
func TestRelativeCriteria(t *testing.T) {
	twoTens := []Previous{prev("a", "pass", "m", 10), prev("b", "pass", "m", 10)}
	tests := map[string]struct {
		criterion string
		value     float64
		fn        string
		previous  []Previous
		want      bool
		target    float64
	}{
		"lighthouse: 10.0 <= avg([10, 10]) + 10%":    {"<=+10%", 10, "avg", twoTens, true, 11},
		"lighthouse: 11.01 <= avg([10, 10]) + 10%":   {"<=+10%", 11.01, "avg", twoTens, false, 11},
		"lighthouse: 10.0 < avg([10, 10]) + 0%":      {"<+0%", 10, "avg", twoTens, false, 10},
		"lighthouse: 10.0 > avg([10, 10]) + 0%":      {">+0%", 10, "avg", twoTens, false, 10},
		"lighthouse: 11.0 = avg([10, 10]) + 1.0":     {"=+1", 11, "avg", twoTens, true, 11},
		"lighthouse: 9.0 = avg([10, 10]) - 1.0":      {"=-1", 9, "avg", twoTens, true, 9},
		"lighthouse: 10.0 >= p50([10, 5]) - 10%":     {">=-10%", 10, "p50", []Previous{prev("a", "pass", "m", 10), prev("b", "pass", "m", 5)}, true, 6.75},
		"decrease in percent violated":               {">-5%", 9, "avg", []Previous{prev("a", "pass", "m", 10)}, false, 9.5},
		"no earlier result passes":                   {"<=+10%", 1000, "avg", nil, true, 0},
		"earlier failed SLI values are not compared": {"<=+10%", 1000, "avg", []Previous{{ID: "x", Result: "pass", Indicators: []IndicatorResult{{Value: SLIResult{Metric: "m", Value: 1}}}}}, true, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := mustSLO(t, `spec_version: "1.0"
comparison: {compare_with: several_results, number_of_comparison_results: 5, include_result_with_score: all, aggregate_function: `+tc.fn+`}
objectives:
  - sli: m
    pass: [{criteria: ["`+tc.criterion+`"]}]
total_score: {pass: "90%"}
`)
			out := s.Evaluate([]SLIResult{{Metric: "m", Value: tc.value, Success: true}}, tc.previous)
			ir := out.Indicators[0]
			if got := ir.Status == StatusPass; got != tc.want {
				t.Fatalf("status %s, want pass=%v (%+v)", ir.Status, tc.want, ir)
			}
			if math.Abs(ir.PassTargets[0].TargetValue-tc.target) > 1e-9 {
				t.Fatalf("target %v, want %v", ir.PassTargets[0].TargetValue, tc.target)
			}
		})
	}
}

func mustSLO(t *testing.T, y string) *SLO {
	t.Helper()
	s, err := ParseSLO([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const latencySLO = `spec_version: "1.0"
comparison:
  compare_with: single_result
  include_result_with_score: pass
  aggregate_function: avg
objectives:
  - sli: response_time_p95
    displayName: Response time P95
    pass:
      - criteria: ["<=+10%", "<600"]
    warning:
      - criteria: ["<=800"]
    weight: 1
  - sli: error_rate
    pass:
      - criteria: ["<=1"]
    key_sli: true
  - sli: throughput
total_score:
  pass: "90%"
  warning: "75%"
`

// TestScoring covers one rule per case: absolute thresholds, warnings,
// AND within a list, OR across lists, weights, key SLIs, informative SLIs,
// missing and failed values and the total score bands.
func TestScoring(t *testing.T) {
	ok := func(m string, v float64) SLIResult { return SLIResult{Metric: m, Value: v, Success: true} }
	tests := map[string]struct {
		slo      string
		values   []SLIResult
		previous []Previous
		result   string
		score    float64
		statuses []string
		message  string
	}{
		"all pass": {slo: latencySLO, values: []SLIResult{ok("response_time_p95", 500), ok("error_rate", 0), ok("throughput", 30)},
			result: "pass", score: 100, statuses: []string{"pass", "pass", "info"}},
		"warning band scores half the weight": {slo: latencySLO, values: []SLIResult{ok("response_time_p95", 700), ok("error_rate", 0), ok("throughput", 30)},
			result: "warning", score: 75, statuses: []string{"warning", "pass", "info"}},
		"both criteria of a list must hold (AND)": {slo: latencySLO, values: []SLIResult{ok("response_time_p95", 590), ok("error_rate", 0)},
			previous: []Previous{prev("p1", "pass", "response_time_p95", 100)},
			result:   "warning", score: 75, statuses: []string{"warning", "pass", "fail"}},
		"key SLI failing fails whatever the score": {slo: latencySLO, values: []SLIResult{ok("response_time_p95", 100), ok("error_rate", 5), ok("throughput", 1)},
			result: "fail", score: 50, statuses: []string{"pass", "fail", "info"}, message: "key SLI error_rate failed"},
		"beyond warning fails": {slo: latencySLO, values: []SLIResult{ok("response_time_p95", 900), ok("error_rate", 0), ok("throughput", 1)},
			result: "fail", score: 50, statuses: []string{"fail", "pass", "info"}},
		"missing value fails its objective": {slo: latencySLO, values: []SLIResult{ok("error_rate", 0), ok("throughput", 1)},
			result: "fail", score: 50, statuses: []string{"fail", "pass", "info"}},
		"failed value fails its objective": {slo: latencySLO, values: []SLIResult{{Metric: "response_time_p95", Message: "boom"}, ok("error_rate", 0), ok("throughput", 1)},
			result: "fail", score: 50, statuses: []string{"fail", "pass", "info"}},
		"lists are alternatives (OR)": {slo: `spec_version: "1.0"
objectives:
  - sli: m
    pass: [{criteria: ["<10"]}, {criteria: [">100"]}]
total_score: {pass: "100%"}
`, values: []SLIResult{ok("m", 200)}, result: "pass", score: 100, statuses: []string{"pass"}},
		"weights": {slo: `spec_version: "1.0"
objectives:
  - {sli: a, weight: 3, pass: [{criteria: ["<10"]}]}
  - {sli: b, pass: [{criteria: ["<10"]}]}
total_score: {pass: "75%", warning: "50%"}
`, values: []SLIResult{ok("a", 1), ok("b", 50)}, result: "pass", score: 75, statuses: []string{"pass", "fail"}},
		"only informative SLIs pass with 100": {slo: `spec_version: "1.0"
objectives: [{sli: a}, {sli: b}]
total_score: {pass: "90%"}
`, values: []SLIResult{ok("a", 1)}, result: "pass", score: 100, statuses: []string{"info", "fail"}},
		"no objectives pass": {slo: `spec_version: "1.0"
total_score: {pass: "90%"}
`, result: "pass", score: 100, statuses: nil},
		"no total_score.pass with criteria fails": {slo: `spec_version: "1.0"
objectives: [{sli: a, pass: [{criteria: ["<1"]}]}]
`, values: []SLIResult{ok("a", 0)}, result: "fail", score: 100, statuses: []string{"pass"}, message: "total_score.pass"},
		"score exactly at pass": {slo: `spec_version: "1.0"
objectives:
  - {sli: a, pass: [{criteria: ["<1"]}]}
  - {sli: b, pass: [{criteria: ["<1"]}]}
total_score: {pass: "50%", warning: "25%"}
`, values: []SLIResult{ok("a", 0), ok("b", 5)}, result: "pass", score: 50, statuses: []string{"pass", "fail"}},
		"warning without warning band fails": {slo: `spec_version: "1.0"
objectives:
  - {sli: a, pass: [{criteria: ["<1"]}], warning: [{criteria: ["<10"]}]}
total_score: {pass: "90%"}
`, values: []SLIResult{ok("a", 5)}, result: "fail", score: 50, statuses: []string{"warning"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := mustSLO(t, tc.slo)
			out := s.Evaluate(tc.values, s.SelectPrevious(tc.previous))
			if out.Result != tc.result || math.Abs(out.Score-tc.score) > 1e-9 {
				t.Fatalf("result %s score %v, want %s %v (%+v)", out.Result, out.Score, tc.result, tc.score, out)
			}
			var st []string
			for _, ir := range out.Indicators {
				st = append(st, ir.Status)
			}
			if strings.Join(st, ",") != strings.Join(tc.statuses, ",") {
				t.Fatalf("statuses %v, want %v", st, tc.statuses)
			}
			if !strings.Contains(out.Message, tc.message) {
				t.Fatalf("message %q lacks %q", out.Message, tc.message)
			}
		})
	}
}

// TestTargetsReportViolations: every criterion of every list is reported
// with its target value and whether it was violated.
func TestTargetsReportViolations(t *testing.T) {
	s := mustSLO(t, latencySLO)
	out := s.Evaluate([]SLIResult{{Metric: "response_time_p95", Value: 700, Success: true}}, []Previous{prev("e1", "pass", "response_time_p95", 500)})
	ir := out.Indicators[0]
	want := []Target{{Criteria: "<=+10%", TargetValue: 550, Violated: true}, {Criteria: "<600", TargetValue: 600, Violated: true}}
	if len(ir.PassTargets) != 2 || ir.PassTargets[0] != want[0] || ir.PassTargets[1] != want[1] {
		t.Fatalf("pass targets %+v, want %+v", ir.PassTargets, want)
	}
	if len(ir.WarningTargets) != 1 || ir.WarningTargets[0] != (Target{Criteria: "<=800", TargetValue: 800}) {
		t.Fatalf("warning targets %+v", ir.WarningTargets)
	}
	if ir.Value.ComparedValue != 500 || ir.DisplayName != "Response time P95" {
		t.Fatalf("value %+v", ir)
	}
	if len(out.ComparedEvents) != 1 || out.ComparedEvents[0] != "e1" {
		t.Fatalf("compared events %v", out.ComparedEvents)
	}
}

func TestSelectPrevious(t *testing.T) {
	history := []Previous{prev("1", "fail", "m", 1), prev("2", "warning", "m", 2), prev("3", "pass", "m", 3), prev("4", "pass", "m", 4), prev("5", "warning", "m", 5)}
	tests := map[string]struct {
		comparison string
		want       string
	}{
		"default is the single last result of any score": {``, "1"},
		"single_result pass":                             {`{compare_with: single_result, include_result_with_score: pass}`, "3"},
		"several_results pass_or_warn":                   {`{compare_with: several_results, number_of_comparison_results: 3, include_result_with_score: pass_or_warn}`, "2,3,4"},
		"several_results all":                            {`{compare_with: several_results, number_of_comparison_results: 2, include_result_with_score: all}`, "1,2"},
		"several_results defaults to 3":                  {`{compare_with: several_results, include_result_with_score: pass}`, "3,4"},
		"fewer than asked":                               {`{compare_with: several_results, number_of_comparison_results: 10, include_result_with_score: pass}`, "3,4"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			y := "spec_version: '1.0'\n"
			if tc.comparison != "" {
				y += "comparison: " + tc.comparison + "\n"
			}
			var ids []string
			for _, p := range mustSLO(t, y).SelectPrevious(history) {
				ids = append(ids, p.ID)
			}
			if strings.Join(ids, ",") != tc.want {
				t.Fatalf("selected %v, want %s", ids, tc.want)
			}
		})
	}
}

// TestParseSLOErrors: a malformed slo.yaml names the field.
func TestParseSLOErrors(t *testing.T) {
	tests := map[string]struct {
		yaml, field string
	}{
		"not yaml":            {"objectives: [", "not valid YAML"},
		"not a mapping":       {"- a\n- b\n", "not a YAML mapping"},
		"spec version":        {"spec_version: '2.0'\n", "spec_version"},
		"missing sli":         {"spec_version: '1.0'\nobjectives: [{pass: [{criteria: ['<1']}]}]\n", "objectives[0].sli"},
		"duplicate sli":       {"spec_version: '1.0'\nobjectives: [{sli: a}, {sli: a}]\n", "objectives[1].sli"},
		"bad criterion":       {"spec_version: '1.0'\nobjectives: [{sli: a, pass: [{criteria: ['<1', 'fast']}]}]\n", "objectives[0].pass[0].criteria[1]"},
		"bad warning":         {"spec_version: '1.0'\nobjectives: [{sli: a, warning: [{criteria: ['~5']}]}]\n", "objectives[0].warning[0].criteria[0]"},
		"empty criteria":      {"spec_version: '1.0'\nobjectives: [{sli: a, pass: [{criteria: []}]}]\n", "objectives[0].pass[0].criteria"},
		"negative weight":     {"spec_version: '1.0'\nobjectives: [{sli: a, weight: -1}]\n", "objectives[0].weight"},
		"weight not a number": {"spec_version: '1.0'\nobjectives: [{sli: a, weight: heavy}]\n", "line 2"},
		"total score":         {"spec_version: '1.0'\ntotal_score: {pass: lots}\n", "total_score.pass"},
		"warning score":       {"spec_version: '1.0'\ntotal_score: {pass: '90%', warning: x}\n", "total_score.warning"},
		"compare_with":        {"spec_version: '1.0'\ncomparison: {compare_with: everything}\n", "comparison.compare_with"},
		"include":             {"spec_version: '1.0'\ncomparison: {include_result_with_score: good}\n", "comparison.include_result_with_score"},
		"aggregate":           {"spec_version: '1.0'\ncomparison: {aggregate_function: median}\n", "comparison.aggregate_function"},
		"number of results":   {"spec_version: '1.0'\ncomparison: {compare_with: several_results, number_of_comparison_results: -2}\n", "comparison.number_of_comparison_results"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseSLO([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("ParseSLO error %v, want it to name %q", err, tc.field)
			}
		})
	}
}

func TestParseSLODefaults(t *testing.T) {
	s := mustSLO(t, "spec_version: '1.0'\nobjectives: [{sli: a}]\n")
	if s.Comparison != (Comparison{CompareWith: CompareSingle, IncludeResultWithScore: IncludeAll, NumberOfComparisonResults: 1, AggregateFunction: "avg"}) {
		t.Fatalf("comparison defaults %+v", s.Comparison)
	}
	if s.Objectives[0].Weight != 1 {
		t.Fatalf("weight default %d", s.Objectives[0].Weight)
	}
}

func FuzzParseSLO(f *testing.F) {
	f.Add([]byte(latencySLO))
	f.Add([]byte("spec_version: '1.0'\nobjectives: [{sli: a, pass: [{criteria: ['<=+10%']}]}]\ntotal_score: {pass: '90%'}\n"))
	f.Add([]byte("comparison: {compare_with: several_results}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSLO(b)
		if err != nil {
			return
		}
		// Whatever parses scores without panicking, within 0..100.
		var values []SLIResult
		for _, o := range s.Objectives {
			values = append(values, SLIResult{Metric: o.SLI, Value: 1, Success: true})
		}
		out := s.Evaluate(values, []Previous{prev("p", "pass", "a", 2)})
		if out.Score < 0 || out.Score > 100 || (out.Result != "pass" && out.Result != "warning" && out.Result != "fail") {
			t.Fatalf("evaluate = %+v", out)
		}
	})
}
