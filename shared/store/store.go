// Package store defines Slipway's persistence contract: a small, domain-shaped
// document store with one transactional update, created for the engine's needs.
//
// Records carry the fields that queries filter and sort on, plus an opaque JSON
// Body owned by the layer above (engine state, project settings). Drivers never
// interpret Body, so sequence semantics cannot leak into a driver.
//
// The package is shaped like go-cloud's docstore: a portable layer over small
// driver interfaces. A driver implements the groups (RunStore, ProjectStore,
// EventStore, ResourceStore, and optionally IntegrationStore and
// SecretStore) and declares in one place, Driver.Features, which optional
// groups and capabilities it has. New puts the portable layer over it; that
// layer is the Store every caller uses, and it checks the rules that need no
// storage once, before a driver sees the call:
//
//   - a Body (a resource's Content, a secret's Data) is at most MaxBody
//     bytes (ErrTooLarge);
//   - ids are not empty: a run's, an event's, an integration's, a log
//     entry's; a project's and a secret's name (ErrInvalid);
//   - names do not change: UpdateProject does not rename, RegisterIntegration
//     keeps name and namespace, UpdateIntegration keeps ID, name and
//     namespace (ErrInvalid).
//
// Drivers keep only the rules that need their storage (ErrAlreadyExists,
// ErrNotFound, an integration ID held by another registration, Firestore's
// own size limit on a whole document) and may assume the others. Rule
// errors say what was refused, once; driver errors pass through unchanged.
// The layer adds no store reads or writes, and no allocation to a
// transition (Update, AckOutbox, AppendEvent).
//
// Drivers: store/embedded (one machine) and store/firestore (cloud); each
// package's Open/New returns the Store. Both pass the conformance suite in
// store/storetest, whose Harness takes a Driver and capability flags.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors; drivers map their native errors onto these once.
var (
	ErrNotFound      = errors.New("store: not found")
	ErrAlreadyExists = errors.New("store: already exists")
	// ErrTooLarge is returned when a record exceeds the driver's document limit.
	ErrTooLarge = errors.New("store: record too large")
	// ErrBadPageToken is returned by listings given a page token they did not
	// hand out: the client's mistake, not the store's.
	ErrBadPageToken = errors.New("store: bad page token")
	// ErrInvalid is returned for a record the portable layer refuses before
	// any driver sees it: an empty id, a renamed project or integration. It
	// is the caller's bug (the API validates first), so nothing maps it to
	// a client error.
	ErrInvalid = errors.New("store: invalid record")
)

// MaxBody is the largest Body a record may carry. Firestore documents are
// limited to 1 MiB; the rest of the budget is left for index fields.
const MaxBody = 900 << 10

// Run is one sequence execution (Keptn "SequenceExecution").
type Run struct {
	ID           string
	Project      string
	Stage        string
	Service      string
	Sequence     string // sequence name
	KeptnContext string
	State        string    // engine run state (triggered, started, ...)
	TriggeredAt  time.Time // FIFO order and newest-first listings
	// TaskTriggeredID is the id of the current task's .triggered event ("" if none);
	// task events find their run through it.
	TaskTriggeredID string
	// OpenType/OpenSince describe the current task's .triggered event while it is
	// visible to executors (OpenType == "" when nothing is open).
	OpenType  string
	OpenSince time.Time
	// Due is when the run next needs the sweeper (timer or unconfirmed outbox);
	// zero when nothing is pending.
	Due time.Time
	// AckedSeq is the highest outbox sequence number confirmed as published
	// (AckOutbox); the layer above drops outbox entries up to it.
	AckedSeq int64
	Body     []byte
}

// Lane serialises runs of one (project, stage, service).
type Lane struct {
	Key  LaneKey
	Body []byte
}

// LaneKey names a lane.
type LaneKey struct{ Project, Stage, Service string }

// Context holds per-keptnContext control state (pause flags).
type Context struct {
	Project      string
	KeptnContext string
	Body         []byte
}

// Project is a project document (shipyard, stages, services).
type Project struct {
	Name      string
	CreatedAt time.Time
	Body      []byte
}

// Event is one entry of the event history (Keptn's datastore).
type Event struct {
	ID           string
	Project      string // "" for events without a project
	KeptnContext string
	Type         string
	Stage        string
	Service      string
	Source       string
	TriggeredID  string
	Time         time.Time
	Body         []byte // the structured CloudEvent JSON
}

// Resource is a file in a project's configuration (shipyard.yaml, scripts, ...).
// Stage and Service are "" for project-level and stage-level resources.
type Resource struct {
	Project   string
	Stage     string
	Service   string
	URI       string // path inside the project, e.g. "generic-executor/deployment.triggered.sh"
	Content   []byte
	UpdatedAt time.Time
}

// Tx is the view of the store inside one transaction. Reads return the state as
// of the transaction; writes are applied atomically when the function returns
// nil. Drivers buffer writes, so reads may follow writes in any order; a read
// of a record written earlier in the same transaction returns the written value.
type Tx interface {
	GetRun(id string) (*Run, error)
	// RunByTask finds the run of a project whose current task has the given
	// .triggered id; ErrNotFound if none.
	RunByTask(project, triggeredID string) (*Run, error)
	// RunsByContext lists all runs of a keptnContext in a project, oldest first.
	RunsByContext(project, keptnContext string) ([]*Run, error)
	GetLane(key LaneKey) (*Lane, error)
	GetContext(project, keptnContext string) (*Context, error)
	GetProject(name string) (*Project, error)

	PutRun(r *Run) error
	PutLane(l *Lane) error
	PutContext(c *Context) error
	DeleteLane(key LaneKey) error
}

// Page selects a page of a listing. Token is opaque and comes from the previous
// page's NextToken; Size 0 means no limit.
type Page struct {
	Size  int
	Token string
}

// RunQuery filters runs; empty fields do not filter. Results are newest first
// by TriggeredAt (ties by ID).
type RunQuery struct {
	Project, Stage, Service, Sequence, State, KeptnContext string
}

// OpenQuery filters visible open task events. Results are newest first by
// OpenSince. Type is required.
type OpenQuery struct {
	Type                    string
	Project, Stage, Service string
	TaskTriggeredID         string
	Until                   time.Time // only events with OpenSince <= Until
}

// EventQuery filters the event history; results newest first by Time.
type EventQuery struct {
	Project, KeptnContext, Type, Stage, Service, Source, ID, TriggeredID string
	// Services, when non-empty, matches any of them (Keptn's "a,b" filter).
	Services []string
	From     time.Time // Time > From when non-zero
	Before   time.Time // Time < Before when non-zero
}

// RunStore is the group of runs and transactions.
type RunStore interface {
	// Update runs fn in a transaction and commits its writes atomically. fn may
	// run more than once when the driver retries a conflicting transaction, so it
	// must not have side effects beyond tx, and tx is valid only while fn runs.
	// An error returned by fn aborts the transaction and is returned unchanged.
	Update(ctx context.Context, fn func(tx Tx) error) error

	GetRun(ctx context.Context, id string) (*Run, error)
	// AckOutbox records that a run's outbox entries up to seq were published,
	// by setting AckedSeq. It is one blind field write, not a transaction, so
	// confirming costs no read; it never lowers AckedSeq in the embedded store, and in
	// Firestore a racing lower value only makes entries go out once more.
	// A missing run is not an error.
	AckOutbox(ctx context.Context, runID string, seq int64) error
	ListRuns(ctx context.Context, q RunQuery, p Page) (runs []*Run, next string, err error)
	// DueRuns returns ids of runs with 0 < Due <= now, earliest first.
	DueRuns(ctx context.Context, now time.Time, limit int) ([]string, error)
	ListOpen(ctx context.Context, q OpenQuery, p Page) (runs []*Run, next string, err error)
}

// ProjectStore is the group of project documents.
type ProjectStore interface {
	CreateProject(ctx context.Context, p *Project) error // ErrAlreadyExists
	GetProject(ctx context.Context, name string) (*Project, error)
	// UpdateProject reads, changes and writes one project atomically. fn
	// must not rename it (ErrInvalid).
	UpdateProject(ctx context.Context, name string, fn func(p *Project) error) error
	ListProjects(ctx context.Context, p Page) (projects []*Project, next string, err error)
	// DeleteProject removes the project and everything stored under it: runs,
	// lanes, contexts, events and resources.
	DeleteProject(ctx context.Context, name string) error
}

// EventStore is the group of the event history.
type EventStore interface {
	// AppendEvent stores an event; storing the same ID twice keeps the first.
	AppendEvent(ctx context.Context, e *Event) error
	ListEvents(ctx context.Context, q EventQuery, p Page) (events []*Event, next string, err error)
}

// ResourceStore is the group of project files.
type ResourceStore interface {
	PutResource(ctx context.Context, r *Resource) error
	GetResource(ctx context.Context, project, stage, service, uri string) (*Resource, error)
	// ListResources lists the resources at exactly one level (project, stage or
	// service), ordered by URI.
	ListResources(ctx context.Context, project, stage, service string, p Page) (res []*Resource, next string, err error)
	DeleteResource(ctx context.Context, project, stage, service, uri string) error
}

// Store is what every caller uses: the portable layer New puts over a
// Driver. Wrappers (test decorators) embed a Store and override what they
// change; the optional groups and the capabilities are methods, so a
// wrapper passes them on instead of hiding them.
type Store interface {
	RunStore
	ProjectStore
	EventStore
	ResourceStore
	// Integrations returns the integration registry, nil if the driver has
	// none.
	Integrations() IntegrationStore
	// Secrets returns the secrets, nil if the driver has none.
	Secrets() SecretStore
	// Capabilities returns the driver's declared capabilities with every
	// missing one (except PurgeHistory and Stats) filled in portably. A
	// wrapper that overrides a method with a capability counterpart
	// (AppendEvent and AppendEventLazy) overrides both.
	Capabilities() Capabilities
	Close() error
}
