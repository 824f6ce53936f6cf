package keptn

import (
	"errors"
	"fmt"
	"strings"
)

// Prefix starts every Keptn event type.
const Prefix = "sh.keptn.event."

// Kind is the last segment(s) of an event type.
type Kind string

// Event kinds.
const (
	KindTriggered     Kind = "triggered"
	KindStarted       Kind = "started"
	KindStatusChanged Kind = "status.changed"
	KindFinished      Kind = "finished"
	KindInvalidated   Kind = "invalidated"
	// KindAborted is Slipway's notification that tells executors to stop a
	// task (its triggeredid names the task's .triggered); not part of Keptn v1.
	KindAborted Kind = "aborted"
)

// Type is a parsed Keptn event type. A task event has Task set
// (sh.keptn.event.<task>.<kind>); a sequence event has Stage and Sequence set
// (sh.keptn.event.<stage>.<sequence>.<kind>).
type Type struct {
	Task     string
	Stage    string
	Sequence string
	Kind     Kind
}

// IsTask reports whether t is a task event type.
func (t Type) IsTask() bool { return t.Task != "" }

// IsSequence reports whether t is a sequence event type.
func (t Type) IsSequence() bool { return t.Sequence != "" }

// String renders the full event type.
func (t Type) String() string {
	if t.IsTask() {
		return TaskType(t.Task, t.Kind)
	}
	return SequenceType(t.Stage, t.Sequence, t.Kind)
}

// ErrNotKeptn is returned by ParseType for types outside sh.keptn.event.
var ErrNotKeptn = errors.New("not a sh.keptn.event type")

// ParseType parses a Keptn event type. Like Keptn, a type with exactly five
// dot-separated parts is a task event and one with six parts a sequence event;
// `<task>.status.changed` is recognised as a task event kind (Keptn's parser
// mistakes it for a sequence event, which only matters for routing, where
// Slipway ignores status.changed anyway).
func ParseType(s string) (Type, error) {
	if !strings.HasPrefix(s, Prefix) {
		return Type{}, fmt.Errorf("event type %q: %w", s, ErrNotKeptn)
	}
	parts := strings.Split(s[len(Prefix):], ".")
	for _, p := range parts {
		if p == "" {
			return Type{}, fmt.Errorf("event type %q: empty segment", s)
		}
	}
	switch {
	case len(parts) == 3 && parts[1] == "status" && parts[2] == "changed":
		return Type{Task: parts[0], Kind: KindStatusChanged}, nil
	case len(parts) == 2:
		return Type{Task: parts[0], Kind: Kind(parts[1])}, nil
	case len(parts) == 3:
		return Type{Stage: parts[0], Sequence: parts[1], Kind: Kind(parts[2])}, nil
	default:
		return Type{}, fmt.Errorf("event type %q: want sh.keptn.event.<task>.<kind> or sh.keptn.event.<stage>.<sequence>.<kind>", s)
	}
}

// TaskType builds sh.keptn.event.<task>.<kind>.
func TaskType(task string, kind Kind) string { return Prefix + task + "." + string(kind) }

// SequenceType builds sh.keptn.event.<stage>.<sequence>.<kind>.
func SequenceType(stage, sequence string, kind Kind) string {
	return Prefix + stage + "." + sequence + "." + string(kind)
}
