// Package firestore is the cloud store driver, on Cloud Firestore.
//
// Layout: one top-level collection per record kind (runs, lanes, contexts,
// projects, events, resources), each name prefixed with Options.Prefix.
// Collections are flat rather than nested under projects because the sweeper
// (DueRuns), executors (ListOpen) and project-less events query across
// projects. Document field names are listed in docs.go; every query shape the
// driver issues is in indexcheck.go.
//
// Update is client.RunTransaction. Firestore forbids reads after writes in a
// transaction, so the Tx buffers Put*/Delete* and applies them when fn
// returns; reads consult the buffer first, so fn sees its own writes.
// RunTransaction retries fn on contention (gRPC Aborted), which is why fn must
// have no side effects outside tx.
package firestore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	fs "cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/slipwayhq/slipway/shared/store"
)

// Options configure a Driver.
type Options struct {
	// Prefix is prepended to every collection name, so that tests or tenants
	// can share one database (e.g. "t42_" gives t42_runs, t42_events, ...).
	Prefix string
	// MaxAttempts bounds how often Update and UpdateProject run a transaction
	// that keeps losing to concurrent ones; 0 means DefaultMaxAttempts.
	MaxAttempts int
	// CloseClient hands the client over: closing the store closes it
	// (storeconn opens a client for the store alone).
	CloseClient bool
}

// DefaultMaxAttempts is higher than the client library's 5 because engine
// transactions on one run can pile up in a burst (a task's .started and
// .finished from several executors); each retry backs off with jitter.
const DefaultMaxAttempts = 10

// Driver is a store.Driver on Firestore. Callers use the store.Store New
// returns; the driver itself is for this package's tests and index checks.
type Driver struct {
	client                                             *fs.Client
	closeClient                                        bool
	runs, lanes, contexts, projects, events, resources *fs.CollectionRef
	maxAttempts                                        int
	// reads and writes count documents, the unit Firestore bills, for Stats.
	reads, writes atomic.Int64
}

var _ store.Driver = (*Driver)(nil)

// New returns the portable store.Store on client. It does no I/O; the
// caller keeps ownership of client unless opts.CloseClient is set.
func New(ctx context.Context, client *fs.Client, opts Options) store.Store {
	return store.New(NewDriver(ctx, client, opts))
}

// NewDriver returns the driver on client, as New does.
func NewDriver(ctx context.Context, client *fs.Client, opts Options) *Driver {
	s := &Driver{
		client:      client,
		closeClient: opts.CloseClient,
		runs:        client.Collection(opts.Prefix + "runs"),
		lanes:       client.Collection(opts.Prefix + "lanes"),
		contexts:    client.Collection(opts.Prefix + "contexts"),
		projects:    client.Collection(opts.Prefix + "projects"),
		events:      client.Collection(opts.Prefix + "events"),
		resources:   client.Collection(opts.Prefix + "resources"),
		maxAttempts: opts.MaxAttempts,
	}
	if s.maxAttempts <= 0 {
		s.maxAttempts = DefaultMaxAttempts
	}
	return s
}

// Close implements store.Driver; it closes the client only when it was
// handed over (Options.CloseClient).
func (s *Driver) Close() error {
	if !s.closeClient {
		return nil
	}
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("close firestore client: %w", err)
	}
	return nil
}

// Features implements store.Driver: integrations and secrets, and the
// document counts. History is deleted by a TTL policy (deploy docs), not
// PurgeHistory; the other capabilities are the portable ones.
func (s *Driver) Features() store.Features {
	return store.Features{Integrations: s, Secrets: s, Capabilities: store.Capabilities{Stats: s.Stats}}
}

// Stats reports how many documents the store has read and written since it
// was created (query results count one read each, an empty query one), for
// benchmarks and cost estimates.
func (s *Driver) Stats() (reads, writes int64) { return s.reads.Load(), s.writes.Load() }

// countQuery adds the reads Firestore bills for a query returning n documents.
func (s *Driver) countQuery(n int) { s.reads.Add(int64(max(n, 1))) }

// mapErr maps a Firestore error onto the store sentinels, keeping the original
// error in the chain (its gRPC status stays visible to callers and to
// RunTransaction's retry logic).
func mapErr(what string, err error) error {
	switch status.Code(err) {
	case codes.NotFound:
		return fmt.Errorf("%s: %w: %w", what, store.ErrNotFound, err)
	case codes.AlreadyExists:
		return fmt.Errorf("%s: %w: %w", what, store.ErrAlreadyExists, err)
	case codes.InvalidArgument:
		// Index fields can still push a document over 1 MiB.
		if msg := strings.ToLower(status.Convert(err).Message()); strings.Contains(msg, "size") ||
			strings.Contains(msg, "too big") || strings.Contains(msg, "too large") || strings.Contains(msg, "exceeds") {
			return fmt.Errorf("%s: %w: %w", what, store.ErrTooLarge, err)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// runTx runs f in a Firestore transaction. An error from f comes back
// unchanged, as store.Store requires; only the transaction machinery's own
// errors are wrapped.
func (s *Driver) runTx(ctx context.Context, what string, f func(ctx context.Context, ft *fs.Transaction) error) error {
	var fErr error
	err := s.client.RunTransaction(ctx, func(ctx context.Context, ft *fs.Transaction) error {
		fErr = f(ctx, ft)
		return fErr
	}, fs.MaxAttempts(s.maxAttempts))
	if err == nil || (fErr != nil && err == fErr) { //nolint:errorlint // identity: was it f's error?
		return err
	}
	return mapErr(what, err)
}

// Update implements store.Driver.
func (s *Driver) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.runTx(ctx, "update", func(ctx context.Context, ft *fs.Transaction) error {
		t := &tx{s: s, ctx: ctx, ft: ft}
		if err := fn(t); err != nil {
			return err
		}
		return t.apply()
	})
}

type contextKey struct{ project, keptnContext string }

// tx is the store.Tx of one transaction attempt (RunTransaction makes a new
// one per attempt, so a retried fn starts with an empty buffer).
type tx struct {
	s   *Driver
	ctx context.Context
	ft  *fs.Transaction
	// Buffered writes, applied by apply. A nil lane is a deletion.
	runs     map[string]*store.Run
	lanes    map[store.LaneKey]*store.Lane
	contexts map[contextKey]*store.Context
}

var _ store.Tx = (*tx)(nil)

func copyRun(r *store.Run) *store.Run {
	c := *r
	c.Body = slices.Clone(r.Body)
	c.TriggeredAt, c.OpenSince, c.Due = trunc(c.TriggeredAt), trunc(c.OpenSince), trunc(c.Due)
	return &c
}

func (t *tx) get(ref *fs.DocumentRef, what string, into any) error {
	t.s.reads.Add(1)
	snap, err := t.ft.Get(ref)
	if err != nil {
		return mapErr(what, err)
	}
	if err := snap.DataTo(into); err != nil {
		return fmt.Errorf("%s: decode: %w", what, err)
	}
	return nil
}

func (t *tx) GetRun(id string) (*store.Run, error) {
	if r, ok := t.runs[id]; ok {
		return copyRun(r), nil
	}
	var d runDoc
	if err := t.get(t.s.runs.Doc(docID(id)), "get run "+id, &d); err != nil {
		return nil, err
	}
	return d.run(id), nil
}

// queryRuns runs q in the transaction and merges the write buffer: buffered
// runs replace their stored versions, and keep(r) decides membership for
// buffered runs the query may not have returned (or no longer matches).
func (t *tx) queryRuns(q fs.Query, what string, keep func(*store.Run) bool) ([]*store.Run, error) {
	snaps, err := t.ft.Documents(q).GetAll()
	t.s.countQuery(len(snaps))
	if err != nil {
		return nil, mapErr(what, err)
	}
	var runs []*store.Run
	for _, snap := range snaps {
		r, err := decodeRun(snap)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if _, buffered := t.runs[r.ID]; !buffered {
			runs = append(runs, r)
		}
	}
	for _, r := range t.runs {
		if keep(r) {
			runs = append(runs, copyRun(r))
		}
	}
	return runs, nil
}

// RunByTask finds the run's id with a query outside the transaction and
// then reads the run in it. A task id belongs to one run for good, so the
// lookup needs no lock, while a query inside a transaction locks its range:
// every concurrent task event would contend on it (the emulator serialises
// them). The run read in the transaction is checked to still be at that task.
func (t *tx) RunByTask(project, triggeredID string) (*store.Run, error) {
	what := fmt.Sprintf("run of task %s in %s", triggeredID, project)
	if triggeredID == "" {
		return nil, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	match := func(r *store.Run) bool { return r.Project == project && r.TaskTriggeredID == triggeredID }
	var runs []*store.Run
	for _, r := range t.runs {
		if match(r) {
			runs = append(runs, copyRun(r))
		}
	}
	if len(runs) == 0 {
		// Task ids are unique; two ids would only show a damaged store, and
		// the sort below then picks the same one every time.
		q := t.s.runs.Where("project", "==", project).Where("taskTriggeredId", "==", triggeredID).Select().Limit(2)
		snaps, err := q.Documents(t.ctx).GetAll()
		t.s.countQuery(len(snaps))
		if err != nil {
			return nil, mapErr(what, err)
		}
		for _, snap := range snaps {
			id, err := parseID(snap.Ref.ID)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			r, err := t.GetRun(id)
			if errors.Is(err, store.ErrNotFound) {
				continue // deleted since the lookup
			}
			if err != nil {
				return nil, err
			}
			if match(r) {
				runs = append(runs, r)
			}
		}
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	sortRuns(runs)
	return runs[0], nil
}

func (t *tx) RunsByContext(project, keptnContext string) ([]*store.Run, error) {
	q := t.s.runs.Where("project", "==", project).Where("keptnContext", "==", keptnContext).
		OrderBy("triggeredAt", fs.Asc).OrderBy(fs.DocumentID, fs.Asc)
	runs, err := t.queryRuns(q, "runs of context "+keptnContext, func(r *store.Run) bool {
		return r.Project == project && r.KeptnContext == keptnContext
	})
	if err != nil {
		return nil, err
	}
	sortRuns(runs)
	if runs == nil {
		runs = []*store.Run{}
	}
	return runs, nil
}

// sortRuns orders runs oldest first, ties by ID.
func sortRuns(runs []*store.Run) {
	sort.Slice(runs, func(i, j int) bool {
		if c := runs[i].TriggeredAt.Compare(runs[j].TriggeredAt); c != 0 {
			return c < 0
		}
		return runs[i].ID < runs[j].ID
	})
}

func laneDocID(k store.LaneKey) string { return docID(k.Project, k.Stage, k.Service) }

func (t *tx) GetLane(key store.LaneKey) (*store.Lane, error) {
	if l, ok := t.lanes[key]; ok {
		if l == nil {
			return nil, fmt.Errorf("lane %v: %w", key, store.ErrNotFound)
		}
		return &store.Lane{Key: key, Body: slices.Clone(l.Body)}, nil
	}
	var d laneDoc
	if err := t.get(t.s.lanes.Doc(laneDocID(key)), fmt.Sprintf("get lane %v", key), &d); err != nil {
		return nil, err
	}
	return &store.Lane{Key: key, Body: d.Body}, nil
}

func (t *tx) GetContext(project, keptnContext string) (*store.Context, error) {
	if c, ok := t.contexts[contextKey{project, keptnContext}]; ok {
		return &store.Context{Project: project, KeptnContext: keptnContext, Body: slices.Clone(c.Body)}, nil
	}
	var d contextDoc
	if err := t.get(t.s.contexts.Doc(docID(project, keptnContext)), "get context "+keptnContext, &d); err != nil {
		return nil, err
	}
	return &store.Context{Project: project, KeptnContext: keptnContext, Body: d.Body}, nil
}

func (t *tx) GetProject(name string) (*store.Project, error) {
	var d projectDoc
	if err := t.get(t.s.projects.Doc(docID(name)), "get project "+name, &d); err != nil {
		return nil, err
	}
	return &store.Project{Name: name, CreatedAt: utc(d.CreatedAt), Body: d.Body}, nil
}

// PutRun, PutLane and PutContext may assume the portable layer's checks
// (an ID, a Body within MaxBody).
func (t *tx) PutRun(r *store.Run) error {
	if t.runs == nil {
		t.runs = map[string]*store.Run{}
	}
	t.runs[r.ID] = copyRun(r)
	return nil
}

func (t *tx) PutLane(l *store.Lane) error {
	if t.lanes == nil {
		t.lanes = map[store.LaneKey]*store.Lane{}
	}
	t.lanes[l.Key] = &store.Lane{Key: l.Key, Body: slices.Clone(l.Body)}
	return nil
}

func (t *tx) PutContext(c *store.Context) error {
	if t.contexts == nil {
		t.contexts = map[contextKey]*store.Context{}
	}
	t.contexts[contextKey{c.Project, c.KeptnContext}] = &store.Context{Project: c.Project, KeptnContext: c.KeptnContext, Body: slices.Clone(c.Body)}
	return nil
}

// DeleteLane buffers a blind delete: deleting a missing lane is allowed.
func (t *tx) DeleteLane(key store.LaneKey) error {
	if t.lanes == nil {
		t.lanes = map[store.LaneKey]*store.Lane{}
	}
	t.lanes[key] = nil
	return nil
}

// apply hands the buffered writes to the transaction, in a fixed order so a
// retried fn produces the same commit.
func (t *tx) apply() error {
	for _, id := range sortedKeys(t.runs, func(a, b string) int { return strings.Compare(a, b) }) {
		if err := t.ft.Set(t.s.runs.Doc(docID(id)), toRunDoc(t.runs[id])); err != nil {
			return fmt.Errorf("put run %s: %w", id, err)
		}
	}
	for _, k := range sortedKeys(t.lanes, func(a, b store.LaneKey) int { return strings.Compare(laneDocID(a), laneDocID(b)) }) {
		ref := t.s.lanes.Doc(laneDocID(k))
		var err error
		if l := t.lanes[k]; l == nil {
			err = t.ft.Delete(ref)
		} else {
			err = t.ft.Set(ref, &laneDoc{Project: k.Project, Stage: k.Stage, Service: k.Service, Body: l.Body})
		}
		if err != nil {
			return fmt.Errorf("write lane %v: %w", k, err)
		}
	}
	for _, k := range sortedKeys(t.contexts, func(a, b contextKey) int {
		return strings.Compare(docID(a.project, a.keptnContext), docID(b.project, b.keptnContext))
	}) {
		c := t.contexts[k]
		err := t.ft.Set(t.s.contexts.Doc(docID(k.project, k.keptnContext)),
			&contextDoc{Project: c.Project, KeptnContext: c.KeptnContext, Body: c.Body})
		if err != nil {
			return fmt.Errorf("put context %s: %w", k.keptnContext, err)
		}
	}
	t.s.writes.Add(int64(len(t.runs) + len(t.lanes) + len(t.contexts)))
	return nil
}

func sortedKeys[K comparable, V any](m map[K]V, cmp func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp)
	return keys
}

func decodeRun(snap *fs.DocumentSnapshot) (*store.Run, error) {
	id, err := parseID(snap.Ref.ID)
	if err != nil {
		return nil, err
	}
	var d runDoc
	if err := snap.DataTo(&d); err != nil {
		return nil, fmt.Errorf("decode run %s: %w", id, err)
	}
	return d.run(id), nil
}

// GetRun implements store.Driver.
func (s *Driver) GetRun(ctx context.Context, id string) (*store.Run, error) {
	s.reads.Add(1)
	snap, err := s.runs.Doc(docID(id)).Get(ctx)
	if err != nil {
		return nil, mapErr("get run "+id, err)
	}
	return decodeRun(snap)
}

// AckOutbox implements store.Driver: a single-field update with the run's
// existence as its only precondition, so confirming costs one write and no
// transaction.
func (s *Driver) AckOutbox(ctx context.Context, runID string, seq int64) error {
	s.writes.Add(1)
	_, err := s.runs.Doc(docID(runID)).Update(ctx, []fs.Update{{Path: "ackedSeq", Value: seq}})
	if err != nil && status.Code(err) != codes.NotFound {
		return mapErr("ack run "+runID, err)
	}
	return nil
}

// CreateProject implements store.Driver.
func (s *Driver) CreateProject(ctx context.Context, p *store.Project) error {
	s.writes.Add(1)
	_, err := s.projects.Doc(docID(p.Name)).Create(ctx, &projectDoc{Name: p.Name, CreatedAt: p.CreatedAt, Body: p.Body})
	if err != nil {
		return mapErr("create project "+p.Name, err)
	}
	return nil
}

// GetProject implements store.Driver.
func (s *Driver) GetProject(ctx context.Context, name string) (*store.Project, error) {
	s.reads.Add(1)
	snap, err := s.projects.Doc(docID(name)).Get(ctx)
	if err != nil {
		return nil, mapErr("get project "+name, err)
	}
	return decodeProject(snap)
}

func decodeProject(snap *fs.DocumentSnapshot) (*store.Project, error) {
	var d projectDoc
	if err := snap.DataTo(&d); err != nil {
		return nil, fmt.Errorf("decode project %s: %w", snap.Ref.ID, err)
	}
	return &store.Project{Name: d.Name, CreatedAt: utc(d.CreatedAt), Body: d.Body}, nil
}

// UpdateProject implements store.Driver.
func (s *Driver) UpdateProject(ctx context.Context, name string, fn func(p *store.Project) error) error {
	return s.runTx(ctx, "update project "+name, func(ctx context.Context, ft *fs.Transaction) error {
		t := &tx{s: s, ctx: ctx, ft: ft}
		p, err := t.GetProject(name)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err // a rename or an oversized body included (the portable layer's fn)
		}
		s.writes.Add(1)
		return ft.Set(s.projects.Doc(docID(name)), &projectDoc{Name: name, CreatedAt: p.CreatedAt, Body: p.Body})
	})
}

// deleteBatch is how many documents DeleteProject deletes per query round.
const deleteBatch = 300

// DeleteProject implements store.Driver. A project can hold more documents
// than one transaction should write, so the cascade is not atomic: children
// are deleted first and the project document last, which makes a failed
// delete safe to retry (the project is still there until everything under it
// is gone). Writers should have stopped using the project beforehand.
func (s *Driver) DeleteProject(ctx context.Context, name string) error {
	what := "delete project " + name
	s.reads.Add(1)
	if _, err := s.projects.Doc(docID(name)).Get(ctx); err != nil {
		return mapErr(what, err)
	}
	for _, coll := range []*fs.CollectionRef{s.runs, s.lanes, s.contexts, s.events, s.resources} {
		if err := s.deleteWhere(ctx, coll.Where("project", "==", name)); err != nil {
			return fmt.Errorf("%s: %s: %w", what, coll.ID, err)
		}
	}
	s.writes.Add(1)
	if _, err := s.projects.Doc(docID(name)).Delete(ctx); err != nil {
		return mapErr(what, err)
	}
	return nil
}

// deleteWhere deletes the documents matching q in rounds of deleteBatch.
func (s *Driver) deleteWhere(ctx context.Context, q fs.Query) error {
	for {
		snaps, err := q.Select().Limit(deleteBatch).Documents(ctx).GetAll()
		s.countQuery(len(snaps))
		if err != nil {
			return mapErr("query", err)
		}
		if len(snaps) == 0 {
			return nil
		}
		bw := s.client.BulkWriter(ctx)
		jobs := make([]*fs.BulkWriterJob, 0, len(snaps))
		for _, snap := range snaps {
			job, err := bw.Delete(snap.Ref)
			if err != nil {
				bw.End()
				return fmt.Errorf("delete %s: %w", snap.Ref.ID, err)
			}
			jobs = append(jobs, job)
		}
		bw.End()
		s.writes.Add(int64(len(jobs)))
		for i, job := range jobs {
			if _, err := job.Results(); err != nil && status.Code(err) != codes.NotFound {
				return mapErr("delete "+snaps[i].Ref.ID, err)
			}
		}
	}
}

// AppendEvent implements store.Driver: Create fails on an existing id, which
// is exactly "the first version wins".
func (s *Driver) AppendEvent(ctx context.Context, e *store.Event) error {
	s.writes.Add(1)
	_, err := s.events.Doc(docID(e.ID)).Create(ctx, toEventDoc(e))
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return mapErr("append event "+e.ID, err)
	}
	return nil
}

func resourceDocID(project, stage, service, uri string) string {
	return docID(project, stage, service, uri)
}

// PutResource implements store.Driver.
func (s *Driver) PutResource(ctx context.Context, r *store.Resource) error {
	s.writes.Add(1)
	_, err := s.resources.Doc(resourceDocID(r.Project, r.Stage, r.Service, r.URI)).Set(ctx, &resourceDoc{
		Project: r.Project, Stage: r.Stage, Service: r.Service, URI: r.URI, Content: r.Content, UpdatedAt: r.UpdatedAt,
	})
	if err != nil {
		return mapErr("put resource "+r.URI, err)
	}
	return nil
}

// GetResource implements store.Driver.
func (s *Driver) GetResource(ctx context.Context, project, stage, service, uri string) (*store.Resource, error) {
	s.reads.Add(1)
	snap, err := s.resources.Doc(resourceDocID(project, stage, service, uri)).Get(ctx)
	if err != nil {
		return nil, mapErr("get resource "+uri, err)
	}
	return decodeResource(snap)
}

func decodeResource(snap *fs.DocumentSnapshot) (*store.Resource, error) {
	var d resourceDoc
	if err := snap.DataTo(&d); err != nil {
		return nil, fmt.Errorf("decode resource %s: %w", snap.Ref.ID, err)
	}
	return &store.Resource{Project: d.Project, Stage: d.Stage, Service: d.Service, URI: d.URI,
		Content: d.Content, UpdatedAt: utc(d.UpdatedAt)}, nil
}

// DeleteResource implements store.Driver; the Exists precondition turns a
// missing resource into NotFound.
func (s *Driver) DeleteResource(ctx context.Context, project, stage, service, uri string) error {
	s.writes.Add(1)
	_, err := s.resources.Doc(resourceDocID(project, stage, service, uri)).Delete(ctx, fs.Exists)
	if err != nil {
		return mapErr("delete resource "+uri, err)
	}
	return nil
}
