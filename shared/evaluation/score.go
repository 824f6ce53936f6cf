package evaluation

import (
	"math"
	"slices"
	"sort"
)

// SLIResult is one indicator value as SLI providers send it in
// get-sli.finished (data.getSli.indicatorValues[]).
type SLIResult struct {
	Metric  string  `json:"metric"`
	Value   float64 `json:"value"`
	Success bool    `json:"success"`
	Message string  `json:"message,omitempty"`
	// ComparedValue is the aggregate of earlier values relative criteria
	// were compared with (set by the evaluation, as Keptn 1.x does).
	ComparedValue float64 `json:"comparedValue,omitempty"`
}

// Target is one evaluated criterion.
type Target struct {
	Criteria    string  `json:"criteria"`
	TargetValue float64 `json:"targetValue"`
	Violated    bool    `json:"violated"`
}

// Indicator statuses.
const (
	StatusPass    = "pass"
	StatusWarning = "warning"
	StatusFail    = "fail"
	StatusInfo    = "info"
)

// IndicatorResult is one objective's outcome (data.evaluation.indicatorResults[]).
type IndicatorResult struct {
	Score          float64   `json:"score"`
	Value          SLIResult `json:"value"`
	DisplayName    string    `json:"displayName"`
	PassTargets    []Target  `json:"passTargets"`
	WarningTargets []Target  `json:"warningTargets"`
	KeySLI         bool      `json:"keySli"`
	Status         string    `json:"status"`
}

// Previous is an earlier evaluation.finished used for comparisons.
type Previous struct {
	ID         string
	Result     string // pass, warning, fail
	Indicators []IndicatorResult
}

// Outcome is the scored evaluation.
type Outcome struct {
	Result     string // pass, warning, fail
	Score      float64
	Indicators []IndicatorResult
	// ComparedEvents are the ids of the earlier evaluations used.
	ComparedEvents []string
	// Message explains a fail that is not a score (e.g. a failed key SLI).
	Message string
}

// SelectPrevious keeps, newest first, the earlier evaluations the
// comparison settings ask for: results allowed by include_result_with_score,
// at most number_of_comparison_results of them (1 for single_result).
func (s *SLO) SelectPrevious(newestFirst []Previous) []Previous {
	var out []Previous
	for _, p := range newestFirst {
		if len(out) == s.Comparison.NumberOfComparisonResults {
			break
		}
		switch s.Comparison.IncludeResultWithScore {
		case IncludePass:
			if p.Result != StatusPass {
				continue
			}
		case IncludePassOrWarn:
			if p.Result != StatusPass && p.Result != StatusWarning {
				continue
			}
		}
		out = append(out, p)
	}
	return out
}

// Evaluate scores values against the objectives. previous are the earlier
// evaluations to compare with (use SelectPrevious). The rules are
// lighthouse's: an objective with pass criteria adds its weight to the
// achievable score and scores its weight on pass, half of it on warning;
// objectives without pass criteria are informative; a failed key SLI fails
// the evaluation whatever the score; relative criteria pass when there is
// nothing to compare with.
func (s *SLO) Evaluate(values []SLIResult, previous []Previous) Outcome {
	out := Outcome{Indicators: []IndicatorResult{}}
	for _, p := range previous {
		out.ComparedEvents = append(out.ComparedEvents, p.ID)
	}
	maxScore, total := 0.0, 0.0
	keyFailed := ""
	for _, o := range s.Objectives {
		weight := float64(o.Weight)
		if len(o.pass) > 0 {
			maxScore += weight
		}
		ir := IndicatorResult{DisplayName: o.DisplayName, KeySLI: o.KeySLI, PassTargets: []Target{}, WarningTargets: []Target{}}
		v, ok := find(values, o.SLI)
		if !ok {
			v = SLIResult{Metric: o.SLI, Message: "no value received from SLI provider"}
		}
		ir.Value = v
		var prev []float64
		for _, p := range previous {
			for _, pi := range p.Indicators {
				if pi.Value.Metric == o.SLI && pi.Value.Success {
					prev = append(prev, pi.Value.Value)
				}
			}
		}
		agg, hasPrev := 0.0, len(prev) > 0
		if hasPrev {
			agg = aggregate(s.Comparison.AggregateFunction, prev)
			ir.Value.ComparedValue = agg
		}
		passed, warned := false, false
		switch {
		case len(o.pass) == 0:
			ir.Status = StatusInfo
		default:
			passed, ir.PassTargets = evalLists(o.pass, v, agg, hasPrev)
			if passed {
				ir.Status, ir.Score = StatusPass, weight
			} else if len(o.warning) > 0 {
				warned, ir.WarningTargets = evalLists(o.warning, v, agg, hasPrev)
				if warned {
					ir.Status, ir.Score = StatusWarning, weight/2
				}
			}
			if !passed && !warned {
				ir.Status, ir.Score = StatusFail, 0
				if o.KeySLI && keyFailed == "" {
					keyFailed = o.SLI
				}
			}
		}
		if !v.Success && ir.Status == StatusInfo {
			ir.Status = StatusFail
		}
		total += ir.Score
		out.Indicators = append(out.Indicators, ir)
	}
	if maxScore == 0 {
		out.Result, out.Score = StatusPass, 100
		return out
	}
	out.Score = 100 * total / maxScore
	switch {
	case keyFailed != "":
		out.Result = StatusFail
		out.Message = "key SLI " + keyFailed + " failed"
	case !s.HasPass:
		// Keptn: "no target score defined"; ParseSLO cannot know whether
		// objectives will have pass criteria, so this is checked here.
		out.Result = StatusFail
		out.Message = "slo.yaml: total_score.pass: required when objectives have pass criteria"
	case out.Score >= s.Pass:
		out.Result = StatusPass
	case s.HasWarning && out.Score >= s.Warning:
		out.Result = StatusWarning
	default:
		out.Result = StatusFail
	}
	return out
}

func find(values []SLIResult, metric string) (SLIResult, bool) {
	for _, v := range values {
		if v.Metric == metric {
			return v, true
		}
	}
	return SLIResult{}, false
}

// evalLists ORs lists of ANDed criteria; every list is evaluated so every
// violation is reported.
func evalLists(lists [][]criterion, v SLIResult, agg float64, hasPrev bool) (bool, []Target) {
	satisfied := false
	targets := []Target{}
	for _, set := range lists {
		all := true
		for _, c := range set {
			ok, tv := c.holds(v, agg, hasPrev)
			targets = append(targets, Target{Criteria: c.Text, TargetValue: tv, Violated: !ok})
			all = all && ok
		}
		satisfied = satisfied || all
	}
	return satisfied, targets
}

// holds evaluates one criterion and returns the value it compared with.
func (c criterion) holds(v SLIResult, agg float64, hasPrev bool) (bool, float64) {
	if !v.Success {
		return false, 0
	}
	if !c.Comparison {
		return compare(v.Value, c.Value, c.Op), c.Value
	}
	if !hasPrev {
		return true, 0 // nothing to compare with: lighthouse passes it
	}
	var target float64
	switch {
	case c.Percent && c.Increase:
		target = agg * (100 + c.Value) / 100
	case c.Percent:
		target = agg * (100 - c.Value) / 100
	case c.Increase:
		target = agg + c.Value
	default:
		target = agg - c.Value
	}
	return compare(v.Value, target, c.Op), target
}

func compare(measured, target float64, op string) bool {
	switch op {
	case "<":
		return measured < target
	case "<=":
		return measured <= target
	case "=":
		return measured == target
	case ">=":
		return measured >= target
	case ">":
		return measured > target
	}
	return false
}

func aggregate(fn string, values []float64) float64 {
	switch fn {
	case "p50":
		return percentile(values, 0.5)
	case "p90":
		return percentile(values, 0.9)
	case "p95":
		return percentile(values, 0.95)
	default:
		sum := 0.0
		for _, v := range values {
			sum += v
		}
		return sum / float64(len(values))
	}
}

// percentile interpolates at rank p*(n+1) (1-based) and clamps at both
// ends, the method lighthouse uses.
func percentile(values []float64, p float64) float64 {
	v := slices.Clone(values)
	sort.Float64s(v)
	n := len(v)
	pos := p * float64(n+1)
	switch {
	case pos < 1:
		return v[0]
	case pos >= float64(n):
		return v[n-1]
	}
	lo, hi := v[int(pos)-1], v[int(pos)]
	return lo + (pos-math.Floor(pos))*(hi-lo)
}
