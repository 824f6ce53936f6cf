// Package kv is the embedded store's storage engine: ordered key/value
// buckets held in memory, made durable by a write-ahead log and compacted into
// snapshots.
//
// Why not a B+tree file (bbolt, which the driver used first): a commit there
// rewrites every page on the path to each changed key and syncs twice, about
// 45 pages and 2 fdatasyncs per commit under the control plane's load, all in
// the single writer. Here a commit appends one checksummed record (the puts and
// deletes) to the log and syncs it once; the pages are never written, because
// the state lives in copy-on-write B-trees in memory (tree.go) and reaches the
// disk only as a snapshot, written in the background when the log has grown.
//
// The API mirrors the part of bbolt the driver uses (Update/View, buckets,
// cursors), with the same contract: one writer at a time, readers see the
// last committed state, values returned are valid after the transaction too
// (they are never modified in place).
//
// Durability: Update returns after the record is on disk (fdatasync), unless
// Options.NoSync. Recovery loads the newest complete snapshot and replays the
// logs after it; a torn record at the end of the last log (a crash during a
// write) is cut off, since its Update never returned.
package kv

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// ErrTxReadOnly is returned by writes in a View transaction.
var ErrTxReadOnly = errors.New("kv: write in a read-only transaction")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("kv: database closed")

// Options tune the engine; the zero value is durable with default compaction.
type Options struct {
	// NoSync skips fdatasync on commit: a process crash loses nothing, a
	// machine crash may lose the last commits (never corrupts). For tests.
	NoSync bool
	// SyncDelay is how long a sync waits for more commits to join it when
	// commits are arriving concurrently (one arrived during the previous
	// sync); a lone or sequential committer syncs at once (a first version
	// that keyed on "the last sync ended < 2 ms ago" made every sequential
	// commit sleep). 0 means 300 µs; negative turns it off. The sleep is at
	// least the OS timer's granularity (about 1.1 ms on the project VM). On
	// the load harness it took 155–161 runs/s to 167–190 and lowered the
	// queue hand-over p99: fewer fdatasyncs, each covering more commits,
	// left CPU to the rest.
	SyncDelay time.Duration
	// CompactBytes is how much log (bytes) triggers a snapshot; 0 means 64 MiB.
	// A snapshot is also deferred until the log outgrows the last snapshot, so
	// compaction costs at most about one rewrite per doubling.
	CompactBytes int64
}

const (
	defaultCompactBytes = 64 << 20
	defaultSyncDelay    = 300 * time.Microsecond
	// maxOldLogs: every Open starts a log, so many short sessions would
	// leave many small files to replay; past this many, compact anyway.
	maxOldLogs = 16
	// maxKeptBuf: a larger record buffer (a bulk load) is not kept for the
	// next commit.
	maxKeptBuf = 1 << 20
)

// An item is a pointer, so copying a B-tree node on write (every commit
// copies the path to each key it changes) moves 8 bytes per item, not 48,
// and allocates that much less.
type item = *entry

// An entry is a key and its value in a single allocation with no pointers
// in it: the two lengths, then the key, then the value. One object rather
// than a struct of two slices and their bytes: half the allocations, the
// GC need not scan it, and a key comparison touches one object.
type entry struct{ klen, vlen uint32 }

const entryHead = int(unsafe.Sizeof(entry{}))

// newEntry copies k and v; their lengths fit in uint32 (Put checks).
func newEntry(k, v []byte) item {
	n := entryHead + len(k) + len(v)
	// A multiple of 8 bytes is 8-aligned, even from the tiny allocator.
	buf := make([]byte, (n+7)&^7)
	copy(buf[copy(buf[entryHead:], k)+entryHead:], v)
	e := (*entry)(unsafe.Pointer(&buf[0]))
	e.klen, e.vlen = uint32(len(k)), uint32(len(v))
	return e
}

// all is the entry's allocation up to the end of the value.
func (e *entry) all() []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(e)), entryHead+int(e.klen)+int(e.vlen))
}

// key and value are full slices (cap = len): appending to one copies it.
// Slicing with a zero cap keeps the pointer inside the allocation.
func (e *entry) key() []byte {
	end := entryHead + int(e.klen)
	return e.all()[entryHead:end:end]
}

func (e *entry) value() []byte {
	return e.all()[entryHead+int(e.klen):]
}

// state is one committed version of every bucket. A published state is
// never modified: a writer clones the trees it changes (lazily, copy on
// write) and publishes a new state. Sorted slices rather than a map: a
// commit copies the trees (16 bytes a bucket), and names only when it
// creates a bucket.
type state struct {
	seq   uint64   // commits since Open, to publish states in order
	names []string // sorted
	trees []tree   // trees[i] is bucket names[i]
}

// index returns the position of name in s.names, or where it would go.
func (s *state) index(name []byte) (int, bool) {
	lo, hi := 0, len(s.names)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.names[m] < string(name) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(s.names) && s.names[lo] == string(name)
}

// DB is an open database directory.
type DB struct {
	dir  string
	opts Options
	lock *os.File // held until Close

	mu  sync.RWMutex // guards cur and closed
	cur *state       // the last durable state: what readers see
	// closed is set by Close; writes and reads fail after it.
	closed bool

	wmu    sync.Mutex // one writer at a time; guards the fields below
	tip    *state     // the last written state, possibly not yet synced
	log    *logFile   // switched only with syncMu held too
	failed error      // a failed log write: the state on disk is unknown, so stop
	buf    []byte     // the last commit's record buffer, reused by the next

	records atomic.Int64 // records written since Open (read by syncers)
	gens    gens         // owner tokens of tree nodes

	syncMu   sync.Mutex // guards the fields below
	syncCond *sync.Cond
	syncing  bool  // a waiter is running fdatasync
	synced   int64 // log position (bytes since Open, across files) on disk
	joined   int64 // commits written while the last sync ran: are commits concurrent?
	syncErr  error

	compact  sync.WaitGroup // the snapshot writer
	compMu   sync.Mutex     // guards the fields below
	busy     bool           // a snapshot is being written
	snapSz   int64          // size of the last snapshot
	oldLogs  int64          // bytes of closed logs no snapshot covers yet (earlier sessions, or rotated)
	oldFiles int            // and how many they are
	snapErr  error          // the last snapshot's failure, kept for Stats
}

// Open opens (creating if needed) the database in directory dir.
func Open(dir string, o Options) (*DB, error) {
	if o.CompactBytes <= 0 {
		o.CompactBytes = defaultCompactBytes
	}
	if o.SyncDelay == 0 {
		o.SyncDelay = defaultSyncDelay
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("open store %s: a file is there (a store from an older Slipway, or not a store); move it away", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	db := &DB{dir: dir, opts: o, lock: lock}
	st, next, snapSz, oldLogs, oldFiles, err := recoverDir(dir, &db.gens)
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	db.cur, db.tip, db.snapSz, db.oldLogs, db.oldFiles = st, st, snapSz, oldLogs, oldFiles
	db.syncCond = sync.NewCond(&db.syncMu)
	if db.log, err = createLog(dir, next); err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	return db, nil
}

// Close waits for a running snapshot and closes the log.
func (db *DB) Close() error {
	db.wmu.Lock()
	defer db.wmu.Unlock()
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	db.mu.Unlock()
	db.compact.Wait()
	db.syncMu.Lock()
	for db.syncing {
		db.syncCond.Wait()
	}
	err := db.log.close()
	if err == nil {
		db.synced = max(db.synced, db.log.end())
	} else if db.syncErr == nil {
		db.syncErr = err
	}
	db.syncCond.Broadcast()
	db.syncMu.Unlock()
	if cerr := db.lock.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("unlock: %w", cerr)
	}
	return err
}

// View runs fn in a read-only transaction on the last committed state.
func (db *DB) View(fn func(*Tx) error) error {
	db.mu.RLock()
	st, closed := db.cur, db.closed
	db.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	return fn(&Tx{base: st})
}

// Update runs fn in a read-write transaction and commits it when fn returns
// nil; an error from fn discards every write. Writers run one at a time.
// Update returns once the commit is on disk.
func (db *DB) Update(fn func(*Tx) error) error {
	durable, err := db.UpdateNoWait(fn)
	if err != nil {
		return err
	}
	return durable()
}

// UpdateNoWait is Update split in two, so a caller that commits groups of
// transactions can run the next group while this one is being synced: it runs
// fn and writes the commit's record, and the next writer already sees its
// writes. durable waits until the record is on disk and then makes the
// commit visible to readers; nobody may act on the commit before it returns.
// Syncs are shared: one fdatasync covers every record written before it.
func (db *DB) UpdateNoWait(fn func(*Tx) error) (durable func() error, err error) {
	db.wmu.Lock()
	defer db.wmu.Unlock()
	db.mu.RLock()
	closed := db.closed
	db.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	if db.failed != nil {
		return nil, db.failed
	}
	db.syncMu.Lock()
	serr := db.syncErr
	db.syncMu.Unlock()
	if serr != nil {
		return nil, serr
	}
	st := db.tip
	// The record is built after room for its header, so it is written
	// without another copy.
	tx := &Tx{base: st, writable: true, gens: &db.gens, ops: append(db.buf[:0], make([]byte, headerLen)...)}
	if err := fn(tx); err != nil {
		return nil, err
	}
	if cap(tx.ops) <= maxKeptBuf {
		db.buf = tx.ops[:0]
	}
	if len(tx.ops) == headerLen {
		// Nothing to write, but fn may have decided on writes not yet synced
		// ("already there, nothing to do"): its caller must not act before
		// they are on disk either.
		end := db.log.end()
		return func() error { return db.durable(end, st) }, nil
	}
	if n := len(tx.ops) - headerLen; n > maxRecord {
		// Recovery would take a longer record for a torn tail and drop it
		// with everything after it: refuse it before it reaches the log.
		return nil, fmt.Errorf("kv: a transaction of %d bytes exceeds the %d-byte record limit", n, maxRecord)
	}
	if err := db.log.write(tx.ops); err != nil {
		db.failed = fmt.Errorf("kv: log write failed, store is read-only until reopened: %w", err)
		return nil, db.failed
	}
	next := &state{seq: st.seq + 1, names: st.names, trees: slices.Clone(st.trees)}
	for _, b := range tx.opened {
		if b != nil && b.gen != 0 {
			next.trees[b.idx] = b.t
		}
	}
	if len(tx.created) > 0 {
		next.names = slices.Clone(next.names)
		for _, b := range tx.created {
			i, _ := next.index([]byte(b.name))
			next.names = slices.Insert(next.names, i, b.name)
			next.trees = slices.Insert(next.trees, i, b.t)
		}
	}
	db.tip = next
	db.records.Add(1)
	end := db.log.end()
	db.maybeCompact(next)
	return func() error { return db.durable(end, next) }, nil
}

// durable waits until the log is synced up to end, then publishes st to
// readers unless a newer state is already published. The first waiter that
// finds no sync running starts one for everything written so far; the others
// wait for it, so concurrent commits share fdatasyncs.
func (db *DB) durable(end int64, st *state) error {
	db.syncMu.Lock()
	for db.synced < end && db.syncErr == nil {
		if db.syncing {
			db.syncCond.Wait()
			continue
		}
		db.syncing = true
		if !db.opts.NoSync && db.opts.SyncDelay > 0 && db.joined >= 1 {
			// Commits keep arriving: let the ones a moment behind share this
			// sync rather than need the next (fdatasync costs CPU here too).
			db.syncMu.Unlock()
			time.Sleep(db.opts.SyncDelay)
			db.syncMu.Lock()
		}
		l := db.log // the log is only switched with syncMu held and no sync running
		target := l.end()
		before := db.records.Load()
		db.syncMu.Unlock()
		var err error
		if !db.opts.NoSync {
			err = l.sync()
		}
		db.syncMu.Lock()
		db.syncing = false
		db.joined = db.records.Load() - before
		if err != nil {
			db.syncErr = fmt.Errorf("kv: log sync failed, store is read-only until reopened: %w", err)
		} else {
			db.synced = max(db.synced, target)
		}
		db.syncCond.Broadcast()
	}
	var err error
	if db.synced < end {
		err = db.syncErr
	}
	db.syncMu.Unlock()
	if err != nil {
		return err
	}
	db.mu.Lock()
	if st.seq > db.cur.seq {
		db.cur = st
	}
	db.mu.Unlock()
	return nil
}

// maybeCompact starts a snapshot of st when the log has grown past the
// threshold and past the last snapshot. The writer switches to a new log
// first, so the snapshot covers exactly the logs before it; the logs are
// deleted only once the snapshot is on disk, so a failure loses nothing.
func (db *DB) maybeCompact(st *state) {
	db.compMu.Lock()
	defer db.compMu.Unlock()
	uncovered := db.oldLogs + db.log.size
	grown := uncovered >= db.opts.CompactBytes && uncovered >= db.snapSz
	if db.busy || !(grown || db.oldFiles >= maxOldLogs) {
		return
	}
	seq := db.log.seq + 1
	l, err := createLog(db.dir, seq)
	if err != nil {
		db.snapErr = err
		return
	}
	// The old log is synced and closed with no sync running on it; the new
	// one continues its positions.
	db.syncMu.Lock()
	for db.syncing {
		db.syncCond.Wait()
	}
	if err := db.log.close(); err != nil {
		db.syncMu.Unlock()
		_ = l.f.Close()
		_ = os.Remove(l.f.Name())
		db.snapErr = err
		// The log's file is closed and its last records may not be on disk.
		db.failed = fmt.Errorf("kv: log rotation failed, store is read-only until reopened: %w", err)
		return
	}
	l.base = db.log.end()
	db.synced = max(db.synced, l.base)
	db.log = l
	db.syncMu.Unlock()
	db.oldLogs, db.oldFiles = uncovered, db.oldFiles+1
	db.busy = true
	db.compact.Add(1)
	go func() {
		defer db.compact.Done()
		size, err := writeSnapshot(db.dir, seq, st)
		db.compMu.Lock()
		defer db.compMu.Unlock()
		db.busy = false
		db.snapErr = err
		if err == nil {
			db.snapSz = size
			db.oldLogs, db.oldFiles = 0, 0 // the snapshot covers every closed log
			removeBefore(db.dir, seq)
		}
	}()
}

// Stats describes the files, for tests and benchmarks.
type Stats struct {
	LogSeq       uint64
	LogBytes     int64
	SnapshotSize int64
	SnapshotErr  error
}

// Stats reports the current log and the last snapshot.
func (db *DB) Stats() Stats {
	db.wmu.Lock()
	defer db.wmu.Unlock()
	db.compMu.Lock()
	defer db.compMu.Unlock()
	return Stats{LogSeq: db.log.seq, LogBytes: db.log.size, SnapshotSize: db.snapSz, SnapshotErr: db.snapErr}
}

// WaitCompaction waits for a running snapshot to finish (tests).
func (db *DB) WaitCompaction() { db.compact.Wait() }

// Tx is a transaction. A Tx and its buckets and cursors belong to one
// goroutine and are valid only inside the function given the Tx.
type Tx struct {
	base     *state
	writable bool
	opened   []*Bucket // by index in base.names, made on first use
	created  []*Bucket // buckets this transaction created
	ops      []byte    // the log record being built, after room for its header
	gens     *gens     // writable: the DB's owner tokens
}

// Bucket returns the named bucket, or nil if it does not exist.
func (tx *Tx) Bucket(name []byte) *Bucket {
	i, ok := tx.base.index(name)
	if !ok {
		for _, b := range tx.created {
			if b.name == string(name) {
				return b
			}
		}
		return nil
	}
	if tx.opened == nil {
		tx.opened = make([]*Bucket, len(tx.base.names))
	}
	b := tx.opened[i]
	if b == nil {
		b = &Bucket{tx: tx, name: tx.base.names[i], idx: i, t: tx.base.trees[i]}
		tx.opened[i] = b
	}
	return b
}

// CreateBucketIfNotExists returns the named bucket, creating it if needed.
func (tx *Tx) CreateBucketIfNotExists(name []byte) (*Bucket, error) {
	if b := tx.Bucket(name); b != nil {
		return b, nil
	}
	if !tx.writable {
		return nil, ErrTxReadOnly
	}
	if len(name) == 0 || len(name) > 255 {
		return nil, fmt.Errorf("kv: bucket name of %d bytes (1–255)", len(name))
	}
	b := &Bucket{tx: tx, name: string(name), idx: -1, gen: tx.gens.next()}
	tx.created = append(tx.created, b)
	tx.ops = appendOp(tx.ops, opCreate, b.name, nil, nil)
	return b, nil
}

// Bucket is an ordered set of key/value pairs.
type Bucket struct {
	tx   *Tx
	name string
	idx  int // in tx.base.names; -1 if tx created the bucket
	t    tree
	// gen owns the nodes of t this transaction made (0 before the first
	// write), so it changes them in place and copies the others.
	gen  uint64
	mods uint64 // writes so far, so cursors know when to search again
}

// Get returns the value of k, or nil if absent. An existing key with an
// empty value returns a non-nil empty slice.
func (b *Bucket) Get(k []byte) []byte {
	it, ok := b.t.get(k)
	if !ok {
		return nil
	}
	return it.value()
}

func (b *Bucket) writable() error {
	if !b.tx.writable {
		return ErrTxReadOnly
	}
	if b.gen == 0 {
		b.gen = b.tx.gens.next()
	}
	return nil
}

// Put sets k to v. Both are copied.
func (b *Bucket) Put(k, v []byte) error {
	if len(k) == 0 {
		return errors.New("kv: empty key")
	}
	if uint64(len(k)) > math.MaxUint32 || uint64(len(v)) > math.MaxUint32 {
		// Never worked: a record's length field is 32 bits too.
		return errors.New("kv: key or value of 4 GiB or more")
	}
	if err := b.writable(); err != nil {
		return err
	}
	b.t.put(newEntry(k, v), b.gen)
	b.mods++
	b.tx.ops = appendOp(b.tx.ops, opPut, b.name, k, v)
	return nil
}

// Delete removes k; deleting an absent key is not an error.
func (b *Bucket) Delete(k []byte) error {
	if err := b.writable(); err != nil {
		return err
	}
	if b.t.delete(k, b.gen) {
		b.mods++
		b.tx.ops = appendOp(b.tx.ops, opDelete, b.name, k, nil)
	}
	return nil
}

// ForEach calls fn for every pair in key order. fn may write to the bucket;
// it sees the pairs as they were when ForEach began.
func (b *Bucket) ForEach(fn func(k, v []byte) error) error {
	t := b.t
	if b.gen != 0 {
		// Writes from fn must not change t's nodes in place: a new owner
		// copies them instead.
		b.gen = b.tx.gens.next()
	}
	var err error
	t.ascend(func(it item) bool {
		err = fn(it.key(), it.value())
		return err == nil
	})
	return err
}

// Len is the number of keys.
func (b *Bucket) Len() int { return b.t.len }

// Cursor returns a cursor over the bucket.
func (b *Bucket) Cursor() *Cursor { return &Cursor{b: b} }

// Cursor walks a bucket in key order. It keeps its path in the tree; after
// a write to the bucket a step searches again from the last key returned,
// so writes between steps are safe.
type Cursor struct {
	b    *Bucket
	cur  []byte
	mods uint64 // b.mods when it was positioned
	it   iter
}

func (c *Cursor) set() ([]byte, []byte) {
	c.mods = c.b.mods
	it := c.it.item()
	if it == nil {
		c.cur = nil
		return nil, nil
	}
	c.cur = it.key()
	return c.cur, it.value()
}

// First moves to the first key.
func (c *Cursor) First() ([]byte, []byte) {
	c.it.first(&c.b.t)
	return c.set()
}

// Last moves to the last key.
func (c *Cursor) Last() ([]byte, []byte) {
	c.it.last(&c.b.t)
	return c.set()
}

// Seek moves to the first key ≥ k.
func (c *Cursor) Seek(k []byte) ([]byte, []byte) {
	c.it.seek(&c.b.t, k)
	return c.set()
}

// Next moves to the first key after the current one.
func (c *Cursor) Next() ([]byte, []byte) {
	if c.cur == nil {
		return nil, nil
	}
	if c.mods == c.b.mods {
		c.it.next()
		return c.set()
	}
	c.it.seek(&c.b.t, c.cur)
	if it := c.it.item(); it != nil && bytes.Equal(it.key(), c.cur) {
		c.it.next()
	}
	return c.set()
}

// Prev moves to the last key before the current one.
func (c *Cursor) Prev() ([]byte, []byte) {
	if c.cur == nil {
		return nil, nil
	}
	if c.mods == c.b.mods {
		c.it.prev()
		return c.set()
	}
	c.it.seek(&c.b.t, c.cur)
	if c.it.item() == nil {
		c.it.last(&c.b.t) // every key is before cur
	} else {
		c.it.prev()
	}
	return c.set()
}
