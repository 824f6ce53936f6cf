// Package watch follows one keptnContext until its sequences end: a live
// view on a terminal, plain lines on a pipe, and an exit code CI can gate on.
package watch

import (
	"fmt"
	"strings"
	"time"
)

// Exit codes of `slipway watch`.
const (
	ExitPass    = 0
	ExitFail    = 1
	ExitWarning = 2
	ExitAborted = 3 // aborted, timed out, or the watch's own --timeout
)

// Snapshot is what the view shows at one moment.
type Snapshot struct {
	Found    bool // the context has runs
	Project  string
	Sequence string
	Service  string
	Context  string
	State    string // Keptn's SequenceState.state: triggered, waiting, started, paused, finished, aborted, timedOut
	Started  time.Time
	Ended    time.Time // zero while running
	Runs     []Run
}

// Run is one stage's sequence execution.
type Run struct {
	Stage    string
	Sequence string
	State    string // triggered, started, waitingForApproval, paused, finished, timedOut
	Result   string // once finished
	Started  time.Time
	Ended    time.Time
	Tasks    []Task
}

// Task is one task of a run.
type Task struct {
	Name    string
	Status  string // pending, running, done
	Result  string // done: pass, warning, fail
	Started time.Time
	Ended   time.Time
}

// Task and run statuses.
const (
	Pending = "pending"
	Running = "running"
	Done    = "done"
)

// Over reports whether the context reached an end state.
func (s Snapshot) Over() bool {
	switch s.State {
	case "finished", "aborted", "timedOut":
		return s.Found
	}
	return false
}

// Result is the context's result: the worst run result (fail > warning >
// pass), or "aborted"/"timedOut".
func (s Snapshot) Result() string {
	switch s.State {
	case "aborted", "timedOut":
		return s.State
	}
	res := "pass"
	for _, r := range s.Runs {
		res = worse(res, r.Result)
	}
	return res
}

// ExitCode maps an ended snapshot to the watch exit code.
func (s Snapshot) ExitCode() int {
	switch s.Result() {
	case "pass":
		return ExitPass
	case "warning":
		return ExitWarning
	case "fail":
		return ExitFail
	}
	return ExitAborted
}

func rank(r string) int {
	switch r {
	case "fail", "failed":
		return 2
	case "warning":
		return 1
	}
	return 0
}

func worse(a, b string) string {
	if rank(b) > rank(a) {
		return normResult(b)
	}
	return a
}

func normResult(r string) string {
	if r == "failed" {
		return "fail"
	}
	return r
}

// Progress counts the finished tasks of a run.
func (r Run) Progress() (done, total int) {
	for _, t := range r.Tasks {
		if t.Status == Done {
			done++
		}
	}
	return done, len(r.Tasks)
}

// elapsed formats the time from start to end (or now) for people:
// 850ms, 12.3s, 4m05s, 1h02m.
func elapsed(start, end, now time.Time) string {
	if start.IsZero() {
		return ""
	}
	if end.IsZero() {
		end = now
	}
	d := end.Sub(start)
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// Frame is the live view of a snapshot at now, one string per line.
func Frame(s Snapshot, now time.Time) []string {
	if !s.Found {
		return []string{fmt.Sprintf("keptn-context %s: waiting for the sequence to start", s.Context)}
	}
	lines := []string{
		fmt.Sprintf("%s %s/%s  context %s", s.Sequence, s.Project, s.Service, s.Context),
		fmt.Sprintf("state %s  elapsed %s", s.State, elapsed(s.Started, s.Ended, now)),
	}
	for _, r := range s.Runs {
		done, total := r.Progress()
		state := r.State
		if r.Result != "" && r.State == "finished" {
			state = "finished " + r.Result
		}
		lines = append(lines, fmt.Sprintf("  %-14s %-10s %-18s %d/%d tasks  %s",
			r.Stage, r.Sequence, state, done, total, elapsed(r.Started, r.Ended, now)))
		for _, t := range r.Tasks {
			mark, what, took := "  ", t.Status, ""
			switch t.Status {
			case Done:
				mark, what, took = markOf(t.Result), t.Result, elapsed(t.Started, t.Ended, now)
			case Running:
				mark, took = "> ", elapsed(t.Started, time.Time{}, now)
			}
			lines = append(lines, strings.TrimRight(fmt.Sprintf("    %s%-16s %-8s %s", mark, t.Name, what, took), " "))
		}
	}
	if s.Over() {
		lines = append(lines, "result "+s.Result())
	}
	return lines
}

func markOf(result string) string {
	switch rank(result) {
	case 2:
		return "x "
	case 1:
		return "! "
	}
	return "+ "
}

// Changes lists, as plain lines, what happened between prev and cur: the
// pipe output, where a redrawn view would be noise.
func Changes(prev, cur Snapshot, now time.Time) []string {
	var out []string
	if cur.Found && !prev.Found {
		out = append(out, fmt.Sprintf("sequence %s of %s/%s context %s: %s", cur.Sequence, cur.Project, cur.Service, cur.Context, cur.State))
	}
	old := map[string]Run{}
	for _, r := range prev.Runs {
		old[r.Stage+"/"+r.Sequence] = r
	}
	for _, r := range cur.Runs {
		p, seen := old[r.Stage+"/"+r.Sequence]
		if !seen || p.State != r.State {
			out = append(out, fmt.Sprintf("%s %s: %s", r.Stage, r.Sequence, r.State))
		}
		pt := map[string]Task{}
		for _, t := range p.Tasks {
			pt[t.Name] = t
		}
		for _, t := range r.Tasks {
			o := pt[t.Name]
			if o.Status == t.Status || t.Status == Pending {
				continue
			}
			if t.Status == Running {
				out = append(out, fmt.Sprintf("%s %s %s: running", r.Stage, r.Sequence, t.Name))
			} else {
				out = append(out, strings.TrimRight(fmt.Sprintf("%s %s %s: %s %s", r.Stage, r.Sequence, t.Name, t.Result, elapsed(t.Started, t.Ended, now)), " "))
			}
		}
		if r.State == "finished" && (p.State != "finished" || !seen) {
			out = append(out, strings.TrimRight(fmt.Sprintf("%s %s: result %s %s", r.Stage, r.Sequence, r.Result, elapsed(r.Started, r.Ended, now)), " "))
		}
	}
	if cur.Over() && !prev.Over() {
		out = append(out, fmt.Sprintf("sequence %s %s: result %s after %s", cur.Sequence, cur.State, cur.Result(), elapsed(cur.Started, cur.Ended, now)))
	} else if cur.State != prev.State && prev.Found {
		out = append(out, fmt.Sprintf("sequence %s: %s", cur.Sequence, cur.State))
	}
	return out
}
