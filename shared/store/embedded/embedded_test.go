package embedded_test

import (
	"path/filepath"
	"testing"

	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
	"github.com/slipwayhq/slipway/shared/store/storetest"
)

func open(t testing.TB, o embedded.Options) *embedded.Store {
	t.Helper()
	s, err := embedded.OpenOptions(filepath.Join(t.TempDir(), "slipway.db"), o)
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
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, embedded.Options{NoSync: true}) })
}

// TestReopen checks that committed data lives in the file: a store opened
// again on the same path (as after a process restart) sees it, indexes included.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slipway.db")
	s, err := embedded.Open(path)
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

	s, err = embedded.Open(path)
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
	s, err := embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s2, err := embedded.Open(path); err == nil {
		s2.Close()
		t.Fatal("second Open of a locked store succeeded")
	}
}

// BenchmarkTransition is one task-event transaction with fsync (the default).
func BenchmarkTransition(b *testing.B) {
	storetest.BenchmarkTransition(b, open(b, embedded.Options{}))
}

// BenchmarkTransitionNoSync is the same without fsync: the cost of the store
// itself, independent of the disk.
func BenchmarkTransitionNoSync(b *testing.B) {
	storetest.BenchmarkTransition(b, open(b, embedded.Options{NoSync: true}))
}
