package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/slipwayhq/slipway/shared/store"
)

// fakeDriver has only what the hot path calls; the other methods of the
// embedded (nil) Driver would panic, which is how the test knows the layer
// calls nothing else.
type fakeDriver struct {
	store.Driver
	tx     fakeTx
	events int
	acks   int
}

func (d *fakeDriver) Features() store.Features { return store.Features{} }
func (d *fakeDriver) Close() error             { return nil }
func (d *fakeDriver) Update(_ context.Context, fn func(tx store.Tx) error) error {
	return fn(&d.tx)
}
func (d *fakeDriver) AppendEvent(context.Context, *store.Event) error { d.events++; return nil }
func (d *fakeDriver) AckOutbox(context.Context, string, int64) error  { d.acks++; return nil }

type fakeTx struct {
	store.Tx
	run *store.Run
}

func (t *fakeTx) GetRun(string) (*store.Run, error) { return t.run, nil }
func (t *fakeTx) PutRun(r *store.Run) error         { t.run = r; return nil }

// TestHotPathAllocatesNothing: the portable layer adds no allocation to a
// transition (Update with a read and a write), a confirmation or a history
// append, and no call the driver would not have had anyway. Under the race
// detector sync.Pool drops a quarter of what it is given, so the checking
// Tx is then sometimes allocated again.
func TestHotPathAllocatesNothing(t *testing.T) {
	d := &fakeDriver{}
	st := store.New(d)
	ctx := context.Background()
	run := &store.Run{ID: "r", Project: "p", Body: []byte(`{}`)}
	ev := &store.Event{ID: "e", Project: "p", Body: []byte(`{}`)}
	transition := func(tx store.Tx) error {
		r, err := tx.GetRun("r")
		if err != nil {
			return err
		}
		return tx.PutRun(r)
	}
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.PutRun(run) }); err != nil {
		t.Fatal(err)
	}
	limit := 0.0
	if raceEnabled {
		limit = 1
	}
	for name, fn := range map[string]func(){
		"Update": func() {
			if err := st.Update(ctx, transition); err != nil {
				t.Fatal(err)
			}
		},
		"AckOutbox":       func() { _ = st.AckOutbox(ctx, "r", 1) },
		"AppendEvent":     func() { _ = st.AppendEvent(ctx, ev) },
		"AppendEventLazy": func() { _ = st.Capabilities().AppendEventLazy(ctx, ev) },
	} {
		if n := testing.AllocsPerRun(200, fn); n > limit {
			t.Errorf("%s: %.2f allocations per call through the layer, want %v", name, n, limit)
		}
	}
	if d.events == 0 || d.acks == 0 || d.tx.run != run {
		t.Fatalf("the driver did not see the calls: events %d, acks %d", d.events, d.acks)
	}
}

// TestRuleErrorsWrapOnce: a refused record's error names it and wraps the
// rule's sentinel exactly once.
func TestRuleErrorsWrapOnce(t *testing.T) {
	st := store.New(&fakeDriver{})
	err := st.AppendEvent(context.Background(), &store.Event{ID: "e1", Body: make([]byte, store.MaxBody+1)})
	if !errors.Is(err, store.ErrTooLarge) || err.Error() != "event e1: 921601 bytes: store: record too large" {
		t.Fatalf("err = %v", err)
	}
	err = st.Update(context.Background(), func(tx store.Tx) error { return tx.PutRun(&store.Run{}) })
	if !errors.Is(err, store.ErrInvalid) || err.Error() != "put run: empty ID: store: invalid record" {
		t.Fatalf("err = %v", err)
	}
}
