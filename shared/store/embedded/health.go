package embedded

import (
	"context"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/slipwayhq/slipway/shared/store"
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

// Health reports whether the store takes writes: nil, or why not. It checks
// the free space first (cheap), and after a failed write probes with a
// synced empty log record, so health comes back as soon as the disk has
// room again, without waiting for the next real write.
func (s *Driver) Health(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return errClosed
	}
	// Healthy means the largest record fits, not that an empty one would.
	err := s.roomFor(store.MaxBody + 64<<10)
	if err == nil && s.health.last() != nil {
		err = s.db.LogData(nil, pebble.Sync)
	}
	s.health.note(err)
	if err != nil {
		return fmt.Errorf("store refuses writes: %w", err)
	}
	return nil
}

// Features implements store.Driver: every optional group and capability.
func (s *Driver) Features() store.Features {
	return store.Features{
		Integrations: s,
		Secrets:      s,
		Capabilities: store.Capabilities{
			HasProject:      s.HasProject,
			AppendEventLazy: s.AppendEventNoSync,
			AckOutboxLazy:   s.AckOutboxNoSync,
			Health:          s.Health,
			PurgeHistory:    s.PurgeHistory,
			Stats:           s.Stats,
		},
	}
}

// roomFor refuses a write of n bytes that would leave less than minFree on
// the filesystem. The log write itself must never meet a full disk: Pebble
// cannot continue after a failed log write.
func (s *Driver) roomFor(n int) error {
	free, ok := freeBytes(s.dir)
	if !ok || free >= s.minFree+uint64(n) {
		return nil
	}
	return fmt.Errorf("%d bytes free, %d kept free: %w", free, s.minFree, ErrNoSpace)
}
