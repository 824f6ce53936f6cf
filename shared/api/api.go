// Package api is Slipway's Keptn-compatible REST API: the api-service,
// shipyard-controller, mongodb-datastore and resource-service endpoints of
// Keptn v1, served under the same /api paths so Keptn clients (CLI, go-utils,
// executors, scripts) work unchanged.
//
// New wires everything into one http.Handler. The handler needs a store, a
// Publisher into the broker and the engine's read/control side (Sequences);
// it holds no global state. Every error answer carries Keptn's error body
// {"code":N,"message":"..."}.
package api

import (
	"context"
	"encoding/json"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/store"
)

// Publisher sends an event into the broker; nil means the broker accepted it.
type Publisher interface {
	Publish(ctx context.Context, e event.Event) error
}

// Sequences is the sequence engine's read and control side.
type Sequences interface {
	// States returns Keptn SequenceState views (GET /controlPlane/v1/sequence/{project}),
	// newest first; items are JSON objects in Keptn's shape. total counts all
	// matches before paging.
	States(ctx context.Context, project string, f StateFilter) (items []json.RawMessage, total int, err error)
	// Executions returns Keptn SequenceExecution documents, newest first.
	Executions(ctx context.Context, q store.RunQuery, p store.Page) (items []json.RawMessage, next string, err error)
	// Control applies abort, pause or resume to a keptnContext (stage "" = all
	// stages). An unknown state is a no-op.
	Control(ctx context.Context, project, keptnContext, state, stage string) error
	// OpenTriggered returns open task .triggered events (time <= now).
	OpenTriggered(ctx context.Context, q store.OpenQuery, p store.Page) (events []event.Event, next string, err error)
}

// StateFilter filters and pages sequence states, as Keptn's
// GET /v1/sequence/{project} query does.
type StateFilter struct {
	Name  string // sequence name
	State string
	// FromTime and BeforeTime bound the trigger time (exclusive); zero = unbounded.
	FromTime, BeforeTime time.Time
	// KeptnContexts, when non-empty, keeps only these contexts.
	KeptnContexts []string
	// PageSize 0 means all; NextPageKey is the offset of the first item.
	PageSize, NextPageKey int
}

// Deps are the collaborators of the API.
type Deps struct {
	Store     store.Store
	Publisher Publisher
	Sequences Sequences
	// Clock defaults to time.Now.
	Clock func() time.Time
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
	// NewID makes event ids and keptnContexts; defaults to random UUIDs.
	NewID func() string
	// Secrets serves /api/secrets/v1; nil answers 501 there.
	Secrets SecretManager
	// Claims serves executors' task claims (ClaimPath); nil answers 501.
	Claims TaskClaims
}

func (d Deps) withDefaults() Deps {
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Logger == nil {
		d.Logger = zap.NewNop()
	}
	if d.NewID == nil {
		d.NewID = uuid.NewString
	}
	return d
}
