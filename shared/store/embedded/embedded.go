// Package embedded is the embedded store driver, for running the control
// plane on a single machine (the default local store). It keeps its records
// in a Pebble database (github.com/cockroachdb/pebble/v2) in a directory:
// a write-ahead log, memtables and sorted tables on disk, a bounded block
// cache, so memory does not grow with the stored history.
//
// Every record kind has its own bucket (a key prefix, kv.go), and every
// query has a secondary-index bucket whose keys sort in the query's order,
// so lookups and listings seek instead of scanning all runs or events. Index
// keys are written in the same batch as the record, so they can never
// disagree with it.
//
// Update is one indexed Pebble batch, shared with concurrent callers (group
// commit, group.go) and committed with one sync. The driver admits one
// writer at a time, so transactions never conflict; fn runs again only when
// another member of its group failed.
package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"

	"github.com/slipwayhq/slipway/shared/store"
)

// Bucket names. Index buckets map an ordered key to nothing (or to a run id
// for runs.task); the key ends with the record id.
var (
	bRuns        = []byte("runs")         // id -> run
	bRunsTask    = []byte("runs.task")    // lp(project) taskTriggeredID -> id
	bRunsCtx     = []byte("runs.ctx")     // lp(project) lp(keptnContext) tkey(triggeredAt) id
	bRunsProject = []byte("runs.project") // lp(project) tkey(triggeredAt) id
	bRunsTime    = []byte("runs.time")    // tkey(triggeredAt) id
	bRunsDue     = []byte("runs.due")     // tkey(due) id, only when Due is set
	bRunsOpen    = []byte("runs.open")    // lp(openType) tkey(openSince) id, only when OpenType is set

	bLanes     = []byte("lanes")     // lp(project) lp(stage) lp(service) -> body
	bContexts  = []byte("contexts")  // lp(project) lp(keptnContext) -> body
	bProjects  = []byte("projects")  // name -> project
	bResources = []byte("resources") // lp(project) lp(stage) lp(service) uri -> resource

	bEvents        = []byte("events")         // id -> event
	bEventsTime    = []byte("events.time")    // tkey(time) id
	bEventsProject = []byte("events.project") // lp(project) tkey(time) id
	bEventsCtx     = []byte("events.ctx")     // lp(keptnContext) tkey(time) id
	bEventsTrig    = []byte("events.trig")    // lp(triggeredID) tkey(time) id, only when set

)

// Options tune the driver; the zero value is the durable default.
type Options struct {
	// NoSync skips fdatasync on commit. A machine crash can then lose recent
	// transactions (a process crash cannot), so it is for tests and benchmarks.
	NoSync bool
	// CacheSize bounds Pebble's block cache (default 32 MiB). With the
	// memtables it bounds the store's memory whatever the history's size.
	CacheSize int64
	// MinFreeBytes is the free space the store keeps on its filesystem
	// (default 64 MiB): a write that would leave less is refused with
	// ErrNoSpace. Pebble treats a failed log write as fatal (it ends the
	// process), so the store stops short of a full disk instead, reports
	// it in Health, and takes writes again once there is room.
	MinFreeBytes int64
}

// ErrNoSpace is returned by writes while the store's filesystem has less
// free space than Options.MinFreeBytes.
var ErrNoSpace = errors.New("store/embedded: not enough free disk space, refusing writes")

const defaultMinFree = 64 << 20

// defaultCache is the block cache's size: the working set (runs, lanes,
// index keys of recent events) fits many times over, and the history's
// bodies are read rarely enough to come from the page cache.
const defaultCache = 32 << 20

// memTableSize is one Pebble memtable; two of them bound the unflushed writes.
const memTableSize = 16 << 20

// No WALMinSyncInterval: Pebble already syncs concurrent commits together,
// and a 300 µs least interval between syncs (what store/kv waited for more
// commits to join) made one transition at a time take 1.4 ms instead of
// 0.45 (BenchmarkTaskEventEmbedded).

// Driver is a store.Driver on a Pebble database directory. Callers use the
// store.Store Open returns; the driver itself is for this package's tests
// and tools that need its internals.
type Driver struct {
	db      *pebble.DB
	cache   interface{ Unref() }
	dir     string
	minFree uint64
	group   group
	// lazySync: commits nobody waits for are synced a little later. 0
	// without fdatasync.
	lazySync time.Duration
	syncing  atomic.Bool // a lazy sync is scheduled
	// lastSync is the newest commit that waits for its sync (write-less
	// transactions wait for it).
	lastSync atomic.Pointer[syncDone]
	// commits numbers commits; lastNoSync and lastSynced are the numbers of
	// the newest unsynced and synced ones, so a lazy sync is skipped when a
	// synced commit already followed every unsynced one.
	commits, lastNoSync, lastSynced atomic.Uint64
	// reads and writes count records (not index entries) for Stats.
	reads, writes atomic.Int64
	// health remembers the last write error, so /health can say the store
	// refuses writes (a full disk) until a write succeeds again.
	health health
	// closeMu: commits and delayed syncs hold it for reading, Close for
	// writing, so nothing touches the database after it is closed.
	closeMu sync.RWMutex
	closed  bool
}

var _ store.Driver = (*Driver)(nil)

// Open opens (creating if needed) the store directory at path with durable
// defaults.
func Open(path string) (store.Store, error) { return OpenOptions(path, Options{}) }

// OpenOptions opens the store directory at path with the given options and
// returns the portable store.Store over it.
func OpenOptions(path string, o Options) (store.Store, error) {
	d, err := OpenDriver(path, o)
	if err != nil {
		return nil, err
	}
	return store.New(d), nil
}

// OpenDriver opens the store directory at path with the given options.
//
// Pebble replays its write-ahead log on open. The format version is the
// newest, which writes WAL sync chunks (each chunk says how far the log was
// synced), so a log damaged before data that was synced (a flipped byte
// mid-log) is found (checkWALs, and Pebble's own check) and the store
// refuses to open, instead of the replay stopping there and silently
// dropping acknowledged transitions; a log torn at its end (a crash
// mid-write, nothing after it was ever acknowledged) is replayed up to the
// tear.
func OpenDriver(path string, o Options) (*Driver, error) {
	if err := checkOldEngine(path); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := checkWALs(path); err != nil {
		return nil, fmt.Errorf("open store %s: refusing to open rather than drop acknowledged transitions "+
			"(restore the directory from a backup): %w", path, err)
	}
	size := o.CacheSize
	if size <= 0 {
		size = defaultCache
	}
	cache := pebble.NewCache(size)
	opts := &pebble.Options{
		Cache:                       cache,
		FormatMajorVersion:          pebble.FormatNewest,
		MemTableSize:                memTableSize,
		MemTableStopWritesThreshold: 4,
		Logger:                      pebbleLogger{},
	}
	// Bloom filters on every level: a history append first looks up its
	// event id, which is almost always absent, and a miss should not read
	// a block of every table.
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	manifests, _ := filepath.Glob(filepath.Join(path, "MANIFEST-*"))
	db, err := pebble.Open(path, opts)
	if err == nil && len(manifests) == 0 {
		// Pebble creates a store at its oldest format and upgrades it, and
		// the first log is already open in the old chunk format (without
		// synced offsets). Reopening once starts a log in the new format,
		// so even the first commits are protected from a silent truncation.
		if err = db.Close(); err == nil {
			db, err = pebble.Open(path, opts)
		}
	}
	if err != nil {
		cache.Unref()
		if errors.Is(err, pebble.ErrCorruption) {
			return nil, fmt.Errorf("open store %s: the write-ahead log is damaged before data that was synced; "+
				"refusing to open rather than drop acknowledged transitions (restore the directory from a backup): %w", path, err)
		}
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	st := &Driver{db: db, cache: cache, dir: path, minFree: uint64(defaultMinFree)}
	if o.MinFreeBytes > 0 {
		st.minFree = uint64(o.MinFreeBytes)
	}
	if !o.NoSync {
		st.lazySync = lazySync
	}
	return st, nil
}

// Close flushes nothing extra (the log holds every commit) and closes the
// database.
func (s *Driver) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.lazySync > 0 {
		// Commits answered before their sync must reach the disk before the
		// process may assume they did.
		_ = s.db.LogData(nil, pebble.Sync)
	}
	err := s.db.Close()
	s.cache.Unref()
	if err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Stats reports how many records the store has read and written since it was
// opened (index entries are not counted), for benchmarks.
func (s *Driver) Stats() (reads, writes int64) { return s.reads.Load(), s.writes.Load() }

// view runs fn on a consistent snapshot of the database.
func (s *Driver) view(fn func(t *txn) error) error {
	snap := s.db.NewSnapshot()
	defer snap.Close()
	btx := &kvTx{r: snap}
	err := fn(&txn{s: s, btx: btx})
	if cerr := btx.close(); err == nil && cerr != nil {
		err = fmt.Errorf("store read: %w", cerr)
	}
	return err
}

// Update implements store.Driver.
func (s *Driver) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(func(t *txn) error { return fn(t) })
}

// txn is a kv transaction with the record operations on top; it is the
// store.Tx handed to Update's fn and the building block of every method.
type txn struct {
	s   *Driver
	btx *kvTx
}

var _ store.Tx = (*txn)(nil)

func (t *txn) b(name []byte) *kvBucket { return t.btx.Bucket(name) }

func (t *txn) GetRun(id string) (*store.Run, error) {
	v := t.b(bRuns).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	t.s.reads.Add(1)
	r, err := decodeRun(id, v)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	return r, nil
}

func (t *txn) RunByTask(project, triggeredID string) (*store.Run, error) {
	if triggeredID != "" {
		if id := t.b(bRunsTask).Get(append(appendLP(nil, project), triggeredID...)); id != nil {
			return t.GetRun(string(id))
		}
	}
	return nil, fmt.Errorf("run of task %s in %s: %w", triggeredID, project, store.ErrNotFound)
}

func (t *txn) RunsByContext(project, keptnContext string) ([]*store.Run, error) {
	runs := []*store.Run{}
	prefix := appendLP(appendLP(nil, project), keptnContext)
	c := t.b(bRunsCtx).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		r, err := t.GetRun(string(k[len(prefix)+tkeyLen:]))
		if err != nil {
			return nil, fmt.Errorf("runs of context %s: %w", keptnContext, err)
		}
		runs = append(runs, r)
	}
	return runs, nil
}

func (t *txn) GetLane(key store.LaneKey) (*store.Lane, error) {
	v := t.b(bLanes).Get(laneKey(key))
	if v == nil {
		return nil, fmt.Errorf("lane %v: %w", key, store.ErrNotFound)
	}
	t.s.reads.Add(1)
	body, err := decodeBody(v)
	if err != nil {
		return nil, fmt.Errorf("lane %v: %w", key, err)
	}
	return &store.Lane{Key: key, Body: body}, nil
}

func (t *txn) GetContext(project, keptnContext string) (*store.Context, error) {
	v := t.b(bContexts).Get(contextKey(project, keptnContext))
	if v == nil {
		return nil, fmt.Errorf("context %s/%s: %w", project, keptnContext, store.ErrNotFound)
	}
	t.s.reads.Add(1)
	body, err := decodeBody(v)
	if err != nil {
		return nil, fmt.Errorf("context %s/%s: %w", project, keptnContext, err)
	}
	return &store.Context{Project: project, KeptnContext: keptnContext, Body: body}, nil
}

func (t *txn) GetProject(name string) (*store.Project, error) {
	v := t.b(bProjects).Get([]byte(name))
	if v == nil {
		return nil, fmt.Errorf("project %s: %w", name, store.ErrNotFound)
	}
	t.s.reads.Add(1)
	p, err := decodeProject(name, v)
	if err != nil {
		return nil, fmt.Errorf("project %s: %w", name, err)
	}
	return p, nil
}

// runIndexKeys lists the index entries of a run, bucket by bucket in the
// order of runIndexes; nil means "no entry".
var runIndexes = [][]byte{bRunsTask, bRunsCtx, bRunsProject, bRunsTime, bRunsDue, bRunsOpen}

func runIndexKeys(r *store.Run) [6][]byte {
	// One buffer for the six keys: a transition builds them twice (old and
	// new record), and twelve small allocations showed in the writer's
	// profile. A key is complete before the next is appended, so a buffer
	// that did grow would leave the earlier keys intact in the old one.
	buf := make([]byte, 0, 6*(len(r.ID)+tkeyLen+binary.MaxVarintLen16)+4*len(r.Project)+
		len(r.KeptnContext)+len(r.TaskTriggeredID)+len(r.OpenType))
	var k [6][]byte
	key := func(i int, build func(b []byte) []byte) {
		start := len(buf)
		buf = build(buf)
		k[i] = buf[start:len(buf):len(buf)]
	}
	if r.TaskTriggeredID != "" {
		key(0, func(b []byte) []byte { return append(appendLP(b, r.Project), r.TaskTriggeredID...) })
	}
	key(1, func(b []byte) []byte {
		return append(appendTKey(appendLP(appendLP(b, r.Project), r.KeptnContext), r.TriggeredAt), r.ID...)
	})
	key(2, func(b []byte) []byte { return append(appendTKey(appendLP(b, r.Project), r.TriggeredAt), r.ID...) })
	key(3, func(b []byte) []byte { return append(appendTKey(b, r.TriggeredAt), r.ID...) })
	if !r.Due.IsZero() {
		key(4, func(b []byte) []byte { return append(appendTKey(b, r.Due), r.ID...) })
	}
	if r.OpenType != "" {
		key(5, func(b []byte) []byte { return append(appendTKey(appendLP(b, r.OpenType), r.OpenSince), r.ID...) })
	}
	return k
}

// setRunIndexes moves index entries from old's keys to r's, touching only the
// entries that change (a typical transition changes one or two).
func (t *txn) setRunIndexes(old, r *store.Run) error {
	var oldKeys, newKeys [6][]byte
	if old != nil {
		oldKeys = runIndexKeys(old)
	}
	if r != nil {
		newKeys = runIndexKeys(r)
	}
	for i, name := range runIndexes {
		if bytes.Equal(oldKeys[i], newKeys[i]) && (oldKeys[i] == nil) == (newKeys[i] == nil) {
			continue
		}
		b := t.b(name)
		if oldKeys[i] != nil {
			// The task index is unique per key: only remove it if it still
			// points at this run.
			if i == 0 && string(b.Get(oldKeys[i])) != old.ID {
				continue
			}
			if err := b.Delete(oldKeys[i]); err != nil {
				return err
			}
		}
		if newKeys[i] != nil {
			var v []byte
			if i == 0 {
				v = []byte(r.ID)
			}
			if err := b.Put(newKeys[i], v); err != nil {
				return err
			}
		}
	}
	return nil
}

// PutRun, PutLane and PutContext may assume the portable layer's checks
// (an ID, a Body within MaxBody).
func (t *txn) PutRun(r *store.Run) error {
	var old *store.Run
	if v := t.b(bRuns).Get([]byte(r.ID)); v != nil {
		var d *decoder
		old, d = decodeRunHeader(r.ID, v)
		if d.err != nil {
			return fmt.Errorf("put run %s: old record: %w", r.ID, d.err)
		}
	}
	if err := t.setRunIndexes(old, r); err != nil {
		return fmt.Errorf("put run %s: index: %w", r.ID, err)
	}
	if err := t.b(bRuns).Put([]byte(r.ID), encodeRun(r)); err != nil {
		return fmt.Errorf("put run %s: %w", r.ID, err)
	}
	t.s.writes.Add(1)
	return nil
}

// AckOutbox implements store.Driver. Here a read-modify-write costs no more
// than a blind write; AckedSeq only grows.
func (s *Driver) AckOutbox(ctx context.Context, runID string, seq int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(ackOutbox(runID, seq))
}

// AckOutboxNoSync is AckOutbox answered once the confirmation is written to
// the log, before its sync (see AppendEventNoSync). Losing a confirmation
// costs one more publish of events whose ids are deterministic, the same
// as a crash between publishing and confirming, so waiting for the disk
// bought nothing; the next transaction on the run sees it at once.
func (s *Driver) AckOutboxNoSync(ctx context.Context, runID string, seq int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.updateNoSync(ackOutbox(runID, seq))
}

func ackOutbox(runID string, seq int64) func(t *txn) error {
	return func(t *txn) error {
		v := t.b(bRuns).Get([]byte(runID))
		if v == nil {
			return nil
		}
		nv, old, err := withAckedSeq(runID, v, seq)
		if err != nil {
			return fmt.Errorf("ack run %s: %w", runID, err)
		}
		if seq <= old {
			return nil
		}
		if err := t.b(bRuns).Put([]byte(runID), nv); err != nil {
			return fmt.Errorf("ack run %s: %w", runID, err)
		}
		t.s.writes.Add(1)
		return nil
	}
}

func (t *txn) deleteRun(id string) error {
	v := t.b(bRuns).Get([]byte(id))
	if v == nil {
		return nil
	}
	old, d := decodeRunHeader(id, v)
	if d.err != nil {
		return fmt.Errorf("delete run %s: %w", id, d.err)
	}
	if err := t.setRunIndexes(old, nil); err != nil {
		return fmt.Errorf("delete run %s: index: %w", id, err)
	}
	if err := t.b(bRuns).Delete([]byte(id)); err != nil {
		return fmt.Errorf("delete run %s: %w", id, err)
	}
	t.s.writes.Add(1)
	return nil
}

func (t *txn) PutLane(l *store.Lane) error {
	if err := t.b(bLanes).Put(laneKey(l.Key), encodeBody(l.Body)); err != nil {
		return fmt.Errorf("put lane %v: %w", l.Key, err)
	}
	t.s.writes.Add(1)
	return nil
}

func (t *txn) PutContext(c *store.Context) error {
	if err := t.b(bContexts).Put(contextKey(c.Project, c.KeptnContext), encodeBody(c.Body)); err != nil {
		return fmt.Errorf("put context %s/%s: %w", c.Project, c.KeptnContext, err)
	}
	t.s.writes.Add(1)
	return nil
}

func (t *txn) DeleteLane(key store.LaneKey) error {
	if err := t.b(bLanes).Delete(laneKey(key)); err != nil {
		return fmt.Errorf("delete lane %v: %w", key, err)
	}
	t.s.writes.Add(1)
	return nil
}

func (t *txn) putProject(p *store.Project) error {
	if err := t.b(bProjects).Put([]byte(p.Name), encodeProject(p)); err != nil {
		return fmt.Errorf("put project %s: %w", p.Name, err)
	}
	t.s.writes.Add(1)
	return nil
}

// GetRun implements store.Driver.
func (s *Driver) GetRun(ctx context.Context, id string) (r *store.Run, err error) {
	err = s.view(func(t *txn) error {
		r, err = t.GetRun(id)
		return err
	})
	return r, err
}

// HasProject reports whether the project exists, without decoding it.
func (s *Driver) HasProject(ctx context.Context, name string) (ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	// One read needs no snapshot: the history asks this for every event.
	btx := &kvTx{r: s.db}
	ok = btx.Bucket(bProjects).Get([]byte(name)) != nil
	return ok, btx.close()
}

// CreateProject implements store.Driver.
func (s *Driver) CreateProject(ctx context.Context, p *store.Project) error {
	return s.update(func(t *txn) error {
		if t.b(bProjects).Get([]byte(p.Name)) != nil {
			return fmt.Errorf("create project %s: %w", p.Name, store.ErrAlreadyExists)
		}
		return t.putProject(p)
	})
}

// GetProject implements store.Driver.
func (s *Driver) GetProject(ctx context.Context, name string) (p *store.Project, err error) {
	err = s.view(func(t *txn) error {
		p, err = t.GetProject(name)
		return err
	})
	return p, err
}

// UpdateProject implements store.Driver.
func (s *Driver) UpdateProject(ctx context.Context, name string, fn func(p *store.Project) error) error {
	return s.update(func(t *txn) error {
		p, err := t.GetProject(name)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err // a rename or an oversized body included (the portable layer's fn)
		}
		return t.putProject(p)
	})
}

// DeleteProject implements store.Driver. It is one transaction, so a project
// is either entirely there or entirely gone.
func (s *Driver) DeleteProject(ctx context.Context, name string) error {
	return s.update(func(t *txn) error {
		if t.b(bProjects).Get([]byte(name)) == nil {
			return fmt.Errorf("delete project %s: %w", name, store.ErrNotFound)
		}
		prefix := appendLP(nil, name)
		// Keys are collected before deleting, so the walk does not depend on
		// how a cursor behaves under deletes.
		for _, k := range keysWithPrefix(t.b(bRunsProject), prefix) {
			if err := t.deleteRun(string(k[len(prefix)+tkeyLen:])); err != nil {
				return fmt.Errorf("delete project %s: %w", name, err)
			}
		}
		for _, k := range keysWithPrefix(t.b(bEventsProject), prefix) {
			if err := t.deleteEvent(string(k[len(prefix)+tkeyLen:])); err != nil {
				return fmt.Errorf("delete project %s: %w", name, err)
			}
		}
		for _, bucket := range [][]byte{bLanes, bContexts, bResources} {
			b := t.b(bucket)
			for _, k := range keysWithPrefix(b, prefix) {
				if err := b.Delete(k); err != nil {
					return fmt.Errorf("delete project %s: %w", name, err)
				}
				t.s.writes.Add(1)
			}
		}
		if err := t.b(bProjects).Delete([]byte(name)); err != nil {
			return fmt.Errorf("delete project %s: %w", name, err)
		}
		t.s.writes.Add(1)
		return nil
	})
}

func keysWithPrefix(b *kvBucket, prefix []byte) [][]byte {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	return keys
}

func eventIndexKeys(e *store.Event) [][2][]byte {
	suffix := append(tkey(e.Time), e.ID...)
	keys := [][2][]byte{
		{bEventsTime, suffix},
		{bEventsProject, append(appendLP(nil, e.Project), suffix...)},
		{bEventsCtx, append(appendLP(nil, e.KeptnContext), suffix...)},
	}
	if e.TriggeredID != "" {
		keys = append(keys, [2][]byte{bEventsTrig, append(appendLP(nil, e.TriggeredID), suffix...)})
	}
	return keys
}

// AppendEvent implements store.Driver.
func (s *Driver) AppendEvent(ctx context.Context, e *store.Event) error {
	return s.update(appendEvent(e))
}

// AppendEventNoSync is AppendEvent answered once the event is written to
// the log, without waiting for the fdatasync: it survives a crash of the
// process at once, and is visible to readers and survives a crash of the
// machine after the sync that follows within milliseconds. The history
// takes events this way: it is fed by an at-least-once broker whose own
// queue is in memory, and a sync per event was a quarter of the local
// runtime's throughput. (Keptn's datastore wrote to MongoDB without
// journaling each insert either.)
func (s *Driver) AppendEventNoSync(ctx context.Context, e *store.Event) error {
	return s.updateNoSync(appendEvent(e))
}

func appendEvent(e *store.Event) func(t *txn) error {
	return func(t *txn) error {
		events := t.b(bEvents)
		if events.Get([]byte(e.ID)) != nil {
			return nil // the first version wins
		}
		for _, k := range eventIndexKeys(e) {
			if err := t.b(k[0]).Put(k[1], nil); err != nil {
				return fmt.Errorf("append event %s: index: %w", e.ID, err)
			}
		}
		if err := events.Put([]byte(e.ID), encodeEvent(e)); err != nil {
			return fmt.Errorf("append event %s: %w", e.ID, err)
		}
		t.s.writes.Add(1)
		return nil
	}
}

func (t *txn) deleteEvent(id string) error {
	v := t.b(bEvents).Get([]byte(id))
	if v == nil {
		return nil
	}
	e, d := decodeEventHeader(id, v)
	if d.err != nil {
		return fmt.Errorf("delete event %s: %w", id, d.err)
	}
	for _, k := range eventIndexKeys(e) {
		if err := t.b(k[0]).Delete(k[1]); err != nil {
			return fmt.Errorf("delete event %s: index: %w", id, err)
		}
	}
	if err := t.b(bEvents).Delete([]byte(id)); err != nil {
		return fmt.Errorf("delete event %s: %w", id, err)
	}
	t.s.writes.Add(1)
	return nil
}

// PutResource implements store.Driver.
func (s *Driver) PutResource(ctx context.Context, r *store.Resource) error {
	return s.update(func(t *txn) error {
		key := append(resourceLevel(r.Project, r.Stage, r.Service), r.URI...)
		if err := t.b(bResources).Put(key, encodeResource(r)); err != nil {
			return fmt.Errorf("put resource %s: %w", r.URI, err)
		}
		t.s.writes.Add(1)
		return nil
	})
}

// GetResource implements store.Driver.
func (s *Driver) GetResource(ctx context.Context, project, stage, service, uri string) (*store.Resource, error) {
	var res *store.Resource
	err := s.view(func(t *txn) error {
		v := t.b(bResources).Get(append(resourceLevel(project, stage, service), uri...))
		if v == nil {
			return fmt.Errorf("resource %s: %w", uri, store.ErrNotFound)
		}
		t.s.reads.Add(1)
		var err error
		res, err = decodeResource(project, stage, service, uri, v)
		return err
	})
	return res, err
}

func decodeResource(project, stage, service, uri string, v []byte) (*store.Resource, error) {
	d := newDecoder(v)
	r := &store.Resource{Project: project, Stage: stage, Service: service, URI: uri, UpdatedAt: d.time()}
	r.Content = d.rest()
	if d.err != nil {
		return nil, fmt.Errorf("resource %s: %w", uri, d.err)
	}
	return r, nil
}

// DeleteResource implements store.Driver.
func (s *Driver) DeleteResource(ctx context.Context, project, stage, service, uri string) error {
	return s.update(func(t *txn) error {
		b := t.b(bResources)
		key := append(resourceLevel(project, stage, service), uri...)
		if b.Get(key) == nil {
			return fmt.Errorf("delete resource %s: %w", uri, store.ErrNotFound)
		}
		if err := b.Delete(key); err != nil {
			return fmt.Errorf("delete resource %s: %w", uri, err)
		}
		t.s.writes.Add(1)
		return nil
	})
}
