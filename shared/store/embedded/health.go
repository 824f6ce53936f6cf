package embedded

import (
	"context"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// health remembers whether the last write reached the disk. A full disk
// makes commits fail while reads still work, so a process that only asked
// "can I read?" would call itself healthy while refusing every event.
type health struct {
	mu  sync.Mutex
	err error
}

// note records the outcome of a write.
func (h *health) note(err error) {
	h.mu.Lock()
	h.err = err
	h.mu.Unlock()
}

func (h *health) last() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Health reports whether the store takes writes: nil, or the error of the
// last failed write. After a failure it probes with a synced empty log
// record, so health comes back as soon as the disk has room again, without
// waiting for the next real write.
func (s *Store) Health(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.health.last() == nil {
		return nil
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return fmt.Errorf("store closed")
	}
	err := s.db.LogData(nil, pebble.Sync)
	s.health.note(err)
	if err != nil {
		return fmt.Errorf("store refuses writes: %w", err)
	}
	return nil
}
