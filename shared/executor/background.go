package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Background runs work after the request that started it was acked.
type Background struct {
	wg sync.WaitGroup
}

// Go runs fn in a goroutine tracked by Wait.
func (b *Background) Go(fn func()) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		fn()
	}()
}

// Wait blocks until all work started with Go has ended (tests, shutdown).
func (b *Background) Wait() { b.wg.Wait() }

// EventMap returns e in structured CloudEvents JSON form as a map (id,
// source, type, time, extensions such as shkeptncontext, and data decoded
// as JSON), the model templates and placeholders address.
func EventMap(e event.Event) (map[string]any, error) {
	raw, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", e.ID(), err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decode event %s: %w", e.ID(), err)
	}
	return m, nil
}

// Handler handles one incoming event (see Result for what errors mean).
type Handler interface {
	Handle(ctx context.Context, e event.Event) error
}

// Multi passes each event to every handler in order and returns the first
// error (handlers deduplicate redeliveries themselves, so a retry does not
// repeat what already succeeded).
type Multi []Handler

// Handle implements Handler.
func (m Multi) Handle(ctx context.Context, e event.Event) error {
	var first error
	for _, h := range m {
		if err := h.Handle(ctx, e); err != nil && first == nil {
			first = err
		}
	}
	return first
}
