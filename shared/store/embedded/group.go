package embedded

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Group commit: the engine runs one writer at a time and a durable commit
// waits for an fdatasync, so under concurrent load transactions would queue
// for one sync each. Instead, callers that arrive while a commit is running
// are gathered and run one after another inside the next single engine
// transaction, sharing its sync. There is no waiting window here: a lone
// caller commits at once (the engine may hold a sync back briefly when
// commits are concurrent). Each function still runs in a serial order and
// sees the writes of those before it, so the batch is equivalent to running
// them one by one.

// maxGroup bounds one group so a commit never holds the writer for long.
const maxGroup = 128

// lazySync is how soon a group of nosync members only is synced.
const lazySync = 2 * time.Millisecond

var errClosed = errors.New("store/embedded: closed")

type call struct {
	fn  func(t *txn) error
	err chan error
	// nosync: answer once the commit is written to the log, before its
	// sync (see AppendEventNoSync).
	nosync bool
}

type group struct {
	mu         sync.Mutex
	pending    []*call
	committing bool // a commitLoop is running
	idle       bool // it is waiting for work on wake
	wake       chan struct{}
}

// linger is how long an idle commitLoop waits for more work before it
// exits. Starting a new one per burst cost a goroutine and, on the
// engine's deep call paths, growing its stack again every time (1 % of
// the local runtime's CPU under load).
const linger = 50 * time.Millisecond

// update runs fn in a read-write transaction, possibly shared with other
// callers; fn's error is returned unchanged, commit errors are wrapped. fn may
// run more than once (when another member of its group fails), which the
// store contract allows.
func (s *Driver) update(fn func(t *txn) error) error {
	return s.enqueue(&call{fn: fn, err: make(chan error, 1)})
}

// updateNoSync is update answered as soon as the commit is in the log: it
// survives a crash of the process, and becomes visible to readers and
// survives a crash of the machine with the sync that follows within
// milliseconds.
func (s *Driver) updateNoSync(fn func(t *txn) error) error {
	return s.enqueue(&call{fn: fn, err: make(chan error, 1), nosync: true})
}

func (s *Driver) enqueue(c *call) error {
	s.group.mu.Lock()
	s.group.pending = append(s.group.pending, c)
	switch {
	case !s.group.committing:
		s.group.committing = true
		if s.group.wake == nil {
			s.group.wake = make(chan struct{}, 1)
		}
		go s.commitLoop()
	case s.group.idle:
		s.group.idle = false
		s.group.wake <- struct{}{} // buffered: the loop takes at most one
	}
	s.group.mu.Unlock()
	return <-c.err
}

// run calls the member's function; a panic becomes that member's error
// instead of killing the goroutine every member waits on.
func (c *call) run(t *txn) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store transaction panicked: %v", p)
		}
	}()
	return c.fn(t)
}

// commitLoop commits groups until nobody has been waiting for linger.
func (s *Driver) commitLoop() {
	timer := time.NewTimer(linger)
	defer timer.Stop()
	for {
		s.group.mu.Lock()
		batch := s.group.pending
		if len(batch) > maxGroup {
			batch, s.group.pending = batch[:maxGroup], batch[maxGroup:]
		} else {
			s.group.pending = nil
		}
		if len(batch) == 0 {
			s.group.idle = true
			s.group.mu.Unlock()
			timer.Reset(linger)
			select {
			case <-s.group.wake:
				continue
			case <-timer.C:
			}
			s.group.mu.Lock()
			if len(s.group.pending) > 0 {
				// Work came as the timer fired: enqueue sent a wake
				// (idle was still set), which the next wait must not
				// see as new work.
				s.group.mu.Unlock()
				<-s.group.wake
				continue
			}
			s.group.idle = false
			s.group.committing = false
			s.group.mu.Unlock()
			return
		}
		s.group.mu.Unlock()
		s.commit(batch)
	}
}

// commit runs a group in one transaction (an indexed Pebble batch). If a
// member fails, the group is rolled back, the failing member gets its own
// error by running alone, and the others are committed again without it.
// The members are answered once the commit is durable, by a goroutine of
// their own: meanwhile the loop already runs the next group on top of this
// one (Pebble syncs its log in order, so nobody hears of a commit that could
// still be lost), except nosync members, answered once it is written.
func (s *Driver) commit(batch []*call) {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		for _, c := range batch {
			c.err <- errClosed
		}
		return
	}
	held := true // the read lock, handed to the sync goroutine when there is one
	defer func() {
		if held {
			s.closeMu.RUnlock()
		}
	}()
	failed := -1
	b := s.db.NewIndexedBatch()
	btx := &kvTx{r: b, w: b}
	t := &txn{s: s, btx: btx}
	var err error
	for i, c := range batch {
		if err = c.run(t); err == nil {
			err = btx.err // a read that failed underneath the member
		}
		if err != nil {
			failed = i
			break
		}
	}
	if cerr := btx.close(); err == nil && cerr != nil {
		err = fmt.Errorf("store read: %w", cerr)
	}
	if err == nil && !b.Empty() {
		if err = s.roomFor(len(b.Repr())); err != nil {
			s.health.note(err)
			failed = -1 // the whole group is refused, not one member
		}
	}
	if err != nil {
		_ = b.Close()
		switch {
		case len(batch) == 1 || failed < 0:
			for _, c := range batch {
				c.err <- err
			}
		default:
			held = false
			s.closeMu.RUnlock()
			s.commit(batch[failed : failed+1])
			rest := append(append([]*call(nil), batch[:failed]...), batch[failed+1:]...)
			s.commit(rest)
		}
		return
	}
	waiting := batch[:0:0]
	for _, c := range batch {
		if !c.nosync || s.lazySync == 0 {
			waiting = append(waiting, c)
		}
	}
	if b.Empty() && len(waiting) > 0 && s.lazySync > 0 {
		// Nothing to write, but the members may have read commits that are
		// visible and not yet synced (a replayed event found "applied"):
		// they are answered once the last synced commit is durable (Pebble
		// syncs its log in order, so that covers all they read), so nobody
		// acts on a commit a crash could still take back. (A sync of its
		// own, tried first, cost a third of the load harness's throughput.)
		_ = b.Close()
		for _, c := range batch {
			if c.nosync {
				c.err <- nil
			}
		}
		last := s.lastSync.Load()
		if last == nil {
			for _, c := range waiting {
				c.err <- nil
			}
			return
		}
		go func() {
			<-last.done
			for _, c := range waiting {
				c.err <- last.err
			}
		}()
		return
	}
	if len(waiting) == 0 || s.lazySync == 0 {
		// Nobody waits for the disk: the commit is in the log (it survives
		// the process) and visible. It is synced a little later, when a
		// transition's sync most likely covered it already; syncing at once
		// made the next transition wait for this sync first.
		err := b.Commit(pebble.NoSync)
		_ = b.Close()
		s.lastNoSync.Store(s.commits.Add(1))
		s.health.note(err)
		if err != nil {
			err = fmt.Errorf("commit: %w", err)
		}
		for _, c := range batch {
			c.err <- err
		}
		if err == nil && s.lazySync > 0 {
			s.syncSoon()
		}
		return
	}
	raise(&s.lastSynced, s.commits.Add(1)) // before the apply: its sync covers every earlier record
	if err := s.db.ApplyNoSyncWait(b, pebble.Sync); err != nil {
		_ = b.Close()
		s.health.note(err)
		err = fmt.Errorf("commit: %w", err)
		for _, c := range batch {
			c.err <- err
		}
		return
	}
	for _, c := range batch {
		if c.nosync {
			c.err <- nil
		}
	}
	held = false
	synced := &syncDone{done: make(chan struct{})}
	s.lastSync.Store(synced)
	go func() {
		defer s.closeMu.RUnlock()
		err := b.SyncWait()
		_ = b.Close()
		s.health.note(err)
		if err != nil {
			err = fmt.Errorf("commit: %w", err)
		}
		synced.err = err
		close(synced.done)
		for _, c := range waiting {
			c.err <- err
		}
	}()
}

// syncSoon syncs the log after lazySync unless a sync is already scheduled.
// When the timer fires and a synced commit has followed the unsynced one
// that scheduled it, that commit's sync covered it (the log is synced in
// order); newer unsynced commits get a timer of their own. So while
// transitions keep coming, history and confirmations ride on their syncs,
// and a sync of its own happens only after a quiet lazySync: one that made
// the next transition wait behind it cost 0.8 ms per event one at a time.
func (s *Driver) syncSoon() {
	if !s.syncing.CompareAndSwap(false, true) {
		return
	}
	s.lazySyncAfter(s.lastNoSync.Load())
}

func (s *Driver) lazySyncAfter(pending uint64) {
	time.AfterFunc(s.lazySync, func() {
		s.closeMu.RLock()
		defer s.closeMu.RUnlock()
		if s.closed {
			s.syncing.Store(false)
			return
		}
		synced, newest := s.lastSynced.Load(), s.lastNoSync.Load()
		switch {
		case synced < pending:
			n := s.commits.Add(1) // every commit numbered below is in the log already
			err := s.db.LogData(nil, pebble.Sync)
			s.health.note(err)
			if err == nil {
				raise(&s.lastSynced, n)
			}
		case newest > synced:
			s.lazySyncAfter(newest)
			return
		}
		s.syncing.Store(false)
		if s.lastNoSync.Load() > s.lastSynced.Load() {
			s.syncSoon() // one came in meanwhile
		}
	})
}

// syncDone is closed once a synced commit is durable; err is its outcome,
// set before done is closed.
type syncDone struct {
	done chan struct{}
	err  error
}

// raise sets a to v unless it is already higher.
func raise(a *atomic.Uint64, v uint64) {
	for {
		cur := a.Load()
		if cur >= v || a.CompareAndSwap(cur, v) {
			return
		}
	}
}
