package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Claimer claims a task's work before an executor runs it, so that a
// redelivered .triggered runs once per worker across executor instances
// and restarts (Registry.FirstDelivery only covers one process's life).
type Claimer interface {
	// Claim reports whether the caller should run the work: false when an
	// instance of worker claimed the task before. Errors are transient.
	Claim(ctx context.Context, project, triggeredID, worker string) (bool, error)
}

// ClaimClient claims through Slipway's API (POST
// /api/controlPlane/v1/task/claim), where the control plane stores the
// claim in the run.
//
// An API without the route (Keptn's own: 404, or 501) answers "run": the
// executor then dedupes in memory only, as before. So does "notOpen" (no
// run knows the task): a .triggered a client sent itself, which Keptn's
// executors always ran.
type ClaimClient struct {
	BaseURL string // the API, e.g. http://api.keptn:8080
	Token   string
	HTTP    *http.Client // nil: 10 s timeout
}

// Claim implements Claimer.
func (c *ClaimClient) Claim(ctx context.Context, project, triggeredID, worker string) (bool, error) {
	body, err := json.Marshal(map[string]string{"project": project, "triggeredid": triggeredID, "worker": worker})
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/api/controlPlane/v1/task/claim", bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("claim task %s: %w", triggeredID, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.Token != "" {
		req.Header.Set("x-token", c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	res, err := hc.Do(req)
	if err != nil {
		return false, fmt.Errorf("claim task %s: %w", triggeredID, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	switch {
	case res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusNotImplemented:
		return true, nil
	case res.StatusCode/100 != 2:
		return false, fmt.Errorf("claim task %s: API answered %d: %.200s", triggeredID, res.StatusCode, raw)
	}
	var out struct {
		Outcome string `json:"outcome"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return false, fmt.Errorf("claim task %s: %w", triggeredID, err)
	}
	// "claimed" and "notOpen" run; "alreadyClaimed" and "done" (the task is
	// over: a late redelivery) do not.
	return out.Outcome != "alreadyClaimed" && out.Outcome != "done", nil
}
