// Package shipyard parses and validates Keptn shipyard files
// (spec.keptn.sh/0.2.x) and answers the questions the engine asks of them:
// which sequence runs in a stage, and which sequences follow a finished one.
package shipyard

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Shipyard is a parsed shipyard.yaml.
type Shipyard struct {
	APIVersion string   `yaml:"apiVersion" json:"apiVersion"`
	Kind       string   `yaml:"kind" json:"kind"`
	Metadata   Metadata `yaml:"metadata" json:"metadata"`
	Spec       Spec     `yaml:"spec" json:"spec"`
}

// Metadata of a shipyard.
type Metadata struct {
	Name string `yaml:"name" json:"name"`
}

// Spec holds the stages in order.
type Spec struct {
	Stages []Stage `yaml:"stages" json:"stages"`
}

// Stage is one environment with its sequences.
type Stage struct {
	Name      string     `yaml:"name" json:"name"`
	Sequences []Sequence `yaml:"sequences,omitempty" json:"sequences,omitempty"`
}

// Sequence is an ordered list of tasks, optionally started by another
// sequence's .finished event.
type Sequence struct {
	Name        string    `yaml:"name" json:"name"`
	TriggeredOn []Trigger `yaml:"triggeredOn,omitempty" json:"triggeredOn,omitempty"`
	Tasks       []Task    `yaml:"tasks" json:"tasks"`
	// Timeout is Slipway's extension: the longest a whole run may take.
	Timeout string `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// Task is one step of a sequence.
type Task struct {
	Name           string         `yaml:"name" json:"name"`
	TriggeredAfter string         `yaml:"triggeredAfter,omitempty" json:"triggeredAfter,omitempty"`
	Properties     map[string]any `yaml:"properties,omitempty" json:"properties,omitempty"`
	// Timeout is Slipway's extension: the longest the task may run after its
	// .triggered was sent, until its .finished (Keptn only had a started-timeout).
	Timeout string `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// Trigger names the sequence event that starts a sequence.
type Trigger struct {
	Event    string   `yaml:"event" json:"event"`
	Selector Selector `yaml:"selector,omitempty" json:"selector,omitempty"`
}

// Selector narrows a trigger by result.
type Selector struct {
	Match map[string]string `yaml:"match,omitempty" json:"match,omitempty"`
}

// FieldError is a validation error that names the offending field.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// ErrInvalid wraps every validation failure so callers can map it to HTTP 400.
var ErrInvalid = errors.New("invalid shipyard")

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrInvalid, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

var (
	entityName       = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)
	entityNameSingle = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
)

// ValidateEntityName applies Keptn's rule for project, stage and service names.
func ValidateEntityName(name string) error {
	if entityName.MatchString(name) || entityNameSingle.MatchString(name) {
		return nil
	}
	return fmt.Errorf("%q must start with a lower case letter and contain only lower case letters, digits and '-', not ending in '-'", name)
}

// Parse decodes and validates a shipyard. Unknown fields are ignored, as in
// Keptn, so shipyards written for newer or older 0.2.x versions still load.
func Parse(raw []byte) (*Shipyard, error) {
	var s Shipyard
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: yaml: %v", ErrInvalid, err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Validate checks the rules Keptn enforces, plus Slipway's own for fields it
// interprets (durations, names without dots, trigger event syntax).
func (s *Shipyard) Validate() error {
	if err := validateAPIVersion(s.APIVersion); err != nil {
		return err
	}
	if len(s.Spec.Stages) == 0 {
		return invalid("spec.stages", "shipyard must contain at least one stage")
	}
	for i, st := range s.Spec.Stages {
		f := fmt.Sprintf("spec.stages[%d]", i)
		if st.Name == "" {
			return invalid(f+".name", "all stages within the shipyard must have a name")
		}
		if err := ValidateEntityName(st.Name); err != nil {
			return invalid(f+".name", "%v", err)
		}
		for j, seq := range st.Sequences {
			sf := fmt.Sprintf("%s.sequences[%d]", f, j)
			if err := validatePart(sf+".name", seq.Name); err != nil {
				return err
			}
			if err := validateDuration(sf+".timeout", seq.Timeout); err != nil {
				return err
			}
			for k, t := range seq.TriggeredOn {
				tf := fmt.Sprintf("%s.triggeredOn[%d].event", sf, k)
				p := strings.Split(t.Event, ".")
				if len(p) != 3 || p[0] == "" || p[1] == "" || p[2] != "finished" {
					return invalid(tf, "want <stage>.<sequence>.finished, got %q", t.Event)
				}
			}
			for k, t := range seq.Tasks {
				tf := fmt.Sprintf("%s.tasks[%d]", sf, k)
				if err := validatePart(tf+".name", t.Name); err != nil {
					return err
				}
				if err := validateDuration(tf+".triggeredAfter", t.TriggeredAfter); err != nil {
					return err
				}
				if err := validateDuration(tf+".timeout", t.Timeout); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func validatePart(field, name string) error {
	if name == "" {
		return invalid(field, "must not be empty")
	}
	if strings.ContainsAny(name, ". \t\n/") {
		return invalid(field, "%q must not contain dots, slashes or blanks (it becomes part of an event type)", name)
	}
	return nil
}

func validateDuration(field, d string) error {
	if d == "" {
		return nil
	}
	v, err := time.ParseDuration(d)
	if err != nil || v < 0 {
		return invalid(field, "%q is not a duration like 90s or 10m", d)
	}
	return nil
}

// validateAPIVersion requires spec.keptn.sh/<semver> with version >= 0.2.
func validateAPIVersion(v string) error {
	ver := strings.TrimPrefix(v, "spec.keptn.sh/")
	parts := strings.SplitN(strings.TrimPrefix(ver, "v"), ".", 3)
	if len(parts) < 2 {
		return invalid("apiVersion", "Invalid shipyard APIVersion %q", v)
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || (len(parts) == 3 && !isNum(parts[2])) {
		return invalid("apiVersion", "Invalid shipyard APIVersion %q", v)
	}
	if major == 0 && minor < 2 {
		return invalid("apiVersion", "Invalid shipyard APIVersion %q: need spec.keptn.sh/0.2.0 or newer", v)
	}
	return nil
}

func isNum(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ValidateUpdate enforces that an update keeps the set of stage names (order
// may change), as Keptn does.
func ValidateUpdate(old, updated *Shipyard) error {
	if len(old.Spec.Stages) != len(updated.Spec.Stages) {
		return invalid("spec.stages", "stage name cannot be changed or removed")
	}
	names := map[string]bool{}
	for _, s := range old.Spec.Stages {
		names[s.Name] = true
	}
	for _, s := range updated.Spec.Stages {
		if !names[s.Name] {
			return invalid("spec.stages", "stage name cannot be changed or removed")
		}
	}
	return nil
}

// Stage returns the first stage with the given name (duplicates: first wins).
func (s *Shipyard) Stage(name string) (*Stage, bool) {
	for i := range s.Spec.Stages {
		if s.Spec.Stages[i].Name == name {
			return &s.Spec.Stages[i], true
		}
	}
	return nil, false
}

// EvaluationSequence is the sequence Keptn synthesises for stages without
// their own "evaluation" sequence.
const EvaluationSequence = "evaluation"

// Sequence finds a sequence in a stage; a stage without an "evaluation"
// sequence gets the built-in one with a single evaluation task.
func (st *Stage) Sequence(name string) (*Sequence, bool) {
	for i := range st.Sequences {
		if st.Sequences[i].Name == name {
			return &st.Sequences[i], true
		}
	}
	if name == EvaluationSequence {
		return &Sequence{Name: EvaluationSequence, Tasks: []Task{{Name: "evaluation"}}}, true
	}
	return nil, false
}

// FollowUp is a sequence to trigger after another finished.
type FollowUp struct {
	Stage    string
	Sequence string
}

// FollowUps lists, in shipyard order, the sequences triggered when sequence
// seq of stage finished with result; resultOf answers "<task>.result"
// selector keys with the result of that task in the run ("" if it did not
// run). Without a selector a follow-up fires on pass and warning (Keptn's
// code, not its spec text).
func (s *Shipyard) FollowUps(stage, seq, result string, resultOf func(task string) string) []FollowUp {
	want := stage + "." + seq + ".finished"
	var out []FollowUp
	for _, st := range s.Spec.Stages {
		for _, sq := range st.Sequences {
			for _, t := range sq.TriggeredOn {
				if t.Event == want && t.Selector.Matches(result, resultOf) {
					out = append(out, FollowUp{Stage: st.Name, Sequence: sq.Name})
					break
				}
			}
		}
	}
	return out
}

// Matches applies a selector to a finished run: without match keys it fires
// on pass and warning; "result" compares the run result, "<task>.result" the
// result resultOf reports for that task; any matching key fires.
func (sel Selector) Matches(result string, resultOf func(task string) string) bool {
	if len(sel.Match) == 0 {
		return result == "pass" || result == "warning"
	}
	for k, v := range sel.Match {
		switch {
		case k == "result":
			if result == v {
				return true
			}
		case strings.HasSuffix(k, ".result"):
			if r := resultOf(strings.TrimSuffix(k, ".result")); r != "" && r == v {
				return true
			}
		}
	}
	return false
}

// Duration parses an optional duration field validated by Validate; "" is 0.
func Duration(d string) time.Duration {
	v, _ := time.ParseDuration(d)
	return v
}
