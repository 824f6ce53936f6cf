package store

import (
	"context"
	"errors"
	"time"
)

// Capabilities are the optional behaviours a driver declares, so the layers
// above ask for them by name instead of probing the driver's type. A nil
// field is a capability the driver does not have; CapabilitiesOf fills it
// with the portable behaviour on top of Store.
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
	// time does it server-side); CapabilitiesOf leaves it nil.
	PurgeHistory func(ctx context.Context, q HistoryPurge) (int, error)
}

// Capable is implemented by drivers that declare capabilities.
type Capable interface {
	Capabilities() Capabilities
}

// CapabilitiesOf returns s's declared capabilities with every missing one
// filled in portably. Wrappers that embed a Store (tests, decorators) hide
// the inner driver's declarations, so they get the portable behaviour and
// nothing bypasses them.
func CapabilitiesOf(s Store) Capabilities {
	var c Capabilities
	if d, ok := s.(Capable); ok {
		c = d.Capabilities()
	}
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
