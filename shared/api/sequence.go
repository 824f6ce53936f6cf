package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/store"
)

// maxPageSize caps page sizes of store-backed listings.
const maxPageSize = 100

// parseTime accepts Keptn's ISO 8601 forms: RFC 3339 with or without
// fractional seconds, and 2006-01-02T15:04:05 (UTC).
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 time", s)
}

func timeParam(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return time.Time{}, badRequest("%s: %v", name, err)
	}
	return t, nil
}

func (a *api) sequenceStates(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := StateFilter{Name: q.Get("name"), State: q.Get("state")}
	var err error
	if f.FromTime, err = timeParam(r, "fromTime"); err != nil {
		return err
	}
	if f.BeforeTime, err = timeParam(r, "beforeTime"); err != nil {
		return err
	}
	if v := q.Get("keptnContext"); v != "" {
		for _, c := range strings.Split(strings.ReplaceAll(v, " ", ""), ",") {
			if c != "" {
				f.KeptnContexts = append(f.KeptnContexts, c)
			}
		}
	}
	// Bounded: no pageSize (Keptn: all) or one above maxPageSize is a page
	// of maxPageSize with a nextPageKey, so no request reads a whole project.
	if f.PageSize, err = pageSizeParam(r, "pageSize", maxPageSize, 0); err != nil {
		return err
	}
	f.PageSize = min(f.PageSize, maxPageSize)
	if f.NextPageKey, err = offsetParam(r, "nextPageKey"); err != nil {
		return err
	}
	items, total, err := a.deps.Sequences.States(r.Context(), r.PathValue("project"), f)
	if err != nil {
		return fmt.Errorf("sequence states: %w", err)
	}
	if items == nil {
		items = []json.RawMessage{}
	}
	out := map[string]any{"states": items}
	if next := f.NextPageKey + len(items); f.PageSize > 0 && next < total {
		out["nextPageKey"] = next
	}
	if total > 0 {
		out["totalCount"] = total
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *api) sequenceControl(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		State string `json:"state"`
		Stage string `json:"stage"`
	}
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req, false); err != nil {
		return err
	}
	if req.State == "" {
		return badRequest("state must be one of abort, pause, resume")
	}
	if err := a.deps.Sequences.Control(r.Context(), r.PathValue("project"), r.PathValue("keptnContext"), req.State, req.Stage); err != nil {
		a.log.Error("control sequence", zap.String("keptnContext", r.PathValue("keptnContext")), zap.Error(err))
		return errorf(http.StatusInternalServerError, "Unable to control sequence: %s", req.State)
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// projectExists answers 404 for an unknown project.
func (a *api) projectExists(r *http.Request, name string, msg string) error {
	ok, err := a.hasProject(r.Context(), name)
	if err != nil {
		return fmt.Errorf("load project %s: %w", name, err)
	}
	if !ok {
		return notFound("%s", msg)
	}
	return nil
}

// maxUnpaged bounds "pageSize=0 means all" listings; past it a nextPageKey
// is returned.
const maxUnpaged = 1000

func (a *api) sequenceExecutions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	rq := store.RunQuery{Project: q.Get("project"), Stage: q.Get("stage"), Service: q.Get("service"),
		Sequence: q.Get("name"), State: q.Get("status"), KeptnContext: q.Get("keptnContext")}
	if rq.Project == "" {
		return badRequest("project name must not be empty")
	}
	size, err := pageSizeParam(r, "pageSize", 0, maxUnpaged)
	if err != nil {
		return err
	}
	if err := a.projectExists(r, rq.Project, "project not found"); err != nil {
		return err
	}
	token := tokenParam(r, "nextPageKey")
	first := token == ""
	items := []json.RawMessage{}
	for {
		want := size
		if want == 0 {
			want = min(maxPageSize, maxUnpaged-len(items))
		}
		page, next, err := a.deps.Sequences.Executions(r.Context(), rq, store.Page{Size: want, Token: token})
		if err != nil {
			return fmt.Errorf("sequence executions: %w", err)
		}
		items = append(items, page...)
		token = next
		if size > 0 || next == "" || len(items) >= maxUnpaged {
			break
		}
	}
	out := map[string]any{"sequenceExecutions": items, "pageSize": len(items)}
	if token != "" {
		out["nextPageKey"] = token
	} else if first {
		out["totalCount"] = len(items)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *api) openTriggered(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	oq := store.OpenQuery{Type: r.PathValue("eventType"), Project: q.Get("project"), Stage: q.Get("stage"),
		Service: q.Get("service"), TaskTriggeredID: q.Get("eventID"), Until: a.deps.Clock()}
	size, err := pageSizeParam(r, "pageSize", defaultPageSize, 0)
	if err != nil {
		return err
	}
	size = min(size, maxPageSize)
	if oq.Project != "" {
		if err := a.projectExists(r, oq.Project, "Project not found: "+oq.Project); err != nil {
			return err
		}
	}
	first := tokenParam(r, "nextPageKey") == ""
	evs, next, err := a.deps.Sequences.OpenTriggered(r.Context(), oq, store.Page{Size: size, Token: tokenParam(r, "nextPageKey")})
	if err != nil {
		return fmt.Errorf("open triggered events: %w", err)
	}
	if evs == nil {
		evs = []event.Event{}
	}
	out := map[string]any{"events": evs}
	if next == "" {
		out["nextPageKey"] = "0"
		if first {
			out["totalCount"] = len(evs)
		}
	} else {
		out["nextPageKey"] = next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
