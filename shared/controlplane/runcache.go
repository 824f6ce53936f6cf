package controlplane

import (
	"bytes"
	"sync"

	"github.com/slipwayhq/slipway/shared/engine"
)

// runCacheSize bounds the cache: about one entry per run in flight.
const runCacheSize = 4096

// runCache keeps the runs this process last wrote, decoded, so the next
// event of a run does not decode its document again: decoding was the
// largest single cost of a transition under the load harness, and with the
// embedded store it runs in the store's single writer.
//
// An entry is valid only for the exact document it came from: take compares
// the stored body with the cached one, so a run written by another instance
// (Firestore) or changed by a transaction whose result was not cached is
// decoded as before. The document is the JSON encoding of the cached run,
// whose values all came from JSON decoding or the engine, so decoding it
// again would give an equal run.
//
// A run has one owner at a time: take removes the entry, and the
// transaction puts its runs back as its last step, after taking from them
// what its handler will send, so no two goroutines share a run. A run put
// back by a transaction that then fails to commit is never used: its
// document is not the stored one.
type runCache struct {
	mu sync.Mutex
	m  map[string]cachedRun
}

type cachedRun struct {
	body []byte
	run  *engine.Run
}

func newRunCache() *runCache { return &runCache{m: map[string]cachedRun{}} }

// take returns the cached run for id if it was decoded from body, and
// forgets it either way.
func (c *runCache) take(id string, body []byte) *engine.Run {
	c.mu.Lock()
	e, ok := c.m[id]
	if ok {
		delete(c.m, id)
	}
	c.mu.Unlock()
	if !ok || !bytes.Equal(e.body, body) {
		return nil
	}
	return e.run
}

// put caches runs that are now in the store as the given bodies.
func (c *runCache) put(runs []cachedRun) {
	if len(runs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range runs {
		if _, ok := c.m[r.run.ID]; !ok && len(c.m) >= runCacheSize {
			for k := range c.m { // evict one; map order is random enough
				delete(c.m, k)
				break
			}
		}
		c.m[r.run.ID] = r
	}
}
