package firestore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	fs "cloud.google.com/go/firestore"

	"github.com/slipwayhq/slipway/shared/store"
)

// Listings use cursor pagination: the opaque page token is the last returned
// document's sort value and document id, and the next page starts after it
// (StartAfter), so no page re-reads (or bills) the documents before it, and
// documents written between pages never make an entry repeat.

type cursor struct {
	T  *time.Time `json:"t,omitempty"` // time-ordered listings
	S  string     `json:"s,omitempty"` // name- or URI-ordered listings
	ID string     `json:"id"`          // document id (tie-break)
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c) // a struct of strings and a time cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(tok string) (*cursor, error) {
	if tok == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	var c cursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID == "" {
		return nil, fmt.Errorf("%w %q", store.ErrBadPageToken, tok)
	}
	return &c, nil
}

// page runs q (already filtered and ordered by one field plus the document
// id) for one page: it resumes after the token, fetches one document more
// than the page size to learn whether there is a next page, and decodes.
func page[T any](ctx context.Context, s *Driver, q fs.Query, p store.Page, timeOrdered bool,
	decode func(*fs.DocumentSnapshot) (T, error), key func(T) cursor) ([]T, string, error) {
	c, err := decodeCursor(p.Token)
	if err != nil {
		return nil, "", err
	}
	if c != nil {
		switch {
		case timeOrdered && c.T != nil:
			q = q.StartAfter(*c.T, c.ID)
		case !timeOrdered && c.T == nil:
			q = q.StartAfter(c.S, c.ID)
		default:
			return nil, "", fmt.Errorf("%w %q", store.ErrBadPageToken, p.Token)
		}
	}
	if p.Size > 0 {
		q = q.Limit(p.Size + 1)
	}
	snaps, err := q.Documents(ctx).GetAll()
	s.countQuery(len(snaps))
	if err != nil {
		return nil, "", mapErr("query", err)
	}
	items := make([]T, 0, len(snaps))
	for _, snap := range snaps {
		it, err := decode(snap)
		if err != nil {
			return nil, "", err
		}
		items = append(items, it)
	}
	next := ""
	if p.Size > 0 && len(items) > p.Size {
		items = items[:p.Size]
		next = encodeCursor(key(items[p.Size-1]))
	}
	return items, next, nil
}

func whereEq(q fs.Query, field, v string) fs.Query {
	if v == "" {
		return q
	}
	return q.Where(field, "==", v)
}

func runCursor(when func(*store.Run) time.Time) func(*store.Run) cursor {
	return func(r *store.Run) cursor {
		t := when(r)
		return cursor{T: &t, ID: docID(r.ID)}
	}
}

// runsQuery is the shape of ListRuns: equality on any subset of the filter
// fields, newest first.
func (s *Driver) runsQuery(q store.RunQuery) fs.Query {
	fq := s.runs.Query
	fq = whereEq(fq, "project", q.Project)
	fq = whereEq(fq, "stage", q.Stage)
	fq = whereEq(fq, "service", q.Service)
	fq = whereEq(fq, "sequence", q.Sequence)
	fq = whereEq(fq, "state", q.State)
	fq = whereEq(fq, "keptnContext", q.KeptnContext)
	return fq.OrderBy("triggeredAt", fs.Desc).OrderBy(fs.DocumentID, fs.Desc)
}

// ListRuns implements store.Driver.
func (s *Driver) ListRuns(ctx context.Context, q store.RunQuery, p store.Page) ([]*store.Run, string, error) {
	runs, next, err := page(ctx, s, s.runsQuery(q), p, true, decodeRun,
		runCursor(func(r *store.Run) time.Time { return r.TriggeredAt }))
	if err != nil {
		return nil, "", fmt.Errorf("list runs: %w", err)
	}
	return runs, next, nil
}

// dueQuery is the sweeper's query. Runs with nothing due have due == null,
// which a range filter never matches.
func (s *Driver) dueQuery(now time.Time, limit int) fs.Query {
	q := s.runs.Where("due", "<=", now).OrderBy("due", fs.Asc).OrderBy(fs.DocumentID, fs.Asc).Select()
	if limit > 0 {
		q = q.Limit(limit)
	}
	return q
}

// DueRuns implements store.Driver.
func (s *Driver) DueRuns(ctx context.Context, now time.Time, limit int) ([]string, error) {
	snaps, err := s.dueQuery(now, limit).Documents(ctx).GetAll()
	s.countQuery(len(snaps))
	if err != nil {
		return nil, mapErr("due runs", err)
	}
	ids := make([]string, 0, len(snaps))
	for _, snap := range snaps {
		id, err := parseID(snap.Ref.ID)
		if err != nil {
			return nil, fmt.Errorf("due runs: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (s *Driver) openQuery(q store.OpenQuery) fs.Query {
	fq := s.runs.Where("openType", "==", q.Type)
	fq = whereEq(fq, "project", q.Project)
	fq = whereEq(fq, "stage", q.Stage)
	fq = whereEq(fq, "service", q.Service)
	fq = whereEq(fq, "taskTriggeredId", q.TaskTriggeredID)
	if !q.Until.IsZero() {
		fq = fq.Where("openSince", "<=", q.Until)
	}
	return fq.OrderBy("openSince", fs.Desc).OrderBy(fs.DocumentID, fs.Desc)
}

// ListOpen implements store.Driver.
func (s *Driver) ListOpen(ctx context.Context, q store.OpenQuery, p store.Page) ([]*store.Run, string, error) {
	if q.Type == "" {
		return nil, "", errors.New("list open: Type is required")
	}
	runs, next, err := page(ctx, s, s.openQuery(q), p, true, decodeRun,
		runCursor(func(r *store.Run) time.Time { return r.OpenSince }))
	if err != nil {
		return nil, "", fmt.Errorf("list open %s: %w", q.Type, err)
	}
	return runs, next, nil
}

// ListProjects implements store.Driver.
func (s *Driver) ListProjects(ctx context.Context, p store.Page) ([]*store.Project, string, error) {
	q := s.projects.OrderBy("name", fs.Asc).OrderBy(fs.DocumentID, fs.Asc)
	projects, next, err := page(ctx, s, q, p, false, decodeProject, func(p *store.Project) cursor {
		return cursor{S: p.Name, ID: docID(p.Name)}
	})
	if err != nil {
		return nil, "", fmt.Errorf("list projects: %w", err)
	}
	return projects, next, nil
}

func decodeEvent(snap *fs.DocumentSnapshot) (*store.Event, error) {
	id, err := parseID(snap.Ref.ID)
	if err != nil {
		return nil, err
	}
	var d eventDoc
	if err := snap.DataTo(&d); err != nil {
		return nil, fmt.Errorf("decode event %s: %w", id, err)
	}
	return d.event(id), nil
}

// eventsQuery builds ListEvents' query; ok is false when the filters cannot
// match anything (Service outside Services).
func (s *Driver) eventsQuery(q store.EventQuery) (fq fs.Query, ok bool) {
	fq = s.events.Query
	fq = whereEq(fq, "project", q.Project)
	fq = whereEq(fq, "keptnContext", q.KeptnContext)
	fq = whereEq(fq, "type", q.Type)
	fq = whereEq(fq, "stage", q.Stage)
	fq = whereEq(fq, "source", q.Source)
	fq = whereEq(fq, "triggeredId", q.TriggeredID)
	switch {
	case q.Service != "":
		if len(q.Services) > 0 && !slices.Contains(q.Services, q.Service) {
			return fq, false
		}
		fq = fq.Where("service", "==", q.Service)
	case len(q.Services) == 1:
		fq = fq.Where("service", "==", q.Services[0])
	case len(q.Services) > 1:
		fq = fq.Where("service", "in", q.Services) // Firestore allows up to 30 values
	}
	if !q.From.IsZero() {
		fq = fq.Where("time", ">", q.From)
	}
	if !q.Before.IsZero() {
		fq = fq.Where("time", "<", q.Before)
	}
	return fq.OrderBy("time", fs.Desc).OrderBy(fs.DocumentID, fs.Desc), true
}

func eventMatches(e *store.Event, q store.EventQuery) bool {
	return (q.Project == "" || e.Project == q.Project) && (q.KeptnContext == "" || e.KeptnContext == q.KeptnContext) &&
		(q.Type == "" || e.Type == q.Type) && (q.Stage == "" || e.Stage == q.Stage) &&
		(q.Service == "" || e.Service == q.Service) && (q.Source == "" || e.Source == q.Source) &&
		(q.TriggeredID == "" || e.TriggeredID == q.TriggeredID) &&
		(len(q.Services) == 0 || slices.Contains(q.Services, e.Service)) &&
		(q.From.IsZero() || e.Time.After(q.From)) && (q.Before.IsZero() || e.Time.Before(q.Before))
}

// ListEvents implements store.Driver. An ID filter is a document read (the id
// is the document id) checked against the other filters.
func (s *Driver) ListEvents(ctx context.Context, q store.EventQuery, p store.Page) ([]*store.Event, string, error) {
	if q.ID != "" {
		if p.Token != "" { // a one-document listing never hands out a token
			return []*store.Event{}, "", nil
		}
		s.reads.Add(1)
		snap, err := s.events.Doc(docID(q.ID)).Get(ctx)
		if err != nil {
			if errors.Is(mapErr("", err), store.ErrNotFound) {
				return []*store.Event{}, "", nil
			}
			return nil, "", mapErr("list events: get "+q.ID, err)
		}
		e, err := decodeEvent(snap)
		if err != nil {
			return nil, "", fmt.Errorf("list events: %w", err)
		}
		if !eventMatches(e, q) {
			return []*store.Event{}, "", nil
		}
		return []*store.Event{e}, "", nil
	}
	fq, ok := s.eventsQuery(q)
	if !ok {
		return []*store.Event{}, "", nil
	}
	events, next, err := page(ctx, s, fq, p, true, decodeEvent, func(e *store.Event) cursor {
		t := e.Time
		return cursor{T: &t, ID: docID(e.ID)}
	})
	if err != nil {
		return nil, "", fmt.Errorf("list events: %w", err)
	}
	return events, next, nil
}

func (s *Driver) resourcesQuery(project, stage, service string) fs.Query {
	return s.resources.Where("project", "==", project).Where("stage", "==", stage).Where("service", "==", service).
		OrderBy("uri", fs.Asc).OrderBy(fs.DocumentID, fs.Asc)
}

// ListResources implements store.Driver.
func (s *Driver) ListResources(ctx context.Context, project, stage, service string, p store.Page) ([]*store.Resource, string, error) {
	res, next, err := page(ctx, s, s.resourcesQuery(project, stage, service), p, false, decodeResource,
		func(r *store.Resource) cursor {
			return cursor{S: r.URI, ID: resourceDocID(r.Project, r.Stage, r.Service, r.URI)}
		})
	if err != nil {
		return nil, "", fmt.Errorf("list resources: %w", err)
	}
	return res, next, nil
}
