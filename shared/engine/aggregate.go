package engine

import "github.com/slipwayhq/slipway/shared/keptn"

// taskOutcome aggregates the .finished events of one task (Keptn's rule):
//   - result: any result other than pass/warning (empty included) is fail,
//     else any warning is warning, else pass;
//   - status: any errored, else any aborted, else all succeeded is succeeded,
//     else unknown, which forces the result to fail.
func taskOutcome(events []TaskEvent) (result, status string) {
	result, status = string(keptn.ResultPass), string(keptn.StatusSucceeded)
	var errored, aborted, unknown, warning, fail bool
	for _, e := range events {
		if !isFinished(e.EventType) {
			continue
		}
		switch keptn.Result(e.Result) {
		case keptn.ResultPass:
		case keptn.ResultWarning:
			warning = true
		default:
			fail = true
		}
		switch keptn.Status(e.Status) {
		case keptn.StatusSucceeded:
		case keptn.StatusErrored:
			errored = true
		case keptn.StatusAborted:
			aborted = true
		default:
			unknown = true
		}
	}
	switch {
	case fail:
		result = string(keptn.ResultFail)
	case warning:
		result = string(keptn.ResultWarning)
	}
	switch {
	case errored:
		status = string(keptn.StatusErrored)
	case aborted:
		status = string(keptn.StatusAborted)
	case unknown:
		status, result = string(keptn.StatusUnknown), string(keptn.ResultFail)
	}
	return result, status
}

// resultRank orders results by severity for the run result (decision 6: the
// run's result is its worst task result).
func resultRank(r string) int {
	switch keptn.Result(r) {
	case keptn.ResultPass:
		return 0
	case keptn.ResultWarning:
		return 1
	default:
		return 2
	}
}

func statusRank(s string) int {
	switch keptn.Status(s) {
	case keptn.StatusSucceeded:
		return 0
	case keptn.StatusUnknown:
		return 1
	case keptn.StatusAborted:
		return 2
	default:
		return 3
	}
}

// Worst returns the worst result and status over a run's completed tasks:
// the run's result (decision 6). Views outside the engine call it too.
func Worst(tasks []TaskResult) (result, status string) {
	result, status = string(keptn.ResultPass), string(keptn.StatusSucceeded)
	for _, t := range tasks {
		if resultRank(t.Result) > resultRank(result) {
			result = t.Result
		}
		if statusRank(t.Status) > statusRank(status) {
			status = t.Status
		}
	}
	return result, status
}

// completes reports whether the events complete the task: at least one
// .finished and no fewer .finished than .started (decision 1: a .finished
// without a .started counts as both).
func completes(events []TaskEvent) bool {
	var started, finished int
	for _, e := range events {
		if isFinished(e.EventType) {
			finished++
		} else {
			started++
		}
	}
	return finished > 0 && finished >= started
}

func isFinished(eventType string) bool {
	t, err := keptn.ParseType(eventType)
	return err == nil && t.Kind == keptn.KindFinished
}
