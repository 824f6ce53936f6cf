package api

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"sync"

	"github.com/slipwayhq/slipway/shared/store"
)

// Keptn's datastore pages the history by offset: nextPageKey is the number
// of events before the next page ("0" when nothing follows), and go-utils
// parses it with strconv.Atoi to count pages (--num-of-pages,
// NumberOfPages). The store pages with opaque cursors instead, so the API
// answers offsets and keeps the store cursor of each offset it handed out in
// a small cache: a client walking the pages resumes from the cursor, and an
// offset the cache no longer holds (another replica, an evicted entry, a
// hand-written key) is reached by skipping from the start, as Keptn's
// datastore skipped in MongoDB.

// maxSkip bounds the events skipped to reach an offset the cache does not
// hold, so one request cannot make the API read a whole large history.
const maxSkip = 100000

// eventCursors maps (query, offset) to the store cursor at that offset.
type eventCursors struct {
	mu    sync.Mutex
	max   int
	order []string // insertion order, oldest first (eviction)
	m     map[string]string
}

func newEventCursors(max int) *eventCursors {
	return &eventCursors{max: max, m: map[string]string{}}
}

func cursorKey(q store.EventQuery, size, offset int) string {
	v := url.Values{}
	v.Set("p", q.Project)
	v.Set("c", q.KeptnContext)
	v.Set("t", q.Type)
	v.Set("st", q.Stage)
	v.Set("sv", q.Service)
	v.Set("so", q.Source)
	v.Set("id", q.ID)
	v.Set("f", q.From.String())
	v.Set("b", q.Before.String())
	v.Set("n", strconv.Itoa(size))
	v.Set("o", strconv.Itoa(offset))
	return v.Encode()
}

func (c *eventCursors) get(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tok, ok := c.m[key]
	return tok, ok
}

func (c *eventCursors) put(key, tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok {
		c.order = append(c.order, key)
	}
	c.m[key] = tok
	for len(c.order) > c.max {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
}

// eventPage returns size events of q from offset on, and the offset of the
// next page (0 when nothing follows).
func (a *api) eventPage(ctx context.Context, q store.EventQuery, offset, size int) ([]*store.Event, int, error) {
	tok := ""
	if offset > 0 {
		cached, ok := a.cursors.get(cursorKey(q, size, offset))
		if ok {
			tok = cached
		} else {
			if offset > maxSkip {
				return nil, 0, badRequest("nextPageKey %d was not handed out by this API and is beyond %d events; page from the start or narrow the query", offset, maxSkip)
			}
			// Skip offset events in store pages.
			skipped := 0
			for skipped < offset {
				n := min(offset-skipped, maxPageSize)
				evs, next, err := a.deps.Store.ListEvents(ctx, q, store.Page{Size: n, Token: tok})
				if err != nil {
					return nil, 0, fmt.Errorf("list events: %w", err)
				}
				skipped += len(evs)
				tok = next
				if next == "" {
					return nil, 0, nil // the offset is at or past the end
				}
			}
		}
	}
	evs, next, err := a.deps.Store.ListEvents(ctx, q, store.Page{Size: size, Token: tok})
	if err != nil {
		return nil, 0, fmt.Errorf("list events: %w", err)
	}
	if next == "" {
		return evs, 0, nil
	}
	nextOffset := offset + len(evs)
	a.cursors.put(cursorKey(q, size, nextOffset), next)
	return evs, nextOffset, nil
}
