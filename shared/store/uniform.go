package store

import (
	"context"
	"slices"
	"time"
)

// Integration is a registered Keptn integration (Keptn's "uniform"
// registration). Name and Namespace identify it: a store holds at most one
// integration per pair, so a re-registering integration finds its record.
type Integration struct {
	// ID is Keptn's integration id (the API derives it); it is unique too.
	ID        string
	Name      string
	Namespace string
	Hostname  string
	LastSeen  time.Time
	// Projects, Stages and Services are the union of the subscription filters,
	// so ListIntegrations can filter on them without reading Body.
	Projects, Stages, Services []string
	Body                       []byte // the integration as the API serves it (JSON)
}

// IntegrationQuery filters integrations; empty fields do not filter.
// Project, Stage and Service match an integration whose Projects, Stages or
// Services contain them (each on its own, as Keptn's query did).
type IntegrationQuery struct {
	ID, Name, Namespace, Hostname string
	Project, Stage, Service       string
	// SeenSince, when non-zero, keeps integrations with LastSeen >= SeenSince
	// (the API's expiry).
	SeenSince time.Time
}

// LogEntry is one error log an integration sent (Keptn's /v1/log).
type LogEntry struct {
	ID            string // unique, chosen by the caller
	IntegrationID string
	Time          time.Time
	Body          []byte // the entry as the API serves it (JSON)
}

// LogQuery filters logs; bounds are inclusive (Keptn's $gte/$lte) and a zero
// bound does not filter.
type LogQuery struct {
	IntegrationID string
	From, Until   time.Time
}

// IntegrationStore persists integrations and their logs. A driver declares
// it in Features; Store.Integrations returns it with the rules checked
// (storetest's Integrations groups are its conformance suite). Times are
// kept to the microsecond, in UTC.
type IntegrationStore interface {
	// RegisterIntegration atomically reads the integration named (name,
	// namespace) (nil if there is none) and stores what fn returns; fn
	// returning nil stores nothing. The result must keep name and namespace
	// and have an ID (ErrInvalid); its ID may change (replacing an expired
	// registration) but must not be another integration's ID
	// (ErrAlreadyExists). fn may run more than once.
	RegisterIntegration(ctx context.Context, name, namespace string, fn func(cur *Integration) (*Integration, error)) (*Integration, error)
	// UpdateIntegration atomically reads the integration with the ID, lets fn
	// change it and stores it; ErrNotFound if there is none. fn must not
	// change ID, Name or Namespace (ErrInvalid), and may run more than once.
	// An error from fn is returned unchanged.
	UpdateIntegration(ctx context.Context, id string, fn func(in *Integration) error) (*Integration, error)
	GetIntegration(ctx context.Context, id string) (*Integration, error)
	// ListIntegrations returns the matching integrations ordered by name,
	// then namespace.
	ListIntegrations(ctx context.Context, q IntegrationQuery) ([]*Integration, error)
	// DeleteIntegration removes an integration; ErrNotFound if there is none.
	DeleteIntegration(ctx context.Context, id string) error
	// PurgeIntegrations deletes up to limit integrations last seen before
	// before and returns how many it deleted. An integration seen again
	// concurrently is kept.
	PurgeIntegrations(ctx context.Context, before time.Time, limit int) (int, error)

	// AppendLogs stores log entries (IDs must be new and not empty).
	AppendLogs(ctx context.Context, logs []*LogEntry) error
	// ListLogs returns the matching entries newest first (equal times by ID),
	// skipping offset of them and returning at most limit (0 = no limit),
	// and the number of all matching entries.
	ListLogs(ctx context.Context, q LogQuery, offset, limit int) (logs []*LogEntry, total int, err error)
	// PurgeLogs deletes up to limit entries older than before and returns how
	// many it deleted.
	PurgeLogs(ctx context.Context, before time.Time, limit int) (int, error)
}

// Matches reports whether in passes q's filters; drivers that cannot filter
// in the query use it.
func (q IntegrationQuery) Matches(in *Integration) bool {
	eq := func(want, got string) bool { return want == "" || want == got }
	has := func(list []string, want string) bool { return want == "" || slices.Contains(list, want) }
	return eq(q.ID, in.ID) && eq(q.Name, in.Name) && eq(q.Namespace, in.Namespace) && eq(q.Hostname, in.Hostname) &&
		has(in.Projects, q.Project) && has(in.Stages, q.Stage) && has(in.Services, q.Service) &&
		(q.SeenSince.IsZero() || !in.LastSeen.Before(q.SeenSince))
}
