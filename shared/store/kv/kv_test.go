package kv

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// model is the reference the engine is checked against.
type model map[string]map[string]string

func open(t testing.TB, dir string, o Options) *DB {
	t.Helper()
	db, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// dump reads every bucket in order through cursors (forward and backward).
func dump(t testing.TB, db *DB, names []string) model {
	t.Helper()
	out := model{}
	err := db.View(func(tx *Tx) error {
		for _, name := range names {
			b := tx.Bucket([]byte(name))
			if b == nil {
				continue
			}
			m := map[string]string{}
			var fwd, back []string
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				m[string(k)] = string(v)
				fwd = append(fwd, string(k))
				if got := b.Get(k); !bytes.Equal(got, v) {
					return fmt.Errorf("Get(%q) = %q, cursor says %q", k, got, v)
				}
			}
			for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
				back = append(back, string(k))
			}
			if !sort.StringsAreSorted(fwd) || len(fwd) != len(back) {
				return fmt.Errorf("bucket %s: forward %v backward %v", name, fwd, back)
			}
			if b.Len() != len(m) {
				return fmt.Errorf("bucket %s: Len %d, %d keys", name, b.Len(), len(m))
			}
			out[name] = m
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func equal(a, b model) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// randomWork applies n random transactions to db and the model; about one in
// ten fails on purpose and must leave nothing behind.
func randomWork(t testing.TB, db *DB, m model, r *rand.Rand, n int) {
	t.Helper()
	names := []string{"a", "b", "c"}
	for i := range n {
		fail := r.IntN(10) == 0
		pending := model{}
		for k, v := range m {
			pending[k] = map[string]string{}
			for kk, vv := range v {
				pending[k][kk] = vv
			}
		}
		err := db.Update(func(tx *Tx) error {
			for range 1 + r.IntN(8) {
				name := names[r.IntN(len(names))]
				b, err := tx.CreateBucketIfNotExists([]byte(name))
				if err != nil {
					return err
				}
				if pending[name] == nil {
					pending[name] = map[string]string{}
				}
				k := fmt.Sprintf("k%03d", r.IntN(200))
				if r.IntN(3) == 0 {
					if err := b.Delete([]byte(k)); err != nil {
						return err
					}
					delete(pending[name], k)
					continue
				}
				v := bytes.Repeat([]byte{byte('a' + i%26)}, r.IntN(64))
				if err := b.Put([]byte(k), v); err != nil {
					return err
				}
				pending[name][k] = string(v)
			}
			if fail {
				return errors.New("boom")
			}
			return nil
		})
		if fail != (err != nil) {
			t.Fatalf("tx %d: fail=%v err=%v", i, fail, err)
		}
		if !fail {
			for k := range m {
				delete(m, k)
			}
			for k, v := range pending {
				m[k] = v
			}
		}
	}
}

func TestRandomAgainstModelAndReopen(t *testing.T) {
	for _, compact := range []int64{0, 2 << 10} {
		t.Run(fmt.Sprintf("compact=%d", compact), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "db")
			o := Options{NoSync: true, CompactBytes: compact}
			db := open(t, dir, o)
			m := model{}
			r := rand.New(rand.NewPCG(1, 2))
			names := []string{"a", "b", "c"}
			for round := range 4 {
				randomWork(t, db, m, r, 300)
				db.WaitCompaction()
				if got := dump(t, db, names); !equal(got, m) {
					t.Fatalf("round %d: engine and model differ\n got %v\nwant %v", round, got, m)
				}
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				db = open(t, dir, o)
				if got := dump(t, db, names); !equal(got, m) {
					t.Fatalf("round %d after reopen: engine and model differ\n got %v\nwant %v", round, got, m)
				}
			}
			st := db.Stats()
			if st.SnapshotErr != nil {
				t.Fatal(st.SnapshotErr)
			}
			if compact > 0 && st.SnapshotSize == 0 {
				t.Fatal("no snapshot written with a 2 KiB threshold")
			}
			logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
			snaps, _ := filepath.Glob(filepath.Join(dir, "*.snap"))
			if compact > 0 && (len(logs) > 2 || len(snaps) != 1) {
				t.Fatalf("old files were not removed: logs %v, snapshots %v", logs, snaps)
			}
			_ = db.Close()
		})
	}
}

// A crash during a write leaves part of a record at the end of the log; that
// commit never returned, so recovery drops it and keeps everything before.
func TestTornTailIsCut(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	db := open(t, dir, Options{})
	put := func(db *DB, k, v string) {
		t.Helper()
		if err := db.Update(func(tx *Tx) error {
			b, _ := tx.CreateBucketIfNotExists([]byte("b"))
			return b.Put([]byte(k), []byte(v))
		}); err != nil {
			t.Fatal(err)
		}
	}
	put(db, "one", "1")
	put(db, "two", "2")
	logPath := db.log.f.Name()
	_ = db.Close()
	raw, _ := os.ReadFile(logPath)
	_, firstLen, err := nextRecord(raw)
	if err != nil {
		t.Fatal(err)
	}
	for cut := 1; cut <= len(raw)-firstLen; cut++ {
		if err := os.WriteFile(logPath, raw[:len(raw)-cut], 0o600); err != nil {
			t.Fatal(err)
		}
		db := open(t, dir, Options{})
		got := dump(t, db, []string{"b"})
		if want := (model{"b": {"one": "1"}}); !equal(got, want) {
			t.Fatalf("cut %d bytes: got %v, want %v", cut, got, want)
		}
		// The database goes on from there and keeps new commits.
		put(db, "three", "3")
		_ = db.Close()
		db = open(t, dir, Options{})
		if got := dump(t, db, []string{"b"}); !equal(got, model{"b": {"one": "1", "three": "3"}}) {
			t.Fatalf("after cut %d and a new commit: %v", cut, got)
		}
		_ = db.Close()
		// Start over from the two-record log for the next cut.
		removeBefore(dir, 1<<62)
		if err := os.WriteFile(logPath, raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// Damage before the last log is not a torn write: refuse to open rather than
// silently drop committed data.
func TestCorruptOlderLogRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	db := open(t, dir, Options{NoSync: true})
	_ = db.Update(func(tx *Tx) error {
		b, _ := tx.CreateBucketIfNotExists([]byte("b"))
		return b.Put([]byte("k"), []byte("v"))
	})
	first := db.log.f.Name()
	_ = db.Close()
	db = open(t, dir, Options{NoSync: true}) // starts a second log
	_ = db.Update(func(tx *Tx) error { return tx.Bucket([]byte("b")).Put([]byte("k2"), []byte("v")) })
	_ = db.Close()
	raw, _ := os.ReadFile(first)
	raw[len(raw)-1] ^= 0xff
	_ = os.WriteFile(first, raw, 0o600)
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("a corrupt record in an older log was accepted")
	}
}

func TestReadOnlyAndIsolation(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "db"), Options{NoSync: true})
	defer db.Close()
	_ = db.Update(func(tx *Tx) error {
		b, _ := tx.CreateBucketIfNotExists([]byte("b"))
		return b.Put([]byte("k"), []byte("old"))
	})
	err := db.View(func(tx *Tx) error {
		b := tx.Bucket([]byte("b"))
		if err := b.Put([]byte("k"), nil); !errors.Is(err, ErrTxReadOnly) {
			t.Errorf("Put in View: %v", err)
		}
		// A commit during the read does not change what the read sees.
		if err := db.Update(func(tx *Tx) error { return tx.Bucket([]byte("b")).Put([]byte("k"), []byte("new")) }); err != nil {
			return err
		}
		if got := string(b.Get([]byte("k"))); got != "old" {
			t.Errorf("reader saw %q during its transaction", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.View(func(tx *Tx) error {
		if got := string(tx.Bucket([]byte("b")).Get([]byte("k"))); got != "new" {
			t.Errorf("after commit: %q", got)
		}
		if tx.Bucket([]byte("missing")) != nil {
			t.Error("missing bucket is not nil")
		}
		return nil
	})
	// Empty values exist; absent keys are nil.
	_ = db.Update(func(tx *Tx) error { return tx.Bucket([]byte("b")).Put([]byte("e"), nil) })
	_ = db.View(func(tx *Tx) error {
		if v := tx.Bucket([]byte("b")).Get([]byte("e")); v == nil || len(v) != 0 {
			t.Errorf("empty value: %v", v)
		}
		if v := tx.Bucket([]byte("b")).Get([]byte("zz")); v != nil {
			t.Errorf("absent key: %v", v)
		}
		return nil
	})
}

func TestOpenRefusesAFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "slipway.db")
	_ = os.WriteFile(p, []byte("bolt"), 0o600)
	if _, err := Open(p, Options{}); err == nil {
		t.Fatal("opened a plain file as a store directory")
	}
}

// FuzzRecover: whatever bytes the last log holds, Open neither panics nor
// invents keys: it recovers a prefix of the records or refuses.
func FuzzRecover(f *testing.F) {
	var rec []byte
	rec = frame(rec, appendOp(appendOp(nil, opCreate, "b", nil, nil), opPut, "b", []byte("k"), []byte("v")))
	f.Add(rec)
	f.Add(append(append([]byte(nil), rec...), rec[:5]...))
	f.Add([]byte{255, 255, 255, 255, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, fileName(1, ".log")), raw, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := Open(dir, Options{NoSync: true})
		if err != nil {
			return
		}
		defer db.Close()
		// Whatever was recovered must survive another reopen unchanged.
		_ = db.View(func(tx *Tx) error { return nil })
	})
}

func BenchmarkCommit(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run(fmt.Sprintf("sync=%v", sync), func(b *testing.B) {
			db := open(b, filepath.Join(b.TempDir(), "db"), Options{NoSync: !sync})
			defer db.Close()
			v := bytes.Repeat([]byte("x"), 2000)
			b.ReportAllocs()
			for i := range b.N {
				err := db.Update(func(tx *Tx) error {
					bk, _ := tx.CreateBucketIfNotExists([]byte("runs"))
					ix, _ := tx.CreateBucketIfNotExists([]byte("runs.time"))
					k := fmt.Appendf(nil, "%08d", i%5000)
					if err := bk.Put(k, v); err != nil {
						return err
					}
					return ix.Put(append([]byte("t"), k...), nil)
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestSecondOpenFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	db := open(t, dir, Options{NoSync: true})
	if db2, err := Open(dir, Options{NoSync: true}); err == nil {
		_ = db2.Close()
		t.Fatal("a second Open of a store in use succeeded")
	}
	_ = db.Close()
	db = open(t, dir, Options{NoSync: true}) // free again after Close
	_ = db.Close()
}

// A commit written but not yet durable is seen by the next writer and by no
// reader; durable publishes it.
func TestUpdateNoWaitVisibility(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "db"), Options{})
	defer db.Close()
	durable, err := db.UpdateNoWait(func(tx *Tx) error {
		b, _ := tx.CreateBucketIfNotExists([]byte("b"))
		return b.Put([]byte("k"), []byte("1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.View(func(tx *Tx) error {
		if tx.Bucket([]byte("b")) != nil {
			t.Error("a reader saw a commit before it was durable")
		}
		return nil
	})
	durable2, err := db.UpdateNoWait(func(tx *Tx) error {
		b := tx.Bucket([]byte("b"))
		if b == nil || string(b.Get([]byte("k"))) != "1" {
			return errors.New("the next writer did not see the previous commit")
		}
		return b.Put([]byte("k"), []byte("2"))
	})
	if err != nil {
		t.Fatal(err)
	}
	// The later commit's sync covers the earlier one; publishing the earlier
	// afterwards must not roll readers back.
	if err := durable2(); err != nil {
		t.Fatal(err)
	}
	if err := durable(); err != nil {
		t.Fatal(err)
	}
	_ = db.View(func(tx *Tx) error {
		if got := string(tx.Bucket([]byte("b")).Get([]byte("k"))); got != "2" {
			t.Errorf("reader sees %q, want 2", got)
		}
		return nil
	})
}

// Concurrent durable commits share syncs and all survive a reopen.
func TestConcurrentCommitsDurable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	db := open(t, dir, Options{CompactBytes: 4 << 10})
	_ = db.Update(func(tx *Tx) error { _, err := tx.CreateBucketIfNotExists([]byte("b")); return err })
	const goroutines, each = 8, 50
	errs := make(chan error, goroutines)
	for g := range goroutines {
		go func() {
			for i := range each {
				if err := db.Update(func(tx *Tx) error {
					return tx.Bucket([]byte("b")).Put(fmt.Appendf(nil, "%d-%03d", g, i), bytes.Repeat([]byte("v"), 100))
				}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range goroutines {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	_ = db.Close()
	db = open(t, dir, Options{})
	defer db.Close()
	if n := len(dump(t, db, []string{"b"})["b"]); n != goroutines*each {
		t.Fatalf("%d keys after reopen, want %d", n, goroutines*each)
	}
}

// BenchmarkSmallCommits is the history's shape: one small record and four
// index entries per commit, random keys, into buckets that already hold
// 20,000 keys each (copy-on-write cost grows with the tree).
func BenchmarkSmallCommits(b *testing.B) {
	db := open(b, filepath.Join(b.TempDir(), "db"), Options{NoSync: true})
	defer db.Close()
	names := [][]byte{[]byte("events"), []byte("events.time"), []byte("events.ctx"), []byte("events.trig"), []byte("events.project")}
	r := rand.New(rand.NewPCG(1, 1))
	put := func(i int) error {
		return db.Update(func(tx *Tx) error {
			for j, n := range names {
				bk, err := tx.CreateBucketIfNotExists(n)
				if err != nil {
					return err
				}
				v := []byte(nil)
				if j == 0 {
					v = make([]byte, 600)
				}
				if err := bk.Put(fmt.Appendf(nil, "%016x-%d", r.Uint64(), i), v); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for i := range 20000 {
		if err := put(i); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := put(i); err != nil {
			b.Fatal(err)
		}
	}
}

// Each Open starts a log; short sessions that never fill one must not pile
// up files to replay: past maxOldLogs closed logs, a snapshot is taken.
func TestLogsOfEarlierSessionsAreCompacted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	o := Options{NoSync: true, CompactBytes: 1 << 20} // never reached by size
	const sessions = 40
	for i := range sessions {
		db := open(t, dir, o)
		if err := db.Update(func(tx *Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			return b.Put(fmt.Appendf(nil, "k%02d", i), bytes.Repeat([]byte("v"), 200))
		}); err != nil {
			t.Fatal(err)
		}
		db.WaitCompaction()
		if err := db.Stats().SnapshotErr; err != nil {
			t.Fatal(err)
		}
		_ = db.Close()
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	snaps, _ := filepath.Glob(filepath.Join(dir, "*.snap"))
	if len(logs) > maxOldLogs+1 || len(snaps) != 1 {
		t.Fatalf("after %d sessions: %d logs, %d snapshots", sessions, len(logs), len(snaps))
	}
	db := open(t, dir, o)
	defer db.Close()
	if n := len(dump(t, db, []string{"b"})["b"]); n != sessions {
		t.Fatalf("%d keys, want %d", n, sessions)
	}
}

// Snapshots taken while writers and readers keep going: every commit is
// there afterwards and after a reopen, and readers never see a torn state.
func TestCompactionUnderLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	o := Options{CompactBytes: 8 << 10}
	db := open(t, dir, o)
	_ = db.Update(func(tx *Tx) error {
		_, err := tx.CreateBucketIfNotExists([]byte("a"))
		if err == nil {
			_, err = tx.CreateBucketIfNotExists([]byte("b"))
		}
		return err
	})
	const writers, each = 4, 150
	done := make(chan error, writers+1)
	stop := make(chan struct{})
	// Every commit writes the same key to a and b: a reader must always
	// find them equal.
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			err := db.View(func(tx *Tx) error {
				a, b := tx.Bucket([]byte("a")), tx.Bucket([]byte("b"))
				if a.Len() != b.Len() {
					return fmt.Errorf("reader saw %d keys in a, %d in b", a.Len(), b.Len())
				}
				return nil
			})
			if err != nil {
				done <- err
				return
			}
		}
	}()
	for w := range writers {
		go func() {
			for i := range each {
				k := fmt.Appendf(nil, "%d-%03d", w, i)
				v := bytes.Repeat([]byte{byte('a' + w)}, 64)
				if err := db.Update(func(tx *Tx) error {
					if err := tx.Bucket([]byte("a")).Put(k, v); err != nil {
						return err
					}
					return tx.Bucket([]byte("b")).Put(k, v)
				}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range writers {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	db.WaitCompaction()
	st := db.Stats()
	if st.SnapshotErr != nil || st.SnapshotSize == 0 {
		t.Fatalf("no snapshot under load: %+v", st)
	}
	want := dump(t, db, []string{"a", "b"})
	if len(want["a"]) != writers*each || len(want["b"]) != writers*each {
		t.Fatalf("a has %d keys, b %d, want %d", len(want["a"]), len(want["b"]), writers*each)
	}
	_ = db.Close()
	db = open(t, dir, o)
	defer db.Close()
	if got := dump(t, db, []string{"a", "b"}); !equal(got, want) {
		t.Fatal("state after reopen differs from before")
	}
}

// A crash while a snapshot was written leaves a .tmp file: it is not a
// snapshot and is removed; the logs it would have covered are still there.
func TestUnfinishedSnapshotIgnored(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	db := open(t, dir, Options{NoSync: true})
	_ = db.Update(func(tx *Tx) error {
		b, _ := tx.CreateBucketIfNotExists([]byte("b"))
		return b.Put([]byte("k"), []byte("v"))
	})
	_ = db.Close()
	tmp := filepath.Join(dir, fileName(99, ".tmp"))
	_ = os.WriteFile(tmp, []byte("half a snapshot"), 0o600)
	db = open(t, dir, Options{NoSync: true})
	defer db.Close()
	if got := dump(t, db, []string{"b"}); !equal(got, model{"b": {"k": "v"}}) {
		t.Fatalf("got %v", got)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("unfinished snapshot left behind: %v", err)
	}
}

// A transaction that writes nothing still waits for the writes it read:
// "already there" must not be answered from a commit that is not on disk.
func TestReadOnlyUpdateWaitsForWhatItRead(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "db"), Options{})
	defer db.Close()
	durable, err := db.UpdateNoWait(func(tx *Tx) error {
		b, _ := tx.CreateBucketIfNotExists([]byte("b"))
		return b.Put([]byte("k"), []byte("v"))
	})
	if err != nil {
		t.Fatal(err)
	}
	var saw bool
	if err := db.Update(func(tx *Tx) error {
		saw = tx.Bucket([]byte("b")).Get([]byte("k")) != nil
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !saw {
		t.Fatal("the next writer did not see the previous commit")
	}
	// Update returned, so what it saw is durable and visible to readers,
	// although the first commit's own waiter has not run yet.
	_ = db.View(func(tx *Tx) error {
		if tx.Bucket([]byte("b")) == nil {
			t.Error("Update returned before the commit it read was durable")
		}
		return nil
	})
	if err := durable(); err != nil {
		t.Fatal(err)
	}
}

// fill20k opens a database whose bucket "b" holds 20,000 random keys (the
// size BenchmarkSmallCommits' buckets reach) and returns the keys.
func fill20k(b *testing.B) (*DB, [][]byte) {
	db := open(b, filepath.Join(b.TempDir(), "db"), Options{NoSync: true})
	r := rand.New(rand.NewPCG(2, 2))
	keys := make([][]byte, 20000)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "%016x-%d", r.Uint64(), i)
	}
	err := db.Update(func(tx *Tx) error {
		bk, err := tx.CreateBucketIfNotExists([]byte("b"))
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := bk.Put(k, make([]byte, 100)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return db, keys
}

// BenchmarkGet: point lookups of existing keys in a bucket of 20,000.
func BenchmarkGet(b *testing.B) {
	db, keys := fill20k(b)
	defer db.Close()
	b.ReportAllocs()
	_ = db.View(func(tx *Tx) error {
		bk := tx.Bucket([]byte("b"))
		b.ResetTimer()
		for i := range b.N {
			if bk.Get(keys[(i*7919)%len(keys)]) == nil {
				b.Fatal("key not found")
			}
		}
		return nil
	})
}

// BenchmarkSeek: a prefix scan's shape, a Seek and ten Nexts, in a bucket of
// 20,000 keys.
func BenchmarkSeek(b *testing.B) {
	db, keys := fill20k(b)
	defer db.Close()
	b.ReportAllocs()
	_ = db.View(func(tx *Tx) error {
		c := tx.Bucket([]byte("b")).Cursor()
		b.ResetTimer()
		for i := range b.N {
			k, _ := c.Seek(keys[(i*7919)%len(keys)][:8])
			for range 10 {
				if k == nil {
					break
				}
				k, _ = c.Next()
			}
		}
		return nil
	})
}

// BenchmarkGroupCommit is the embedded driver's shape: 16 buckets, and a
// group of 8 callers in one UpdateNoWait, each reading a record, writing it
// back and moving its entries in three time-ordered indexes (out of the
// middle, onto the end of the index or of its project's part of it); the
// buckets hold 20,000 keys.
func BenchmarkGroupCommit(b *testing.B) {
	db := open(b, filepath.Join(b.TempDir(), "db"), Options{NoSync: true})
	defer db.Close()
	var names [][]byte
	for i := range 16 {
		names = append(names, fmt.Appendf(nil, "bucket.%02d", i))
	}
	r := rand.New(rand.NewPCG(3, 3))
	const ids = 20000
	var clock uint64
	last := make([]uint64, ids) // each id's index time, so its old index keys are known
	ikey := func(j, id int, t uint64) []byte {
		return fmt.Appendf(nil, "%02d%012x-%06d", id%(1+(j-1)*8), t, id)
	}
	rec := make([]byte, 600)
	call := func(tx *Tx, id int) error {
		main := tx.Bucket(names[0])
		_ = main.Get(fmt.Appendf(nil, "run-%06d", id))
		if err := main.Put(fmt.Appendf(nil, "run-%06d", id), rec); err != nil {
			return err
		}
		clock++
		for j := 1; j <= 3; j++ {
			ix := tx.Bucket(names[j])
			if err := ix.Delete(ikey(j, id, last[id])); err != nil {
				return err
			}
			if err := ix.Put(ikey(j, id, clock), nil); err != nil {
				return err
			}
		}
		last[id] = clock
		return nil
	}
	err := db.Update(func(tx *Tx) error {
		for _, n := range names {
			if _, err := tx.CreateBucketIfNotExists(n); err != nil {
				return err
			}
		}
		for _, id := range r.Perm(ids) {
			if err := call(tx, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		durable, err := db.UpdateNoWait(func(tx *Tx) error {
			for range 8 {
				if err := call(tx, r.IntN(ids)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := durable(); err != nil {
			b.Fatal(err)
		}
	}
}

// Writes between cursor steps and during ForEach: a step goes on from the
// last key returned, ForEach sees the bucket as it was when it began.
func TestCursorAndForEachWithWrites(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "db"), Options{NoSync: true})
	defer db.Close()
	err := db.Update(func(tx *Tx) error {
		b, _ := tx.CreateBucketIfNotExists([]byte("b"))
		for i := range 2000 {
			if err := b.Put(fmt.Appendf(nil, "%05d", i*2), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *Tx) error {
		b := tx.Bucket([]byte("b"))
		// Forward: delete each key returned and insert the odd key after it.
		c := b.Cursor()
		n := 0
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			var i int
			fmt.Sscanf(string(k), "%05d", &i)
			if i%2 == 1 {
				return fmt.Errorf("forward cursor returned inserted key %s", k)
			}
			if i != n*2 {
				return fmt.Errorf("forward cursor at %s, want %05d", k, n*2)
			}
			n++
			if err := b.Delete(k); err != nil {
				return err
			}
			if err := b.Put(fmt.Appendf(nil, "%05d", i-1), nil); err != nil {
				return err
			}
		}
		if n != 2000 || b.Len() != 2000 {
			return fmt.Errorf("forward: %d steps, %d keys", n, b.Len())
		}
		// Backward over the odd keys, deleting the next one down meanwhile.
		n = 0
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			var i int
			fmt.Sscanf(string(k), "%05d", &i)
			if want := 3997 - n*4; i != want {
				return fmt.Errorf("backward cursor at %s, want %05d", k, want)
			}
			n++
			if err := b.Delete(fmt.Appendf(nil, "%05d", i-2)); err != nil {
				return err
			}
		}
		if n != 1000 || b.Len() != 1000 {
			return fmt.Errorf("backward: %d steps, %d keys", n, b.Len())
		}
		// ForEach sees the 1000 keys while fn deletes them and adds others.
		seen := 0
		err := b.ForEach(func(k, v []byte) error {
			seen++
			if err := b.Delete(k); err != nil {
				return err
			}
			return b.Put(append([]byte("x"), k...), k)
		})
		if err != nil {
			return err
		}
		if seen != 1000 || b.Len() != 1000 {
			return fmt.Errorf("ForEach saw %d, %d keys after", seen, b.Len())
		}
		if k, v := c.Seek([]byte("x")); k == nil || string(k) != "x"+string(v) {
			return fmt.Errorf("after ForEach: %q=%q", k, v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
