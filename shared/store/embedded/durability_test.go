package embedded_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
)

// The tests here damage the store's files the way a crash, a power loss or
// a failing disk does, and check the one promise that matters: the store
// either opens with every acknowledged (synced) transition, or refuses to
// open with a clear error. It never opens having silently dropped one.

// transition commits one synced transition: a run whose body names it.
func transition(t *testing.T, s *embedded.Driver, i int) {
	t.Helper()
	err := s.Update(t.Context(), func(tx store.Tx) error {
		return tx.PutRun(&store.Run{ID: fmt.Sprintf("run-%04d", i), Project: "p",
			TaskTriggeredID: fmt.Sprintf("task-%04d", i), Body: []byte(strings.Repeat("x", 64) + fmt.Sprint(i))})
	})
	if err != nil {
		t.Fatalf("transition %d: %v", i, err)
	}
}

// missing returns the runs of 0..n-1 that the store lost, each looked up by
// id and through its task index.
func missing(t *testing.T, s *embedded.Driver, n int) []int {
	t.Helper()
	var lost []int
	for i := range n {
		r, err := s.GetRun(t.Context(), fmt.Sprintf("run-%04d", i))
		if err != nil || !strings.HasSuffix(string(r.Body), "x"+fmt.Sprint(i)) {
			lost = append(lost, i)
			continue
		}
		err = s.Update(t.Context(), func(tx store.Tx) error {
			_, err := tx.RunByTask("p", fmt.Sprintf("task-%04d", i))
			return err
		})
		if err != nil {
			lost = append(lost, i)
		}
	}
	return lost
}

// crashImage copies the files of an open store: what the disk holds after
// the process or the machine dies right now (every acknowledged commit is
// synced, so the page cache holds nothing the disk lacks).
func crashImage(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "image")
	copyDir(t, src, dst)
	return dst
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// newestLog returns the path of the newest write-ahead log in dir.
func newestLog(t *testing.T, dir string) string {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil || len(logs) == 0 {
		t.Fatalf("no write-ahead log in %s (%v)", dir, err)
	}
	slices.Sort(logs)
	return logs[len(logs)-1]
}

func size(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestTornLogTail truncates the log at every byte offset of its last record
// (the crash came while that record was written, so it was never
// acknowledged): every offset must open with all earlier transitions.
func TestTornLogTail(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s, err := embedded.OpenDriver(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const acked = 20
	for i := range acked {
		transition(t, s, i)
	}
	before := size(t, newestLog(t, dir))
	transition(t, s, acked) // the record the crash tears
	image := crashImage(t, dir)
	log := filepath.Base(newestLog(t, image))
	after := size(t, filepath.Join(image, log))
	if after <= before {
		t.Fatalf("the last transition did not grow the log (%d -> %d bytes)", before, after)
	}
	for off := before; off < after; off++ {
		try := filepath.Join(t.TempDir(), fmt.Sprint(off))
		copyDir(t, image, try)
		if err := os.Truncate(filepath.Join(try, log), off); err != nil {
			t.Fatal(err)
		}
		// Checked without syncs (the check writes nothing); the store that
		// goes on writing below is durable.
		o := embedded.Options{NoSync: (off-before)%16 != 0}
		r, err := embedded.OpenDriver(try, o)
		if err != nil {
			// Allowed by the promise, but a torn tail is the common crash: a
			// store that refused it would need an operator after every one.
			t.Fatalf("log cut at %d of %d: open: %v", off, after, err)
		}
		if lost := missing(t, r, acked); len(lost) > 0 {
			t.Errorf("log cut at %d of %d: acknowledged transitions lost: %v", off, after, lost)
		}
		if (off-before)%16 != 0 {
			r.Close()
			continue
		}
		// The store keeps working on the torn log: a new transition after
		// the tear is durable across another crash (the torn log is no
		// longer the newest one then; Pebble must not read its tear as
		// damage). Every 16th offset, to keep the test short.
		transition(t, r, acked+1)
		again := crashImage(t, try)
		r.Close()
		r2, err := embedded.OpenDriver(again, embedded.Options{})
		if err != nil {
			t.Fatalf("log cut at %d, recovered, written, crashed again: open: %v", off, err)
		}
		if lost := missing(t, r2, acked); len(lost) > 0 {
			t.Errorf("log cut at %d, second crash: lost %v", off, lost)
		}
		if _, err := r2.GetRun(t.Context(), fmt.Sprintf("run-%04d", acked+1)); err != nil {
			t.Errorf("log cut at %d: the transition acknowledged after recovery is lost: %v", off, err)
		}
		r2.Close()
	}
}

// TestFlippedByteMidLog flips one byte at several places in the middle of the
// log, each followed by synced transitions: the store must either keep them
// all or refuse to open, naming the damage.
func TestFlippedByteMidLog(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s, err := embedded.OpenDriver(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const acked = 200
	for i := range acked {
		transition(t, s, i)
	}
	image := crashImage(t, dir)
	log := filepath.Base(newestLog(t, image))
	n := size(t, filepath.Join(image, log))
	for _, frac := range []int64{10, 25, 50, 75} {
		t.Run(fmt.Sprintf("at%d%%", frac), func(t *testing.T) {
			try := filepath.Join(t.TempDir(), "store")
			copyDir(t, image, try)
			path := filepath.Join(try, log)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			at := n * frac / 100
			b[at] ^= 0x5a
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := embedded.OpenDriver(try, embedded.Options{})
			if err != nil {
				if !strings.Contains(err.Error(), "damaged") {
					t.Errorf("refused to open, but the error does not say why: %v", err)
				}
				t.Logf("byte %d of %d flipped: %v", at, n, err)
				return
			}
			defer r.Close()
			if lost := missing(t, r, acked); len(lost) > 0 {
				t.Errorf("byte %d of %d flipped: opened without %d acknowledged transitions (first %d)", at, n, len(lost), lost[0])
			}
		})
	}
}

// TestReopenCycles: everything survives Close and Open, and a
// process that reopens many times does not pile up logs.
func TestReopenCycles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	for round := range 10 {
		s, err := embedded.OpenDriver(dir, embedded.Options{})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i := round * 10; i < round*10+10; i++ {
			transition(t, s, i)
		}
		if lost := missing(t, s, round*10+10); len(lost) > 0 {
			t.Fatalf("round %d: lost %v", round, lost)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(logs) > 3 {
		t.Errorf("%d logs after 10 reopenings", len(logs))
	}
}

// FuzzWALDamage: the log check reads whatever bytes a damaged disk holds
// without panicking, and a log of valid chunks is never called damaged.
func FuzzWALDamage(f *testing.F) {
	f.Add([]byte{}, uint32(2))
	f.Add(make([]byte, 40), uint32(2))
	f.Add([]byte{1, 2, 3, 4, 5, 0, 9, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5}, uint32(2))
	f.Fuzz(func(t *testing.T, b []byte, logNum uint32) {
		at := embedded.WALDamage(b, logNum)
		if at >= len(b) {
			t.Fatalf("damage at %d beyond the %d bytes", at, len(b))
		}
	})
}

// TestOldEngineDirectory: a data directory written by store/kv is refused
// with a clear error instead of opened as a new, empty store beside it.
func TestOldEngineDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "0000000000000001.log"), []byte("kv"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := embedded.OpenDriver(dir, embedded.Options{})
	if err == nil {
		s.Close()
		t.Fatal("opened a store/kv directory")
	}
	if !strings.Contains(err.Error(), "earlier engine") {
		t.Errorf("error does not say why: %v", err)
	}
}
