package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/ceio"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/store"
)

// GET /api/mongodb-datastore/event: the event history, newest first.
func (a *api) listEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if q.Get("root") != "" {
		return badRequest("root is not supported; use /api/controlPlane/v1/sequence/{project} for the sequence list")
	}
	eq := store.EventQuery{Project: q.Get("project"), KeptnContext: q.Get("keptnContext"), Type: q.Get("type"),
		Stage: q.Get("stage"), Service: q.Get("service"), ID: q.Get("eventID"), Source: q.Get("source")}
	var err error
	if eq.From, err = timeParam(r, "fromTime"); err != nil {
		return err
	}
	if eq.Before, err = timeParam(r, "beforeTime"); err != nil {
		return err
	}
	size, err := pageSizeParam(r, "pageSize", defaultPageSize, maxPageSize)
	if err != nil {
		return err
	}
	offset, err := offsetParam(r, "nextPageKey")
	if err != nil {
		return err
	}
	out := map[string]any{"events": []json.RawMessage{}, "nextPageKey": "0", "pageSize": 0}
	if eq.Project == "" && eq.KeptnContext == "" { // Keptn: no collection to read from
		out["totalCount"] = 0
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	evs, next, err := a.eventPage(r.Context(), eq, offset, size)
	if err != nil {
		return err
	}
	items := make([]json.RawMessage, 0, len(evs))
	for _, e := range evs {
		items = append(items, e.Body)
	}
	out["events"], out["pageSize"] = items, len(items)
	if next > 0 {
		out["nextPageKey"] = strconv.Itoa(next)
	} else {
		// The last page: the count is known without counting.
		out["totalCount"] = offset + len(items)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// GET /api/mongodb-datastore/event/type/{eventType}?filter=...: the newest
// events of one type matching a filter. Indexed keys go to the store; other
// keys are matched on the event JSON.
func (a *api) eventsByType(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	terms, err := parseFilter(q.Get("filter"))
	if err != nil {
		return badRequest("invalid filter: %v", err)
	}
	limit, err := pageSizeParam(r, "limit", defaultPageSize, maxPageSize)
	if err != nil {
		return err
	}
	eq := store.EventQuery{Type: r.PathValue("eventType")}
	if eq.From, err = timeParam(r, "fromTime"); err != nil {
		return err
	}
	var post []filterTerm
	for _, t := range terms {
		single := len(t.Values) == 1
		switch {
		case t.Key == "data.project" && single && eq.Project == "":
			eq.Project = t.Values[0]
		case t.Key == "shkeptncontext" && single && eq.KeptnContext == "":
			eq.KeptnContext = t.Values[0]
		case t.Key == "data.stage" && single && eq.Stage == "":
			eq.Stage = t.Values[0]
		case t.Key == "data.service" && eq.Service == "" && eq.Services == nil:
			if single {
				eq.Service = t.Values[0]
			} else {
				eq.Services = t.Values
			}
		case t.Key == "source" && single && eq.Source == "":
			eq.Source = t.Values[0]
		case t.Key == "triggeredid" && single && eq.TriggeredID == "":
			eq.TriggeredID = t.Values[0]
		case t.Key == "id" && single && eq.ID == "":
			eq.ID = t.Values[0]
		default:
			post = append(post, t)
		}
	}
	if eq.Project == "" && eq.KeptnContext == "" {
		return badRequest("invalid filter: it must name data.project or shkeptncontext")
	}
	excludeInvalidated := q.Get("excludeInvalidated") == "true"
	// One query per task type, not per event: the ids each task's
	// .invalidated events name, read once (bounded; past the bound, that
	// task falls back to asking per id).
	type invSet struct {
		ids      map[string]bool
		complete bool
	}
	invalidated := map[string]*invSet{} // project + task
	isInvalidated := func(e *store.Event) (bool, error) {
		if e.TriggeredID == "" {
			return false, nil
		}
		t, err := keptn.ParseType(e.Type)
		if err != nil || !t.IsTask() {
			return false, nil
		}
		typ := keptn.TaskType(t.Task, keptn.KindInvalidated)
		key := e.Project + "\x00" + t.Task
		set, ok := invalidated[key]
		if !ok {
			set = &invSet{ids: map[string]bool{}}
			p := store.Page{Size: maxPageSize}
			for n := 0; ; {
				inv, next, err := a.deps.Store.ListEvents(r.Context(), store.EventQuery{Project: e.Project, Type: typ}, p)
				if err != nil {
					return false, fmt.Errorf("list invalidated events: %w", err)
				}
				for _, x := range inv {
					set.ids[x.TriggeredID] = true
				}
				if n += len(inv); next == "" {
					set.complete = true
					break
				}
				if n >= maxInvalidatedScan {
					break
				}
				p.Token = next
			}
			invalidated[key] = set
		}
		if set.ids[e.TriggeredID] || set.complete {
			return set.ids[e.TriggeredID], nil
		}
		inv, _, err := a.deps.Store.ListEvents(r.Context(), store.EventQuery{Project: e.Project,
			Type: typ, TriggeredID: e.TriggeredID}, store.Page{Size: 1})
		if err != nil {
			return false, fmt.Errorf("list invalidated events: %w", err)
		}
		set.ids[e.TriggeredID] = len(inv) > 0
		return len(inv) > 0, nil
	}

	items := []json.RawMessage{}
	page := store.Page{Size: maxPageSize}
	scanned := 0
	for len(items) < limit && scanned < maxScan {
		evs, next, err := a.deps.Store.ListEvents(r.Context(), eq, page)
		if err != nil {
			return fmt.Errorf("list events: %w", err)
		}
		for _, e := range evs {
			scanned++
			if len(post) > 0 {
				var m map[string]any
				if json.Unmarshal(e.Body, &m) != nil {
					continue
				}
				ok := true
				for _, t := range post {
					ok = ok && t.matches(m)
				}
				if !ok {
					continue
				}
			}
			if excludeInvalidated {
				inv, err := isInvalidated(e)
				if err != nil {
					return err
				}
				if inv {
					continue
				}
			}
			items = append(items, e.Body)
			if len(items) == limit {
				break
			}
		}
		if next == "" {
			break
		}
		page.Token = next
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": items})
	return nil
}

// maxInvalidatedScan bounds the .invalidated events of one task read at
// once for excludeInvalidated.
const maxInvalidatedScan = 1000

func (a *api) hasProject(ctx context.Context, name string) (bool, error) {
	return a.caps.HasProject(ctx, name)
}

// POST /internal/history: the broker delivers every event here (binary or
// structured CloudEvents); Keptn events are appended to the history. This
// path has no x-token but a history token of its own (historyAuth): it is
// reached by the broker's Trigger inside the cluster (or on loopback in the
// local runtime). Events without a project are refused.
// Answers follow Knative delivery: 2xx ack, 4xx never retried, 5xx retried.
func (a *api) ingestHistory(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxHistoryEventBytes)
	ev, err := ceio.ReadRequest(r, a.cfg.MaxHistoryEventBytes)
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return mbe
		}
		return badRequest("not a valid CloudEvent: %v", err)
	}
	e := &ev
	ack := func() error { w.WriteHeader(http.StatusOK); return nil }
	if !strings.HasPrefix(e.Type(), keptn.Prefix) || e.Type() == typeProjectDeleteFinished {
		// project.delete.finished: Keptn dropped the project's history on it;
		// store.DeleteProject already did, so storing it would leave an orphan.
		return ack()
	}
	d, err := keptn.DecodeScope(*e)
	if err != nil {
		return badRequest("%v", err)
	}
	// The history is per project: an event of none would only fill the
	// store (and no project listing or deletion would ever reach it).
	if d.Project == "" {
		return badRequest("event %s has no data.project: not stored", e.ID())
	}
	if err := d.Validate(); err != nil {
		return badRequest("%v", err)
	}
	known, err := a.hasProject(r.Context(), d.Project)
	if err != nil {
		return fmt.Errorf("load project %s: %w", d.Project, err)
	}
	if !known {
		a.log.Debug("history: event for unknown project dropped", zap.String("project", d.Project), zap.String("id", e.ID()))
		return ack()
	}
	// DecodeScope has already checked the data is JSON.
	raw, err := ceio.MarshalJSON(*e)
	if err != nil {
		return badRequest("encode event: %v", err)
	}
	t := e.Time()
	if t.IsZero() {
		t = a.deps.Clock()
	}
	rec := &store.Event{ID: e.ID(), Project: d.Project, KeptnContext: keptn.Context(*e), Type: e.Type(),
		Stage: d.Stage, Service: d.Service, Source: e.Source(), TriggeredID: keptn.TriggeredID(*e), Time: t.UTC(), Body: raw}
	// The history takes events without waiting for the disk where the
	// driver declares it can (store.Capabilities.AppendEventLazy).
	if err := a.caps.AppendEventLazy(r.Context(), rec); err != nil {
		return fmt.Errorf("append event %s: %w", e.ID(), err)
	}
	return ack()
}
