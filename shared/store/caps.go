package store

import (
	"context"
	"errors"
	"time"
)

// Capabilities are the optional behaviours a driver declares (in
// Features), so the layers above ask for them by name (Store.Capabilities)
// instead of probing the driver's type. A nil field is a capability the
// driver does not have; the portable layer fills it with the portable
// behaviour on top of Store, except PurgeHistory and Stats, which stay nil.
type Capabilities struct {
	// HasProject tells whether a project exists without decoding it (the
	// history asks for every event).
	HasProject func(ctx context.Context, name string) (bool, error)
	// AppendEventLazy stores a history event and answers once it survives
	// the process, before it is synced to disk; it is synced shortly after.
	// A machine crash in between loses it, which an at-least-once broker
	// that redelivers until acknowledged cannot tell from a lost delivery.
	AppendEventLazy func(ctx context.Context, e *Event) error
	// AckOutboxLazy is AckOutbox answered before the sync: losing a
	// confirmation costs one more publish of events whose ids are fixed.
	AckOutboxLazy func(ctx context.Context, runID string, seq int64) error
	// Health reports whether the store takes writes (nil), or why not (a
	// full disk); it probes, so it recovers once the cause is gone.
	Health func(ctx context.Context) error
	// PurgeHistory deletes up to q.Limit history events q selects, each
	// small batch in a transaction of its own so transitions never wait
	// behind a long deletion, and returns how many it deleted. nil when the
	// driver has no such deletion (Firestore: a TTL policy on the events'
	// time does it server-side); it is not filled in.
	PurgeHistory func(ctx context.Context, q HistoryPurge) (int, error)
	// Stats reports how many records (Firestore: billed documents) the
	// driver read and wrote since it was opened, for benchmarks and cost
	// estimates; nil when the driver does not count.
	Stats func() (reads, writes int64)
}

// fill returns c with every missing capability but PurgeHistory and Stats
// filled in portably on top of s.
func (c Capabilities) fill(s Store) Capabilities {
	if c.HasProject == nil {
		c.HasProject = func(ctx context.Context, name string) (bool, error) {
			_, err := s.GetProject(ctx, name)
			if errors.Is(err, ErrNotFound) {
				return false, nil
			}
			return err == nil, err
		}
	}
	if c.AppendEventLazy == nil {
		c.AppendEventLazy = s.AppendEvent
	}
	if c.AckOutboxLazy == nil {
		c.AckOutboxLazy = s.AckOutbox
	}
	if c.Health == nil {
		c.Health = func(ctx context.Context) error { return ctx.Err() }
	}
	return c
}

// HistoryPurge selects history to delete: events older than Before whose
// keptnContext has no run that Unfinished reports (a context with no runs
// at all counts as finished). Limit bounds one call.
type HistoryPurge struct {
	Before     time.Time
	Limit      int
	Unfinished func(runState string) bool
}
