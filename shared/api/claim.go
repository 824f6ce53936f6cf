package api

import (
	"context"
	"net/http"
	"regexp"
)

// ClaimPath is where executors claim a task's work before running it.
const ClaimPath = "/api/controlPlane/v1/task/claim"

// TaskClaims records which workers took on which task (the control plane's
// ClaimTask): the claim lives in the run, so it holds across executor
// instances and restarts.
type TaskClaims interface {
	// ClaimTask answers "claimed", "alreadyClaimed", "done" or "notOpen".
	ClaimTask(ctx context.Context, project, triggeredID, worker string) (string, error)
}

// ClaimRequest is the body of POST ClaimPath.
type ClaimRequest struct {
	Project     string `json:"project"`
	TriggeredID string `json:"triggeredid"`
	Worker      string `json:"worker"`
}

// ClaimResponse is its answer: the worker runs the task's work on
// "claimed" (and "notOpen": no run knows the task), not on
// "alreadyClaimed" or "done".
type ClaimResponse struct {
	Outcome string `json:"outcome"`
}

var claimToken = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$`)

func (a *api) claimTask(w http.ResponseWriter, r *http.Request) error {
	if a.deps.Claims == nil {
		return errorf(http.StatusNotImplemented, "task claims are not served here")
	}
	var req ClaimRequest
	if err := decodeJSON(w, r, 4096, &req, true); err != nil {
		return err
	}
	for name, v := range map[string]string{"project": req.Project, "triggeredid": req.TriggeredID, "worker": req.Worker} {
		if !claimToken.MatchString(v) {
			return badRequest("%s must be 1-128 letters, digits or ._:/- (starting with a letter or digit)", name)
		}
	}
	out, err := a.deps.Claims.ClaimTask(r.Context(), req.Project, req.TriggeredID, req.Worker)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ClaimResponse{Outcome: out})
	return nil
}
