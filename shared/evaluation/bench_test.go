package evaluation

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParseSLO parses the sample-sized SLO (three objectives).
func BenchmarkParseSLO(b *testing.B) {
	y := []byte(latencySLO)
	for b.Loop() {
		if _, err := ParseSLO(y); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluate scores 20 objectives with relative and absolute
// criteria against 3 earlier evaluations.
func BenchmarkEvaluate(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("spec_version: '1.0'\ncomparison: {compare_with: several_results, number_of_comparison_results: 3, aggregate_function: p90}\nobjectives:\n")
	var values []SLIResult
	var prevs []Previous
	for i := range 20 {
		m := fmt.Sprintf("sli_%d", i)
		fmt.Fprintf(&sb, "  - {sli: %s, pass: [{criteria: ['<=+10%%', '<600']}], warning: [{criteria: ['<=800']}]}\n", m)
		values = append(values, SLIResult{Metric: m, Value: float64(400 + i), Success: true})
	}
	for j := range 3 {
		p := Previous{ID: fmt.Sprint(j), Result: "pass"}
		for i := range 20 {
			p.Indicators = append(p.Indicators, IndicatorResult{Value: SLIResult{Metric: fmt.Sprintf("sli_%d", i), Value: float64(380 + j), Success: true}})
		}
		prevs = append(prevs, p)
	}
	sb.WriteString("total_score: {pass: '90%', warning: '75%'}\n")
	s, err := ParseSLO([]byte(sb.String()))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if out := s.Evaluate(values, prevs); out.Result == "" {
			b.Fatal("no result")
		}
	}
}
