package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
)

// logEntry is Keptn's LogEntry (go-utils models.LogEntry); gitcommitid is
// kept when a client sends it.
type logEntry struct {
	IntegrationID string    `json:"integrationid"`
	Message       string    `json:"message"`
	Time          time.Time `json:"time"`
	KeptnContext  string    `json:"shkeptncontext"`
	Task          string    `json:"task"`
	TriggeredID   string    `json:"triggeredid"`
	GitCommitID   string    `json:"gitcommitid,omitempty"`
}

// maxLogFieldBytes caps every log field but the message (ids, task names).
const maxLogFieldBytes = 1024

// checkLog enforces the size limits of entry i; the message itself is never
// echoed, it may hold anything an integration printed.
func (a *api) checkLog(i int, l *logEntry) error {
	if len(l.Message) > a.cfg.MaxLogMessageBytes {
		return badRequest("logs[%d].message is %d bytes, more than the %d allowed", i, len(l.Message), a.cfg.MaxLogMessageBytes)
	}
	for _, f := range [][2]string{{"integrationid", l.IntegrationID}, {"shkeptncontext", l.KeptnContext},
		{"task", l.Task}, {"triggeredid", l.TriggeredID}, {"gitcommitid", l.GitCommitID}} {
		if len(f[1]) > maxLogFieldBytes {
			return badRequest("logs[%d].%s is longer than %d bytes", i, f[0], maxLogFieldBytes)
		}
	}
	return nil
}

// POST /api/controlPlane/v1/log
func (a *api) createLogs(w http.ResponseWriter, r *http.Request) error {
	st, err := a.integrationStore()
	if err != nil {
		return err
	}
	var req struct {
		Logs []logEntry `json:"logs"`
	}
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req, false); err != nil {
		return err
	}
	if len(req.Logs) > a.cfg.MaxLogsPerRequest {
		return badRequest("a request may carry at most %d logs, this one has %d", a.cfg.MaxLogsPerRequest, len(req.Logs))
	}
	now := a.now()
	recs := make([]*store.LogEntry, 0, len(req.Logs))
	for i := range req.Logs {
		l := &req.Logs[i]
		if err := a.checkLog(i, l); err != nil {
			return err
		}
		// Keptn stamps entries without a time (the go-sdk sends none).
		if l.Time.IsZero() {
			l.Time = now
		}
		l.Time = l.Time.UTC().Truncate(time.Microsecond)
		body, err := json.Marshal(l)
		if err != nil {
			return fmt.Errorf("encode log: %w", err)
		}
		recs = append(recs, &store.LogEntry{ID: a.deps.NewID(), IntegrationID: l.IntegrationID, Time: l.Time, Body: body})
	}
	if err := st.AppendLogs(r.Context(), recs); err != nil {
		return fmt.Errorf("store logs: %w", err)
	}
	a.purgeExpired(r.Context())
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// GET /api/controlPlane/v1/log: newest first, Keptn's integer offsets, time
// bounds inclusive as in Keptn; entries older than LOG_TTL are not returned.
func (a *api) listLogs(w http.ResponseWriter, r *http.Request) error {
	st, err := a.integrationStore()
	if err != nil {
		return err
	}
	q := store.LogQuery{IntegrationID: r.URL.Query().Get("integrationId")}
	if q.From, err = timeParam(r, "fromTime"); err != nil {
		return err
	}
	if q.Until, err = timeParam(r, "beforeTime"); err != nil {
		return err
	}
	if oldest := a.now().Add(-a.cfg.LogTTL); q.From.Before(oldest) {
		q.From = oldest
	}
	size, err := pageSizeParam(r, "pageSize", 0, maxUnpaged)
	if err != nil {
		return err
	}
	offset, err := offsetParam(r, "nextPageKey")
	if err != nil {
		return err
	}
	limit := size
	if limit == 0 {
		limit = maxUnpaged
	}
	logs, total, err := st.ListLogs(r.Context(), q, offset, limit)
	if err != nil {
		return fmt.Errorf("list logs: %w", err)
	}
	items := make([]json.RawMessage, 0, len(logs))
	for _, l := range logs {
		items = append(items, l.Body)
	}
	next := 0
	if end := offset + len(items); len(items) > 0 && end < total {
		next = end
	}
	// Numbers, not strings: go-utils decodes nextPageKey into an int64.
	writeJSON(w, http.StatusOK, map[string]any{"nextPageKey": next, "pageSize": len(items), "totalCount": total, "logs": items})
	return nil
}

// DELETE /api/controlPlane/v1/log is refused, as Keptn's gateway refused it
// (the shipyard-controller endpoint was internal).
func (a *api) deleteLogs(http.ResponseWriter, *http.Request) error {
	return errorf(http.StatusForbidden, "deleting logs is not allowed")
}
