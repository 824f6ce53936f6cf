// Package evaluation is Keptn's lighthouse without I/O: it parses slo.yaml
// (spec_version 1.0) and scores SLI values against its objectives the way
// lighthouse-service does, including comparisons with earlier evaluations.
// The event handling around it lives in evaluation/lighthouse.
package evaluation

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxSLOSize bounds an slo.yaml.
const MaxSLOSize = 1 << 20

// Comparison settings of slo.yaml.
const (
	CompareSingle  = "single_result"
	CompareSeveral = "several_results"

	IncludePass       = "pass"
	IncludePassOrWarn = "pass_or_warn"
	IncludeAll        = "all"
)

// SLO is a parsed slo.yaml with Keptn's defaults applied.
type SLO struct {
	SpecVersion string            `yaml:"spec_version"`
	Filter      map[string]string `yaml:"filter"`
	Comparison  Comparison        `yaml:"comparison"`
	Objectives  []Objective       `yaml:"objectives"`
	TotalScore  TotalScore        `yaml:"total_score"`

	// Pass and Warning are TotalScore parsed (percent); HasWarning tells
	// whether a warning threshold was given.
	Pass, Warning float64 `yaml:"-"`
	HasPass       bool    `yaml:"-"`
	HasWarning    bool    `yaml:"-"`
}

// Comparison selects the earlier evaluations relative criteria compare with.
type Comparison struct {
	CompareWith               string `yaml:"compare_with"`
	IncludeResultWithScore    string `yaml:"include_result_with_score"`
	NumberOfComparisonResults int    `yaml:"number_of_comparison_results"`
	AggregateFunction         string `yaml:"aggregate_function"`
}

// Objective is one SLI with its criteria.
type Objective struct {
	SLI         string     `yaml:"sli"`
	DisplayName string     `yaml:"displayName"`
	Pass        []Criteria `yaml:"pass"`
	Warning     []Criteria `yaml:"warning"`
	Weight      int        `yaml:"weight"`
	KeySLI      bool       `yaml:"key_sli"`

	pass, warning [][]criterion
}

// Criteria is one list of criteria; all of them must hold (AND). Several
// lists in pass or warning are alternatives (OR).
type Criteria struct {
	Criteria []string `yaml:"criteria"`
}

// TotalScore holds the pass and warning percentages ("90%").
type TotalScore struct {
	Pass    string `yaml:"pass"`
	Warning string `yaml:"warning"`
}

// ParseError is an slo.yaml problem; Field names where it is.
type ParseError struct {
	Field string
	Msg   string
}

func (e *ParseError) Error() string {
	if e.Field == "" {
		return "slo.yaml: " + e.Msg
	}
	return "slo.yaml: " + e.Field + ": " + e.Msg
}

func fieldErr(field, format string, args ...any) error {
	return &ParseError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ParseSLO parses and validates an slo.yaml. Unlike lighthouse, which
// dropped a criterion it could not read while scoring, every criterion and
// setting is checked here, so a typo fails the evaluation with the field
// named instead of silently changing the score.
func ParseSLO(b []byte) (*SLO, error) {
	if len(b) > MaxSLOSize {
		return nil, &ParseError{Msg: fmt.Sprintf("larger than %d bytes", MaxSLOSize)}
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&root); err != nil {
		return nil, &ParseError{Msg: "not valid YAML: " + err.Error()}
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, &ParseError{Msg: "not a YAML mapping"}
	}
	var s SLO
	if err := root.Decode(&s); err != nil {
		return nil, &ParseError{Msg: typeErr(err)}
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// typeErr shortens yaml.v3's "yaml: unmarshal errors:\n  line 3: ..." to
// its lines, which name the line and the Go type expected.
func typeErr(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	return err.Error()
}

var specVersion = regexp.MustCompile(`^(1\.0|0\.1(\.[0-9]+)?)$`)

func (s *SLO) validate() error {
	if !specVersion.MatchString(s.SpecVersion) {
		return fieldErr("spec_version", "%q is not supported (want \"1.0\")", s.SpecVersion)
	}
	if err := s.Comparison.defaults(); err != nil {
		return err
	}
	names := map[string]bool{}
	for i := range s.Objectives {
		o := &s.Objectives[i]
		f := fmt.Sprintf("objectives[%d]", i)
		if strings.TrimSpace(o.SLI) == "" {
			return fieldErr(f+".sli", "must name an SLI")
		}
		if names[o.SLI] {
			return fieldErr(f+".sli", "%q is listed twice", o.SLI)
		}
		names[o.SLI] = true
		if o.Weight < 0 {
			return fieldErr(f+".weight", "must not be negative")
		}
		if o.Weight == 0 {
			o.Weight = 1 // Keptn's default
		}
		var err error
		if o.pass, err = parseLists(f+".pass", o.Pass); err != nil {
			return err
		}
		if o.warning, err = parseLists(f+".warning", o.Warning); err != nil {
			return err
		}
	}
	if s.TotalScore.Pass != "" {
		v, err := percent(s.TotalScore.Pass)
		if err != nil {
			return fieldErr("total_score.pass", "%v", err)
		}
		s.Pass, s.HasPass = v, true
	}
	if s.TotalScore.Warning != "" {
		v, err := percent(s.TotalScore.Warning)
		if err != nil {
			return fieldErr("total_score.warning", "%v", err)
		}
		s.Warning, s.HasWarning = v, true
	}
	return nil
}

func percent(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a percentage like 90%%", s)
	}
	return v, nil
}

// defaults applies lighthouse's defaults (an absent comparison compares
// with the single last result of any score) and checks the values.
func (c *Comparison) defaults() error {
	if *c == (Comparison{}) {
		*c = Comparison{CompareWith: CompareSingle, IncludeResultWithScore: IncludeAll, NumberOfComparisonResults: 1, AggregateFunction: "avg"}
		return nil
	}
	if c.CompareWith == "" {
		c.CompareWith = CompareSingle
	}
	if c.IncludeResultWithScore == "" {
		c.IncludeResultWithScore = IncludeAll
	}
	if c.AggregateFunction == "" {
		c.AggregateFunction = "avg"
	}
	switch c.CompareWith {
	case CompareSingle:
		c.NumberOfComparisonResults = 1
	case CompareSeveral:
		if c.NumberOfComparisonResults == 0 {
			c.NumberOfComparisonResults = 3
		}
		if c.NumberOfComparisonResults < 1 || c.NumberOfComparisonResults > 100 {
			return fieldErr("comparison.number_of_comparison_results", "must be between 1 and 100")
		}
	default:
		return fieldErr("comparison.compare_with", "%q is not single_result or several_results", c.CompareWith)
	}
	switch c.IncludeResultWithScore {
	case IncludePass, IncludePassOrWarn, IncludeAll:
	default:
		return fieldErr("comparison.include_result_with_score", "%q is not pass, pass_or_warn or all", c.IncludeResultWithScore)
	}
	switch c.AggregateFunction {
	case "avg", "p50", "p90", "p95":
	default:
		return fieldErr("comparison.aggregate_function", "%q is not avg, p50, p90 or p95", c.AggregateFunction)
	}
	return nil
}

func parseLists(field string, lists []Criteria) ([][]criterion, error) {
	out := make([][]criterion, 0, len(lists))
	for i, l := range lists {
		if len(l.Criteria) == 0 {
			return nil, fieldErr(fmt.Sprintf("%s[%d].criteria", field, i), "must list at least one criterion")
		}
		var set []criterion
		for j, s := range l.Criteria {
			c, err := parseCriterion(s)
			if err != nil {
				return nil, fieldErr(fmt.Sprintf("%s[%d].criteria[%d]", field, i, j), "%v", err)
			}
			set = append(set, c)
		}
		out = append(out, set)
	}
	return out, nil
}

// criterion is one parsed criterion: "<=600" (absolute), "<+10%", ">-5%",
// "<=+50" (relative to earlier results).
type criterion struct {
	Text       string
	Op         string
	Value      float64
	Percent    bool
	Comparison bool
	Increase   bool
}

// parseCriterion reads a criterion as lighthouse does: spaces are ignored,
// a sign or a percent makes it relative, and a percent without a sign
// means an increase.
func parseCriterion(s string) (criterion, error) {
	c := criterion{Text: s}
	t := strings.ReplaceAll(s, " ", "")
	for _, op := range []string{"<=", ">=", "<", ">", "="} {
		if strings.HasPrefix(t, op) {
			c.Op, t = op, t[len(op):]
			break
		}
	}
	if c.Op == "" {
		return c, fmt.Errorf("%q does not start with <, <=, =, >= or >", s)
	}
	if rest, ok := strings.CutSuffix(t, "%"); ok {
		c.Percent, c.Comparison, c.Increase, t = true, true, true, rest
	}
	switch {
	case strings.HasPrefix(t, "-"):
		c.Comparison, c.Increase, t = true, false, t[1:]
	case strings.HasPrefix(t, "+"):
		c.Comparison, c.Increase, t = true, true, t[1:]
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || t == "" || strings.ContainsAny(t, "+-eEinfINFxXpP_") {
		return c, fmt.Errorf("%q is not a criterion like <=600, <+10%% or >-5%%", s)
	}
	c.Value = v
	return c, nil
}
