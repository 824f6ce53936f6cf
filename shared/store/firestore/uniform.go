package firestore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	fs "cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/slipwayhq/slipway/shared/store"
)

// Integrations and their logs (store.IntegrationStore) live in
// <prefix>integrations and <prefix>logs. Every query here is served by
// Firestore's automatic single-field indexes, so nothing needs adding to
// firestore.indexes.json:
//
//   - an integration's document id is docID(name, namespace), which makes
//     (name, namespace) unique without a query; lookups by Keptn id are an
//     equality on "id";
//   - a log's document id is logKey(time)|docID(id), where logKey sorts newest
//     first. Listing orders by document id and turns time bounds into
//     document-id bounds, optionally after an equality on "integrationId"
//     (equality plus __name__ ordering is what a single-field index holds).

var _ store.IntegrationStore = (*Driver)(nil)

// integrationDoc is a document of <prefix>integrations.
type integrationDoc struct {
	ID        string    `firestore:"id"`
	Name      string    `firestore:"name"`
	Namespace string    `firestore:"namespace"`
	Hostname  string    `firestore:"hostname"`
	LastSeen  time.Time `firestore:"lastSeen"`
	Projects  []string  `firestore:"projects"`
	Stages    []string  `firestore:"stages"`
	Services  []string  `firestore:"services"`
	Body      []byte    `firestore:"body"`
}

func toIntegrationDoc(in *store.Integration) *integrationDoc {
	return &integrationDoc{ID: in.ID, Name: in.Name, Namespace: in.Namespace, Hostname: in.Hostname,
		LastSeen: in.LastSeen, Projects: in.Projects, Stages: in.Stages, Services: in.Services, Body: in.Body}
}

func (d *integrationDoc) integration() *store.Integration {
	return &store.Integration{ID: d.ID, Name: d.Name, Namespace: d.Namespace, Hostname: d.Hostname,
		LastSeen: utc(d.LastSeen), Projects: d.Projects, Stages: d.Stages, Services: d.Services, Body: d.Body}
}

// logDoc is a document of <prefix>logs, id logDocID(time, id).
type logDoc struct {
	IntegrationID string    `firestore:"integrationId"`
	Time          time.Time `firestore:"time"`
	Body          []byte    `firestore:"body"`
}

// collection returns <prefix>name. The prefix is not kept on Store, but
// every collection name ends in its kind, so the runs collection gives it.
func (s *Driver) collection(name string) *fs.CollectionRef {
	return s.client.Collection(strings.TrimSuffix(s.runs.ID, "runs") + name)
}

func (s *Driver) integrations() *fs.CollectionRef { return s.collection("integrations") }
func (s *Driver) logs() *fs.CollectionRef         { return s.collection("logs") }

// logKey is 20 decimal digits that sort newest first (microseconds, the
// precision Firestore keeps, with the sign flipped and then inverted).
func logKey(t time.Time) string {
	return fmt.Sprintf("%020d", ^(uint64(t.UnixMicro()) ^ 1<<63))
}

func logDocID(t time.Time, id string) string { return logKey(t) + "|" + docID(id) }

// afterKey is an exclusive upper bound for every document id starting with
// key+"|": '}' follows '|'.
func afterKey(key string) string { return key + "}" }

func decodeIntegration(snap *fs.DocumentSnapshot) (*store.Integration, error) {
	var d integrationDoc
	if err := snap.DataTo(&d); err != nil {
		return nil, fmt.Errorf("decode integration %s: %w", snap.Ref.ID, err)
	}
	return d.integration(), nil
}

// integrationRef finds the document of the integration with Keptn id id,
// inside ft when it is not nil.
func (s *Driver) integrationRef(ctx context.Context, ft *fs.Transaction, id string) (*fs.DocumentSnapshot, error) {
	q := s.integrations().Where("id", "==", id).Limit(1)
	var snaps []*fs.DocumentSnapshot
	var err error
	if ft != nil {
		snaps, err = ft.Documents(q).GetAll()
	} else {
		snaps, err = q.Documents(ctx).GetAll()
	}
	s.countQuery(len(snaps))
	if err != nil {
		return nil, mapErr("find integration "+id, err)
	}
	if len(snaps) == 0 {
		return nil, fmt.Errorf("integration %s: %w", id, store.ErrNotFound)
	}
	return snaps[0], nil
}

// normalize is what a stored integration reads back as.
func normalize(in *store.Integration) *store.Integration {
	c := *in
	c.LastSeen = utc(trunc(in.LastSeen))
	c.Projects, c.Stages, c.Services = slices.Clone(in.Projects), slices.Clone(in.Stages), slices.Clone(in.Services)
	c.Body = slices.Clone(in.Body)
	return &c
}

// RegisterIntegration implements store.IntegrationStore.
func (s *Driver) RegisterIntegration(ctx context.Context, name, namespace string, fn func(cur *store.Integration) (*store.Integration, error)) (*store.Integration, error) {
	what := fmt.Sprintf("register integration %s/%s", name, namespace)
	ref := s.integrations().Doc(docID(name, namespace))
	var out *store.Integration
	err := s.runTx(ctx, what, func(ctx context.Context, ft *fs.Transaction) error {
		s.reads.Add(1)
		var cur *store.Integration
		snap, err := ft.Get(ref)
		switch {
		case status.Code(err) == codes.NotFound:
		case err != nil:
			return mapErr(what, err)
		default:
			if cur, err = decodeIntegration(snap); err != nil {
				return err
			}
		}
		var arg *store.Integration
		if cur != nil {
			arg = normalize(cur)
		}
		next, err := fn(arg)
		if err != nil {
			return err
		}
		if next == nil {
			out = cur
			return nil
		}
		if cur == nil || cur.ID != next.ID {
			holder, err := s.integrationRef(ctx, ft, next.ID)
			if err == nil && holder.Ref.ID != ref.ID {
				return fmt.Errorf("%s: id %s: %w", what, next.ID, store.ErrAlreadyExists)
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		out = normalize(next)
		s.writes.Add(1)
		return ft.Set(ref, toIntegrationDoc(out))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateIntegration implements store.IntegrationStore.
func (s *Driver) UpdateIntegration(ctx context.Context, id string, fn func(in *store.Integration) error) (*store.Integration, error) {
	what := "update integration " + id
	var out *store.Integration
	err := s.runTx(ctx, what, func(ctx context.Context, ft *fs.Transaction) error {
		snap, err := s.integrationRef(ctx, ft, id)
		if err != nil {
			return err
		}
		cur, err := decodeIntegration(snap)
		if err != nil {
			return err
		}
		next := normalize(cur)
		if err := fn(next); err != nil {
			return err
		}
		out = normalize(next)
		s.writes.Add(1)
		return ft.Set(snap.Ref, toIntegrationDoc(out))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetIntegration implements store.IntegrationStore.
func (s *Driver) GetIntegration(ctx context.Context, id string) (*store.Integration, error) {
	snap, err := s.integrationRef(ctx, nil, id)
	if err != nil {
		return nil, err
	}
	return decodeIntegration(snap)
}

// ListIntegrations implements store.IntegrationStore. Integrations are few
// (one per deployed integration), so one single-field query narrows them and
// the other filters run here.
func (s *Driver) ListIntegrations(ctx context.Context, q store.IntegrationQuery) ([]*store.Integration, error) {
	fq := s.integrations().Query
	switch {
	case q.ID != "":
		fq = fq.Where("id", "==", q.ID)
	case !q.SeenSince.IsZero():
		fq = fq.Where("lastSeen", ">=", q.SeenSince)
	}
	snaps, err := fq.Documents(ctx).GetAll()
	s.countQuery(len(snaps))
	if err != nil {
		return nil, mapErr("list integrations", err)
	}
	out := []*store.Integration{}
	for _, snap := range snaps {
		in, err := decodeIntegration(snap)
		if err != nil {
			return nil, err
		}
		if q.Matches(in) {
			out = append(out, in)
		}
	}
	slices.SortFunc(out, func(a, b *store.Integration) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Namespace, b.Namespace))
	})
	return out, nil
}

// DeleteIntegration implements store.IntegrationStore.
func (s *Driver) DeleteIntegration(ctx context.Context, id string) error {
	snap, err := s.integrationRef(ctx, nil, id)
	if err != nil {
		return fmt.Errorf("delete %w", err)
	}
	s.writes.Add(1)
	if _, err := snap.Ref.Delete(ctx); err != nil {
		return mapErr("delete integration "+id, err)
	}
	return nil
}

// PurgeIntegrations implements store.IntegrationStore. Each delete requires
// the document to be unchanged since the query, so a ping that lands in
// between keeps its integration.
func (s *Driver) PurgeIntegrations(ctx context.Context, before time.Time, limit int) (int, error) {
	q := s.integrations().Where("lastSeen", "<", before)
	if limit > 0 {
		q = q.Limit(limit)
	}
	snaps, err := q.Documents(ctx).GetAll()
	s.countQuery(len(snaps))
	if err != nil {
		return 0, mapErr("purge integrations", err)
	}
	n := 0
	for _, snap := range snaps {
		s.writes.Add(1)
		_, err := snap.Ref.Delete(ctx, fs.LastUpdateTime(snap.UpdateTime))
		switch status.Code(err) {
		case codes.OK:
			n++
		case codes.FailedPrecondition, codes.NotFound:
		default:
			return n, mapErr("purge integration "+snap.Ref.ID, err)
		}
	}
	return n, nil
}

// AppendLogs implements store.IntegrationStore. The entries are independent
// documents written with a BulkWriter (no transaction: a retried request
// stores its entries under new ids anyway).
func (s *Driver) AppendLogs(ctx context.Context, logs []*store.LogEntry) error {
	if len(logs) == 0 {
		return nil
	}
	coll := s.logs()
	bw := s.client.BulkWriter(ctx)
	jobs := make([]*fs.BulkWriterJob, 0, len(logs))
	for _, l := range logs {
		t := trunc(l.Time).UTC()
		job, err := bw.Set(coll.Doc(logDocID(t, l.ID)), &logDoc{IntegrationID: l.IntegrationID, Time: t, Body: l.Body})
		if err != nil {
			bw.End()
			return fmt.Errorf("append log %s: %w", l.ID, err)
		}
		jobs = append(jobs, job)
	}
	bw.End()
	s.writes.Add(int64(len(jobs)))
	for i, job := range jobs {
		if _, err := job.Results(); err != nil {
			return mapErr("append log "+logs[i].ID, err)
		}
	}
	return nil
}

// logQuery is the query of q: an optional equality on integrationId, time
// bounds as document-id bounds, ordered by document id (newest first).
func (s *Driver) logQuery(q store.LogQuery) fs.Query {
	coll := s.logs()
	fq := coll.Query
	if q.IntegrationID != "" {
		fq = fq.Where("integrationId", "==", q.IntegrationID)
	}
	if !q.Until.IsZero() {
		fq = fq.Where(fs.DocumentID, ">=", coll.Doc(logKey(trunc(q.Until))))
	}
	if !q.From.IsZero() {
		fq = fq.Where(fs.DocumentID, "<", coll.Doc(afterKey(logKey(trunc(q.From)))))
	}
	return fq.OrderBy(fs.DocumentID, fs.Asc)
}

func decodeLog(snap *fs.DocumentSnapshot) (*store.LogEntry, error) {
	var d logDoc
	if err := snap.DataTo(&d); err != nil {
		return nil, fmt.Errorf("decode log %s: %w", snap.Ref.ID, err)
	}
	_, escaped, ok := strings.Cut(snap.Ref.ID, "|")
	if !ok {
		return nil, fmt.Errorf("log document id %q has no entry id", snap.Ref.ID)
	}
	id, err := parseID(escaped)
	if err != nil {
		return nil, err
	}
	return &store.LogEntry{ID: id, IntegrationID: d.IntegrationID, Time: utc(d.Time), Body: d.Body}, nil
}

// ListLogs implements store.IntegrationStore: a count aggregation for the
// total, then the page with offset and limit.
func (s *Driver) ListLogs(ctx context.Context, q store.LogQuery, offset, limit int) ([]*store.LogEntry, int, error) {
	fq := s.logQuery(q)
	res, err := fq.NewAggregationQuery().WithCount("n").Get(ctx)
	s.countQuery(1)
	if err != nil {
		return nil, 0, mapErr("count logs", err)
	}
	var count struct {
		N int64 `firestore:"n"`
	}
	if err := res.DataTo(&count); err != nil {
		return nil, 0, fmt.Errorf("count logs: %w", err)
	}
	logs := []*store.LogEntry{}
	if int64(offset) >= count.N {
		return logs, int(count.N), nil
	}
	if offset > 0 {
		fq = fq.Offset(offset)
	}
	if limit > 0 {
		fq = fq.Limit(limit)
	}
	snaps, err := fq.Documents(ctx).GetAll()
	s.countQuery(len(snaps))
	if err != nil {
		return nil, 0, mapErr("list logs", err)
	}
	for _, snap := range snaps {
		l, err := decodeLog(snap)
		if err != nil {
			return nil, 0, err
		}
		logs = append(logs, l)
	}
	return logs, int(count.N), nil
}

// PurgeLogs implements store.IntegrationStore: entries older than before have
// document ids after every id of before's time.
func (s *Driver) PurgeLogs(ctx context.Context, before time.Time, limit int) (int, error) {
	coll := s.logs()
	q := coll.Where(fs.DocumentID, ">=", coll.Doc(afterKey(logKey(trunc(before))))).OrderBy(fs.DocumentID, fs.Asc).Select()
	if limit > 0 {
		q = q.Limit(limit)
	}
	snaps, err := q.Documents(ctx).GetAll()
	s.countQuery(len(snaps))
	if err != nil {
		return 0, mapErr("purge logs", err)
	}
	if len(snaps) == 0 {
		return 0, nil
	}
	bw := s.client.BulkWriter(ctx)
	jobs := make([]*fs.BulkWriterJob, 0, len(snaps))
	for _, snap := range snaps {
		job, err := bw.Delete(snap.Ref)
		if err != nil {
			bw.End()
			return 0, fmt.Errorf("purge log %s: %w", snap.Ref.ID, err)
		}
		jobs = append(jobs, job)
	}
	bw.End()
	s.writes.Add(int64(len(jobs)))
	n := 0
	for i, job := range jobs {
		if _, err := job.Results(); err != nil && status.Code(err) != codes.NotFound {
			return n, mapErr("purge log "+snaps[i].Ref.ID, err)
		}
		n++
	}
	return n, nil
}

// IntegrationQueryShapes lists the query shapes of the integration and log
// methods, like QueryShapes, for the same index check.
func IntegrationQueryShapes() []QueryShape {
	now := time.Now()
	shape := func(name, query string, run func(ctx context.Context, s *Driver) error) QueryShape {
		return QueryShape{Name: name, Query: query, Run: run}
	}
	shapes := []QueryShape{
		shape("GetIntegration", "integrations where id == ? limit 1", func(ctx context.Context, s *Driver) error {
			_, err := s.GetIntegration(ctx, "x")
			return ignoreNotFound(err)
		}),
		shape("ListIntegrations(seenSince)", "integrations where lastSeen >= ?", func(ctx context.Context, s *Driver) error {
			_, err := s.ListIntegrations(ctx, store.IntegrationQuery{SeenSince: now})
			return err
		}),
		shape("PurgeIntegrations", "integrations where lastSeen < ? limit n", func(ctx context.Context, s *Driver) error {
			_, err := s.PurgeIntegrations(ctx, now, 10)
			return err
		}),
		shape("PurgeLogs", "logs where __name__ >= ? order by __name__ select () limit n", func(ctx context.Context, s *Driver) error {
			_, err := s.PurgeLogs(ctx, now, 10)
			return err
		}),
	}
	for _, integ := range []string{"", "i"} {
		for _, bounds := range []string{"", "from", "until", "from,until"} {
			q := store.LogQuery{IntegrationID: integ}
			if strings.Contains(bounds, "from") {
				q.From = now.Add(-time.Hour)
			}
			if strings.Contains(bounds, "until") {
				q.Until = now
			}
			label := strings.Trim(map[string]string{"": "", "i": "integrationId"}[integ]+","+bounds, ",")
			shapes = append(shapes, shape("ListLogs("+label+")",
				"logs where <"+label+"> order by __name__ (count, then offset/limit)",
				func(ctx context.Context, s *Driver) error {
					_, _, err := s.ListLogs(ctx, q, 1, 10)
					return err
				}))
		}
	}
	return shapes
}
