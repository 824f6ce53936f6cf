package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// New returns the Store over d: the portable layer that checks the rules
// that need no storage (see the package documentation) once, before d sees
// a call, and hands out d's optional groups and capabilities. Closing the
// Store closes d.
func New(d Driver) Store {
	f := d.Features()
	p := &portable{d: d}
	p.txs.New = func() any {
		c := &checkedTx{}
		c.run = c.apply
		return c
	}
	if f.Integrations != nil {
		p.integ = integrations{f.Integrations}
	}
	if f.Secrets != nil {
		p.secrets = secrets{f.Secrets}
	}
	c := f.Capabilities
	if lazy := c.AppendEventLazy; lazy != nil {
		c.AppendEventLazy = func(ctx context.Context, e *Event) error {
			if err := checkEvent(e); err != nil {
				return err
			}
			return lazy(ctx, e)
		}
	}
	p.caps = c.fill(p)
	return p
}

// portable is the Store New returns.
type portable struct {
	d       Driver
	integ   IntegrationStore // nil if the driver has none
	secrets SecretStore      // nil if the driver has none
	caps    Capabilities
	// txs recycles the checking Tx wrappers, so a transition allocates
	// nothing here (Update is the engine's hot path).
	txs sync.Pool
}

func (p *portable) Integrations() IntegrationStore { return p.integ }
func (p *portable) Secrets() SecretStore           { return p.secrets }
func (p *portable) Capabilities() Capabilities     { return p.caps }
func (p *portable) Close() error                   { return p.d.Close() }

// tooLarge refuses a body over MaxBody. It builds its error only on a
// refusal, so a check costs no allocation.
func tooLarge(kind, id string, n int) error {
	if n <= MaxBody {
		return nil
	}
	return fmt.Errorf("%s %s: %d bytes: %w", kind, id, n, ErrTooLarge)
}

// Update runs fn with a Tx that checks every write before the driver's Tx
// buffers it.
func (p *portable) Update(ctx context.Context, fn func(tx Tx) error) error {
	c := p.txs.Get().(*checkedTx)
	c.fn = fn
	err := p.d.Update(ctx, c.run)
	// A driver calls fn only while Update runs, so the wrapper is free
	// again (a Tx kept past fn was never valid).
	c.tx, c.fn = nil, nil
	p.txs.Put(c)
	return err
}

// checkedTx is the Tx handed to Update's fn: reads go straight to the
// driver's Tx, writes are checked first.
type checkedTx struct {
	tx Tx
	fn func(tx Tx) error
	// run is apply bound once, so Update passes the driver a function
	// without allocating a closure per transaction.
	run func(tx Tx) error
}

// apply is called by the driver, once per attempt, with that attempt's Tx.
func (c *checkedTx) apply(tx Tx) error {
	c.tx = tx
	return c.fn(c)
}

func (c *checkedTx) GetRun(id string) (*Run, error) { return c.tx.GetRun(id) }
func (c *checkedTx) RunByTask(project, triggeredID string) (*Run, error) {
	return c.tx.RunByTask(project, triggeredID)
}
func (c *checkedTx) RunsByContext(project, keptnContext string) ([]*Run, error) {
	return c.tx.RunsByContext(project, keptnContext)
}
func (c *checkedTx) GetLane(key LaneKey) (*Lane, error) { return c.tx.GetLane(key) }
func (c *checkedTx) GetContext(project, keptnContext string) (*Context, error) {
	return c.tx.GetContext(project, keptnContext)
}
func (c *checkedTx) GetProject(name string) (*Project, error) { return c.tx.GetProject(name) }
func (c *checkedTx) DeleteLane(key LaneKey) error             { return c.tx.DeleteLane(key) }

func (c *checkedTx) PutRun(r *Run) error {
	if r.ID == "" {
		return fmt.Errorf("put run: empty ID: %w", ErrInvalid)
	}
	if err := tooLarge("run", r.ID, len(r.Body)); err != nil {
		return err
	}
	return c.tx.PutRun(r)
}

func (c *checkedTx) PutLane(l *Lane) error {
	if len(l.Body) > MaxBody {
		return tooLarge("lane", fmt.Sprint(l.Key), len(l.Body))
	}
	return c.tx.PutLane(l)
}

func (c *checkedTx) PutContext(x *Context) error {
	if err := tooLarge("context", x.KeptnContext, len(x.Body)); err != nil {
		return err
	}
	return c.tx.PutContext(x)
}

func (p *portable) GetRun(ctx context.Context, id string) (*Run, error) { return p.d.GetRun(ctx, id) }
func (p *portable) AckOutbox(ctx context.Context, runID string, seq int64) error {
	return p.d.AckOutbox(ctx, runID, seq)
}
func (p *portable) ListRuns(ctx context.Context, q RunQuery, pg Page) ([]*Run, string, error) {
	return p.d.ListRuns(ctx, q, pg)
}
func (p *portable) DueRuns(ctx context.Context, now time.Time, limit int) ([]string, error) {
	return p.d.DueRuns(ctx, now, limit)
}
func (p *portable) ListOpen(ctx context.Context, q OpenQuery, pg Page) ([]*Run, string, error) {
	return p.d.ListOpen(ctx, q, pg)
}

func checkProject(pr *Project) error {
	if pr.Name == "" {
		return fmt.Errorf("project: empty name: %w", ErrInvalid)
	}
	return tooLarge("project", pr.Name, len(pr.Body))
}

func (p *portable) CreateProject(ctx context.Context, pr *Project) error {
	if err := checkProject(pr); err != nil {
		return err
	}
	return p.d.CreateProject(ctx, pr)
}

func (p *portable) GetProject(ctx context.Context, name string) (*Project, error) {
	return p.d.GetProject(ctx, name)
}

// UpdateProject checks fn's result inside the driver's transaction, so a
// refused change is never written.
func (p *portable) UpdateProject(ctx context.Context, name string, fn func(pr *Project) error) error {
	return p.d.UpdateProject(ctx, name, func(pr *Project) error {
		if err := fn(pr); err != nil {
			return err
		}
		if pr.Name != name {
			return fmt.Errorf("update project %s: renaming to %q is not supported: %w", name, pr.Name, ErrInvalid)
		}
		return tooLarge("project", name, len(pr.Body))
	})
}

func (p *portable) ListProjects(ctx context.Context, pg Page) ([]*Project, string, error) {
	return p.d.ListProjects(ctx, pg)
}
func (p *portable) DeleteProject(ctx context.Context, name string) error {
	return p.d.DeleteProject(ctx, name)
}

func checkEvent(e *Event) error {
	if e.ID == "" {
		return fmt.Errorf("append event: empty ID: %w", ErrInvalid)
	}
	return tooLarge("event", e.ID, len(e.Body))
}

func (p *portable) AppendEvent(ctx context.Context, e *Event) error {
	if err := checkEvent(e); err != nil {
		return err
	}
	return p.d.AppendEvent(ctx, e)
}

func (p *portable) ListEvents(ctx context.Context, q EventQuery, pg Page) ([]*Event, string, error) {
	return p.d.ListEvents(ctx, q, pg)
}

func (p *portable) PutResource(ctx context.Context, r *Resource) error {
	if err := tooLarge("resource", r.URI, len(r.Content)); err != nil {
		return err
	}
	return p.d.PutResource(ctx, r)
}

func (p *portable) GetResource(ctx context.Context, project, stage, service, uri string) (*Resource, error) {
	return p.d.GetResource(ctx, project, stage, service, uri)
}
func (p *portable) ListResources(ctx context.Context, project, stage, service string, pg Page) ([]*Resource, string, error) {
	return p.d.ListResources(ctx, project, stage, service, pg)
}
func (p *portable) DeleteResource(ctx context.Context, project, stage, service, uri string) error {
	return p.d.DeleteResource(ctx, project, stage, service, uri)
}

// integrations is the IntegrationStore Store.Integrations returns.
type integrations struct{ d IntegrationStore }

// RegisterIntegration checks fn's result inside the driver's transaction.
func (s integrations) RegisterIntegration(ctx context.Context, name, namespace string, fn func(cur *Integration) (*Integration, error)) (*Integration, error) {
	return s.d.RegisterIntegration(ctx, name, namespace, func(cur *Integration) (*Integration, error) {
		next, err := fn(cur)
		if err != nil || next == nil {
			return next, err
		}
		switch {
		case next.Name != name || next.Namespace != namespace:
			return nil, fmt.Errorf("register integration %s/%s: name and namespace must not change: %w", name, namespace, ErrInvalid)
		case next.ID == "":
			return nil, fmt.Errorf("register integration %s/%s: empty ID: %w", name, namespace, ErrInvalid)
		}
		if err := tooLarge("integration", next.ID, len(next.Body)); err != nil {
			return nil, err
		}
		return next, nil
	})
}

// UpdateIntegration checks fn's change inside the driver's transaction.
func (s integrations) UpdateIntegration(ctx context.Context, id string, fn func(in *Integration) error) (*Integration, error) {
	return s.d.UpdateIntegration(ctx, id, func(in *Integration) error {
		was := [3]string{in.ID, in.Name, in.Namespace}
		if err := fn(in); err != nil {
			return err
		}
		if [3]string{in.ID, in.Name, in.Namespace} != was {
			return fmt.Errorf("update integration %s: id, name and namespace must not change: %w", id, ErrInvalid)
		}
		return tooLarge("integration", id, len(in.Body))
	})
}

func (s integrations) GetIntegration(ctx context.Context, id string) (*Integration, error) {
	return s.d.GetIntegration(ctx, id)
}
func (s integrations) ListIntegrations(ctx context.Context, q IntegrationQuery) ([]*Integration, error) {
	return s.d.ListIntegrations(ctx, q)
}
func (s integrations) DeleteIntegration(ctx context.Context, id string) error {
	return s.d.DeleteIntegration(ctx, id)
}
func (s integrations) PurgeIntegrations(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.d.PurgeIntegrations(ctx, before, limit)
}

func (s integrations) AppendLogs(ctx context.Context, logs []*LogEntry) error {
	for _, l := range logs {
		if l.ID == "" {
			return fmt.Errorf("append logs: empty ID: %w", ErrInvalid)
		}
		if err := tooLarge("log", l.ID, len(l.Body)); err != nil {
			return err
		}
	}
	return s.d.AppendLogs(ctx, logs)
}

func (s integrations) ListLogs(ctx context.Context, q LogQuery, offset, limit int) ([]*LogEntry, int, error) {
	return s.d.ListLogs(ctx, q, offset, limit)
}
func (s integrations) PurgeLogs(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.d.PurgeLogs(ctx, before, limit)
}

// secrets is the SecretStore Store.Secrets returns.
type secrets struct{ d SecretStore }

func checkSecret(s *Secret) error {
	if s.Name == "" {
		return fmt.Errorf("secret: empty name: %w", ErrInvalid)
	}
	return tooLarge("secret", s.Name, len(s.Data))
}

func (s secrets) CreateSecret(ctx context.Context, sec *Secret) error {
	if err := checkSecret(sec); err != nil {
		return err
	}
	return s.d.CreateSecret(ctx, sec)
}

func (s secrets) UpdateSecret(ctx context.Context, sec *Secret) error {
	if err := checkSecret(sec); err != nil {
		return err
	}
	return s.d.UpdateSecret(ctx, sec)
}

func (s secrets) GetSecret(ctx context.Context, name string) (*Secret, error) {
	return s.d.GetSecret(ctx, name)
}
func (s secrets) ListSecrets(ctx context.Context) ([]*Secret, error) { return s.d.ListSecrets(ctx) }
func (s secrets) DeleteSecret(ctx context.Context, name string) error {
	return s.d.DeleteSecret(ctx, name)
}
