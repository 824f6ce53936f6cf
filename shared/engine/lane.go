package engine

import (
	"sort"
	"time"
)

// LaneKey names a lane: one (project, stage, service).
type LaneKey struct{ Project, Stage, Service string }

// Lane serialises the runs of one lane: at most one run holds it (state
// started); the others wait in FIFO order of their trigger time. Runs waiting
// for approval or paused hold nothing and wait nowhere.
type Lane struct {
	Holder  string   `json:"holder,omitempty"`
	Waiting []Waiter `json:"waiting,omitempty"`
}

// Waiter is a run waiting for its lane.
type Waiter struct {
	RunID       string    `json:"runId"`
	TriggeredAt time.Time `json:"triggeredAt"`
}

// admit grants the lane to w if it is free, else queues w in trigger-time
// order (ties by run id, so the order is total and deterministic).
func (l *Lane) admit(w Waiter) bool {
	if l.Holder == "" || l.Holder == w.RunID {
		l.Holder = w.RunID
		return true
	}
	for _, x := range l.Waiting {
		if x.RunID == w.RunID {
			return false
		}
	}
	l.Waiting = append(l.Waiting, w)
	sort.SliceStable(l.Waiting, func(i, j int) bool {
		a, b := l.Waiting[i], l.Waiting[j]
		if !a.TriggeredAt.Equal(b.TriggeredAt) {
			return a.TriggeredAt.Before(b.TriggeredAt)
		}
		return a.RunID < b.RunID
	})
	return false
}

// leave removes a run from the lane. If it held the lane, the first waiter
// becomes the holder and is returned.
func (l *Lane) leave(runID string) (next string) {
	for i, x := range l.Waiting {
		if x.RunID == runID {
			l.Waiting = append(l.Waiting[:i], l.Waiting[i+1:]...)
			break
		}
	}
	if l.Holder != runID {
		return ""
	}
	l.Holder = ""
	if len(l.Waiting) == 0 {
		return ""
	}
	l.Holder = l.Waiting[0].RunID
	l.Waiting = l.Waiting[1:]
	return l.Holder
}

// Empty reports whether nothing holds or waits for the lane.
func (l *Lane) Empty() bool { return l.Holder == "" && len(l.Waiting) == 0 }
