package embedded_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
)

// Concurrent transactions share commits; a failing or panicking member gets
// its own error and does not take the others' writes with it.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	st, err := embedded.OpenDriver(filepath.Join(t.TempDir(), "g.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 60)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = st.Update(ctx, func(tx store.Tx) error {
				if err := tx.PutLane(&store.Lane{Key: store.LaneKey{Project: "p", Stage: "s", Service: string(rune('a' + i))}, Body: []byte("{}")}); err != nil {
					return err
				}
				switch i % 3 {
				case 1:
					return boom
				case 2:
					if i%2 == 0 {
						panic("bad transition")
					}
				}
				return nil
			})
		}(i)
	}
	wg.Wait()
	err = st.Update(ctx, func(tx store.Tx) error {
		for i, e := range errs {
			_, getErr := tx.GetLane(store.LaneKey{Project: "p", Stage: "s", Service: string(rune('a' + i))})
			failed := i%3 == 1 || (i%3 == 2 && i%2 == 0)
			if failed != (e != nil) || failed != errors.Is(getErr, store.ErrNotFound) {
				t.Errorf("member %d: err %v, lane lookup %v", i, e, getErr)
			}
			if i%3 == 1 && !errors.Is(e, boom) {
				t.Errorf("member %d: error %v, want its own", i, e)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
