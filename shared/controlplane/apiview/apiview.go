// Package apiview serves the REST API's view of sequences (api.Sequences)
// from the control plane, so that neither package imports the other.
package apiview

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/api"
	"github.com/slipwayhq/slipway/shared/controlplane"
	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/store"
)

// Sequences implements api.Sequences.
type Sequences struct{ CP *controlplane.Service }

var _ api.Sequences = Sequences{}

// States implements api.Sequences.
func (s Sequences) States(ctx context.Context, project string, f api.StateFilter) ([]json.RawMessage, int, error) {
	keep := func(v engine.SequenceState) bool {
		switch {
		case f.Name != "" && v.Name != f.Name,
			f.State != "" && v.State != f.State,
			!f.FromTime.IsZero() && !v.Time.After(f.FromTime),
			!f.BeforeTime.IsZero() && !v.Time.Before(f.BeforeTime):
			return false
		}
		return true
	}
	if len(f.KeptnContexts) == 0 && f.PageSize > 0 {
		// Read only as far as the page needs (a project may hold 100,000
		// runs). The total is then what was read: the page's end, plus one
		// when more follow, which is what the API needs for nextPageKey.
		views, more, err := s.CP.ContextPage(ctx, project, keep, f.NextPageKey, f.PageSize, f.FromTime)
		if err != nil {
			return nil, 0, err
		}
		out, err := encodeStates(views)
		total := f.NextPageKey + len(views)
		if more {
			total++
		}
		return out, total, err
	}
	views, err := s.CP.Contexts(ctx, project, f.KeptnContexts)
	if err != nil {
		return nil, 0, err
	}
	var kept []engine.SequenceState
	for _, v := range views {
		if keep(v) {
			kept = append(kept, v)
		}
	}
	total := len(kept)
	if f.NextPageKey > 0 {
		if f.NextPageKey >= len(kept) {
			kept = nil
		} else {
			kept = kept[f.NextPageKey:]
		}
	}
	if f.PageSize > 0 && len(kept) > f.PageSize {
		kept = kept[:f.PageSize]
	}
	out, err := encodeStates(kept)
	return out, total, err
}

func encodeStates(views []engine.SequenceState) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(views))
	for _, v := range views {
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode sequence state: %w", err)
		}
		out = append(out, raw)
	}
	return out, nil
}

// Executions implements api.Sequences.
func (s Sequences) Executions(ctx context.Context, q store.RunQuery, p store.Page) ([]json.RawMessage, string, error) {
	items, next, err := s.CP.Executions(ctx, q, p)
	if err != nil {
		return nil, "", err
	}
	out := make([]json.RawMessage, 0, len(items))
	for _, it := range items {
		raw, err := json.Marshal(it)
		if err != nil {
			return nil, "", fmt.Errorf("encode sequence execution: %w", err)
		}
		out = append(out, raw)
	}
	return out, next, nil
}

// Control implements api.Sequences.
func (s Sequences) Control(ctx context.Context, project, kctx, state, stage string) error {
	return s.CP.Control(ctx, project, kctx, engine.Action(state), stage)
}

// OpenTriggered implements api.Sequences.
func (s Sequences) OpenTriggered(ctx context.Context, q store.OpenQuery, p store.Page) ([]event.Event, string, error) {
	return s.CP.OpenTriggered(ctx, q, p)
}

// Claims implements api.TaskClaims.
type Claims struct{ CP *controlplane.Service }

var _ api.TaskClaims = Claims{}

// ClaimTask implements api.TaskClaims.
func (c Claims) ClaimTask(ctx context.Context, project, triggeredID, worker string) (string, error) {
	out, err := c.CP.ClaimTask(ctx, project, triggeredID, worker)
	return string(out), err
}
