package embedded

import (
	"bytes"
	"context"
	"fmt"

	"github.com/slipwayhq/slipway/shared/store"
)

// purgeBatch is how many events one deletion transaction removes: small
// enough that a transition queued behind it waits a millisecond or two.
const purgeBatch = 200

// PurgeHistory deletes old events of finished contexts (see
// store.HistoryPurge), oldest first, in transactions of purgeBatch events
// that are not waited on for the disk (a deletion lost to a crash is done
// again by the next purge).
func (s *Driver) PurgeHistory(ctx context.Context, q store.HistoryPurge) (int, error) {
	total := 0
	var after []byte // the index key the previous batch stopped after
	for q.Limit <= 0 || total < q.Limit {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n := purgeBatch
		if q.Limit > 0 && q.Limit-total < n {
			n = q.Limit - total
		}
		var deleted int
		var next []byte
		err := s.updateNoSync(func(t *txn) error {
			deleted = 0
			var err error
			next, err = t.purgeHistory(q, n, after, &deleted)
			return err
		})
		total += deleted
		if err != nil {
			return total, fmt.Errorf("purge history: %w", err)
		}
		if next == nil {
			return total, nil // reached Before
		}
		after = next
	}
	return total, nil
}

// purgeHistory deletes up to n events older than q.Before, oldest first,
// from the index key after after on. It reads at most 8n index entries, so
// the events of long-running contexts in front cannot make one transaction
// long, and returns the last key it read (nil when it reached Before).
func (t *txn) purgeHistory(q store.HistoryPurge, n int, after []byte, deleted *int) ([]byte, error) {
	limit := tkey(q.Before)
	finished := map[string]bool{}
	var ids []string
	c := t.b(bEventsTime).Cursor()
	read := 0
	k, _ := c.First()
	if after != nil {
		if k, _ = c.Seek(after); bytes.Equal(k, after) {
			k, _ = c.Next()
		}
	}
	var last, prev []byte
	for ; k != nil && bytes.Compare(k, limit) < 0; k, _ = c.Next() {
		if len(ids) >= n || read >= 8*n {
			last = k
			break
		}
		read++
		id := string(k[tkeyLen:])
		v := t.b(bEvents).Get([]byte(id))
		if v == nil {
			continue
		}
		e, d := decodeEventHeader(id, v)
		if d.err != nil {
			return nil, fmt.Errorf("event %s: %w", id, d.err)
		}
		key := string(contextKey(e.Project, e.KeptnContext))
		done, seen := finished[key]
		if !seen {
			var err error
			if done, err = t.contextFinished(e.Project, e.KeptnContext, q.Unfinished); err != nil {
				return nil, err
			}
			finished[key] = done
		}
		if done {
			ids = append(ids, id)
		}
		prev = k
	}
	for _, id := range ids {
		if err := t.deleteEvent(id); err != nil {
			return nil, err
		}
		*deleted++
	}
	if last != nil {
		return prev, nil // stopped early: go on after the last key read
	}
	return nil, nil
}

// contextFinished reports whether no run of the context is unfinished.
func (t *txn) contextFinished(project, keptnContext string, unfinished func(string) bool) (bool, error) {
	prefix := appendLP(appendLP(nil, project), keptnContext)
	c := t.b(bRunsCtx).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		id := string(k[len(prefix)+tkeyLen:])
		v := t.b(bRuns).Get([]byte(id))
		if v == nil {
			continue
		}
		r, d := decodeRunHeader(id, v)
		if d.err != nil {
			return false, fmt.Errorf("run %s: %w", id, d.err)
		}
		if unfinished != nil && unfinished(r.State) {
			return false, nil
		}
	}
	return true, nil
}
