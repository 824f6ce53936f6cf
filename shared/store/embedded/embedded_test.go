package embedded_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
	"github.com/slipwayhq/slipway/shared/store/storetest"
)

func open(t testing.TB, o embedded.Options) *embedded.Driver {
	t.Helper()
	s, err := embedded.OpenDriver(filepath.Join(t.TempDir(), "slipway.db"), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	// NoSync keeps the suite fast; durability is what TestReopen checks.
	storetest.Run(t, storetest.Harness{
		NewDriver: func(t *testing.T) store.Driver { return open(t, embedded.Options{NoSync: true}) },
		Flags: storetest.Flags{Integrations: true, Secrets: true, HasProject: true, AppendEventLazy: true,
			AckOutboxLazy: true, Health: true, PurgeHistory: true, Stats: true},
	})
}

// TestReopen checks that committed data lives in the file: a store opened
// again on the same path (as after a process restart) sees it, indexes included.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slipway.db")
	s, err := embedded.OpenDriver(path, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	err = s.Update(ctx, func(tx store.Tx) error {
		return tx.PutRun(&store.Run{ID: "r1", Project: "p", TaskTriggeredID: "t1", Body: []byte("state")})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateProject(ctx, &store.Project{Name: "p"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = embedded.OpenDriver(path, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Update(ctx, func(tx store.Tx) error {
		r, err := tx.RunByTask("p", "t1")
		if err != nil {
			return err
		}
		if string(r.Body) != "state" {
			t.Errorf("body after reopen = %q", r.Body)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("after reopen: %v", err)
	}
	if _, err := s.GetProject(ctx, "p"); err != nil {
		t.Fatalf("project after reopen: %v", err)
	}
}

// TestOpenLocked checks that a second Open of a store in use fails at once
// (the engine holds an exclusive lock on its directory).
func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slipway.db")
	s, err := embedded.OpenDriver(path, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s2, err := embedded.OpenDriver(path, embedded.Options{}); err == nil {
		s2.Close()
		t.Fatal("second Open of a locked store succeeded")
	}
}

// BenchmarkTransition is one task-event transaction with fsync (the default).
func BenchmarkTransition(b *testing.B) {
	storetest.BenchmarkTransition(b, store.New(open(b, embedded.Options{})))
}

// BenchmarkTransitionNoSync is the same without fsync: the cost of the store
// itself, independent of the disk.
func BenchmarkTransitionNoSync(b *testing.B) {
	storetest.BenchmarkTransition(b, store.New(open(b, embedded.Options{NoSync: true})))
}

// TestAppendEventNoSync: an event taken without waiting for the sync
// becomes visible to readers on its own (the driver syncs in the
// background), keeps its first version, and is there after a reopen; a
// failing member of the same group does not take it down.
func TestAppendEventNoSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slipway.db")
	s, err := embedded.OpenDriver(path, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	ev := func(id, body string) *store.Event {
		return &store.Event{ID: id, Project: "p", KeptnContext: "c", Type: "sh.keptn.event.a.triggered",
			Time: time.Unix(100, 0).UTC(), Body: []byte(body)}
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.AppendEventNoSync(ctx, ev(fmt.Sprint("e", i), `{"n":1}`)); err != nil {
				t.Error(err)
			}
		}()
	}
	// A member that fails in a group beside them.
	err = s.Update(ctx, func(tx store.Tx) error { return errors.New("refused") })
	if err == nil || err.Error() != "refused" {
		t.Fatalf("failing member: %v", err)
	}
	wg.Wait()
	if err := s.AppendEventNoSync(ctx, ev("e0", `{"n":2}`)); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		evs, _, err := s.ListEvents(ctx, store.EventQuery{Project: "p"}, store.Page{Size: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	deadline := time.Now().Add(10 * time.Second)
	for count() != 20 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 20 events visible after 10 s", count())
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = embedded.OpenDriver(path, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := count(); n != 20 {
		t.Fatalf("%d events after reopen, want 20", n)
	}
	got, _, err := s.ListEvents(ctx, store.EventQuery{ID: "e0"}, store.Page{})
	if err != nil || len(got) != 1 || string(got[0].Body) != `{"n":1}` {
		t.Fatalf("e0 = %v, %v (the first version wins)", got, err)
	}
}

// TestAckOutboxNoSync: the next transaction sees a confirmation taken
// without waiting for the sync at once, readers after the background sync.
func TestAckOutboxNoSync(t *testing.T) {
	s := open(t, embedded.Options{})
	ctx := t.Context()
	if err := s.Update(ctx, func(tx store.Tx) error {
		return tx.PutRun(&store.Run{ID: "r", Project: "p", State: "started", Body: []byte("body")})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.AckOutboxNoSync(ctx, "r", 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error {
		r, err := tx.GetRun("r")
		if err != nil {
			return err
		}
		if r.AckedSeq != 3 {
			return fmt.Errorf("transaction sees AckedSeq %d, want 3", r.AckedSeq)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := s.GetRun(ctx, "r")
		if err != nil {
			t.Fatal(err)
		}
		if r.AckedSeq == 3 && string(r.Body) == "body" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reader sees %+v after 10 s", r)
		}
		time.Sleep(time.Millisecond)
	}
}
