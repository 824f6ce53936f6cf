package storetest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/slipwayhq/slipway/shared/store"
)

// testRules checks the rules the portable layer enforces once for every
// driver (store package documentation): each refused call returns the
// rule's error, and the refused write never reaches the driver (a spy
// between the layer and the driver counts the writes that do) or, for the
// rules checked on a function's result inside the driver's transaction,
// leaves the stored record as it was.
func testRules(t *testing.T, h Harness) {
	big := bytes.Repeat([]byte("x"), store.MaxBody+1)
	project := &store.Project{Name: "p", CreatedAt: t0, Body: []byte(`{"v":1}`)}
	integ := &store.Integration{ID: "i1", Name: "n", Namespace: "ns", LastSeen: t0, Body: []byte(`{}`)}
	type tc struct {
		call func(ctx context.Context, s store.Store) error
		want error
		// seed prepares the store (as a client would, through the layer).
		seed func(t *testing.T, s store.Store)
		// unchanged checks the stored state after the refusal.
		unchanged func(t *testing.T, s store.Store)
		// inTx: the rule is checked on fn's result inside the driver's
		// transaction (the driver is called; unchanged shows nothing was
		// written). Otherwise no write may reach the driver.
		inTx bool
		flag bool // the group's flag (false: the case is not applicable)
	}
	update := func(fn func(tx store.Tx) error) func(ctx context.Context, s store.Store) error {
		return func(ctx context.Context, s store.Store) error { return s.Update(ctx, fn) }
	}
	seedProject := func(t *testing.T, s store.Store) { must(t, "seed project", s.CreateProject(t.Context(), project)) }
	projectUnchanged := func(t *testing.T, s store.Store) {
		p, err := s.GetProject(t.Context(), "p")
		if err != nil || !bytes.Equal(p.Body, project.Body) {
			t.Errorf("project after a refused update: %+v, %v", p, err)
		}
		if _, err := s.GetProject(t.Context(), "q"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("renamed project: %v, want ErrNotFound", err)
		}
	}
	seedIntegration := func(t *testing.T, s store.Store) {
		_, err := s.Integrations().RegisterIntegration(t.Context(), "n", "ns", func(*store.Integration) (*store.Integration, error) {
			c := *integ
			return &c, nil
		})
		must(t, "seed integration", err)
	}
	integrationUnchanged := func(t *testing.T, s store.Store) {
		got, err := s.Integrations().ListIntegrations(t.Context(), store.IntegrationQuery{})
		if err != nil || len(got) > 1 || (len(got) == 1 && (got[0].ID != "i1" || got[0].Name != "n" || !bytes.Equal(got[0].Body, integ.Body))) {
			t.Errorf("integrations after a refused change: %v, %v", got, err)
		}
	}
	register := func(next func(cur *store.Integration) *store.Integration) func(ctx context.Context, s store.Store) error {
		return func(ctx context.Context, s store.Store) error {
			_, err := s.Integrations().RegisterIntegration(ctx, "n", "ns", func(cur *store.Integration) (*store.Integration, error) {
				return next(cur), nil
			})
			return err
		}
	}
	updateIntegration := func(change func(in *store.Integration)) func(ctx context.Context, s store.Store) error {
		return func(ctx context.Context, s store.Store) error {
			_, err := s.Integrations().UpdateIntegration(ctx, "i1", func(in *store.Integration) error {
				change(in)
				return nil
			})
			return err
		}
	}
	cases := map[string]tc{
		"run without ID": {want: store.ErrInvalid, flag: true,
			call: update(func(tx store.Tx) error { return tx.PutRun(&store.Run{Project: "p", TriggeredAt: t0}) })},
		"run too large": {want: store.ErrTooLarge, flag: true,
			call: update(func(tx store.Tx) error {
				return tx.PutRun(&store.Run{ID: "r", Project: "p", TriggeredAt: t0, Body: big})
			})},
		"lane too large": {want: store.ErrTooLarge, flag: true,
			call: update(func(tx store.Tx) error { return tx.PutLane(&store.Lane{Key: store.LaneKey{Project: "p"}, Body: big}) })},
		"context too large": {want: store.ErrTooLarge, flag: true,
			call: update(func(tx store.Tx) error {
				return tx.PutContext(&store.Context{Project: "p", KeptnContext: "k", Body: big})
			})},
		"project without name": {want: store.ErrInvalid, flag: true,
			call: func(ctx context.Context, s store.Store) error {
				return s.CreateProject(ctx, &store.Project{CreatedAt: t0})
			}},
		"project too large": {want: store.ErrTooLarge, flag: true,
			call: func(ctx context.Context, s store.Store) error {
				return s.CreateProject(ctx, &store.Project{Name: "p", CreatedAt: t0, Body: big})
			}},
		"project renamed": {inTx: true, want: store.ErrInvalid, flag: true, seed: seedProject, unchanged: projectUnchanged,
			call: func(ctx context.Context, s store.Store) error {
				return s.UpdateProject(ctx, "p", func(p *store.Project) error { p.Name, p.Body = "q", []byte(`{"v":2}`); return nil })
			}},
		"project grown too large": {inTx: true, want: store.ErrTooLarge, flag: true, seed: seedProject, unchanged: projectUnchanged,
			call: func(ctx context.Context, s store.Store) error {
				return s.UpdateProject(ctx, "p", func(p *store.Project) error { p.Body = big; return nil })
			}},
		"event without ID": {want: store.ErrInvalid, flag: true,
			call: func(ctx context.Context, s store.Store) error {
				return s.AppendEvent(ctx, &store.Event{Project: "p", KeptnContext: "k", Time: t0})
			}},
		"event too large": {want: store.ErrTooLarge, flag: true,
			call: func(ctx context.Context, s store.Store) error {
				return s.AppendEvent(ctx, &store.Event{ID: "e", Project: "p", KeptnContext: "k", Time: t0, Body: big})
			}},
		"lazy event without ID": {want: store.ErrInvalid, flag: true,
			call: func(ctx context.Context, s store.Store) error {
				return s.Capabilities().AppendEventLazy(ctx, &store.Event{Project: "p", KeptnContext: "k", Time: t0})
			}},
		"lazy event too large": {want: store.ErrTooLarge, flag: true,
			call: func(ctx context.Context, s store.Store) error {
				return s.Capabilities().AppendEventLazy(ctx, &store.Event{ID: "e", Project: "p", KeptnContext: "k", Time: t0, Body: big})
			}},
		"resource too large": {want: store.ErrTooLarge, flag: true,
			call: func(ctx context.Context, s store.Store) error {
				return s.PutResource(ctx, &store.Resource{Project: "p", URI: "big.txt", Content: big, UpdatedAt: t0})
			}},
		"integration registered under another name": {inTx: true, want: store.ErrInvalid, flag: h.Flags.Integrations, unchanged: integrationUnchanged,
			call: register(func(*store.Integration) *store.Integration {
				return &store.Integration{ID: "i1", Name: "other", Namespace: "ns", LastSeen: t0}
			})},
		"integration registered in another namespace": {inTx: true, want: store.ErrInvalid, flag: h.Flags.Integrations, unchanged: integrationUnchanged,
			call: register(func(*store.Integration) *store.Integration {
				return &store.Integration{ID: "i1", Name: "n", Namespace: "other", LastSeen: t0}
			})},
		"integration registered without ID": {inTx: true, want: store.ErrInvalid, flag: h.Flags.Integrations, unchanged: integrationUnchanged,
			call: register(func(*store.Integration) *store.Integration {
				return &store.Integration{Name: "n", Namespace: "ns", LastSeen: t0}
			})},
		"integration registered too large": {inTx: true, want: store.ErrTooLarge, flag: h.Flags.Integrations, unchanged: integrationUnchanged,
			call: register(func(*store.Integration) *store.Integration {
				return &store.Integration{ID: "i1", Name: "n", Namespace: "ns", LastSeen: t0, Body: big}
			})},
		"integration re-registered under another name": {inTx: true, want: store.ErrInvalid, flag: h.Flags.Integrations,
			seed: seedIntegration, unchanged: integrationUnchanged,
			call: register(func(cur *store.Integration) *store.Integration { cur.Name = "other"; return cur })},
		"integration id changed": {inTx: true, want: store.ErrInvalid, flag: h.Flags.Integrations, seed: seedIntegration, unchanged: integrationUnchanged,
			call: updateIntegration(func(in *store.Integration) { in.ID = "i2" })},
		"integration renamed": {inTx: true, want: store.ErrInvalid, flag: h.Flags.Integrations, seed: seedIntegration, unchanged: integrationUnchanged,
			call: updateIntegration(func(in *store.Integration) { in.Name = "other" })},
		"integration moved to another namespace": {inTx: true, want: store.ErrInvalid, flag: h.Flags.Integrations, seed: seedIntegration,
			unchanged: integrationUnchanged, call: updateIntegration(func(in *store.Integration) { in.Namespace = "other" })},
		"integration grown too large": {inTx: true, want: store.ErrTooLarge, flag: h.Flags.Integrations, seed: seedIntegration,
			unchanged: integrationUnchanged, call: updateIntegration(func(in *store.Integration) { in.Body = big })},
		"log without ID": {want: store.ErrInvalid, flag: h.Flags.Integrations,
			call: func(ctx context.Context, s store.Store) error {
				return s.Integrations().AppendLogs(ctx, []*store.LogEntry{{ID: "l1", IntegrationID: "i1", Time: t0}, {IntegrationID: "i1", Time: t0}})
			}},
		"log too large": {want: store.ErrTooLarge, flag: h.Flags.Integrations,
			call: func(ctx context.Context, s store.Store) error {
				return s.Integrations().AppendLogs(ctx, []*store.LogEntry{{ID: "l1", IntegrationID: "i1", Time: t0, Body: big}})
			}},
		"secret without name": {want: store.ErrInvalid, flag: h.Flags.Secrets,
			call: func(ctx context.Context, s store.Store) error {
				return s.Secrets().CreateSecret(ctx, &store.Secret{Scope: "x", UpdatedAt: t0})
			}},
		"secret too large": {want: store.ErrTooLarge, flag: h.Flags.Secrets,
			call: func(ctx context.Context, s store.Store) error {
				return s.Secrets().CreateSecret(ctx, &store.Secret{Name: "s", Scope: "x", Data: big, UpdatedAt: t0})
			}},
		"secret grown too large": {want: store.ErrTooLarge, flag: h.Flags.Secrets,
			seed: func(t *testing.T, s store.Store) {
				must(t, "seed secret", s.Secrets().CreateSecret(t.Context(), &store.Secret{Name: "s", Scope: "x", Data: []byte("v"), UpdatedAt: t0}))
			},
			unchanged: func(t *testing.T, s store.Store) {
				if got, err := s.Secrets().GetSecret(t.Context(), "s"); err != nil || string(got.Data) != "v" {
					t.Errorf("secret after a refused update: %+v, %v", got, err)
				}
			},
			call: func(ctx context.Context, s store.Store) error {
				return s.Secrets().UpdateSecret(ctx, &store.Secret{Name: "s", Scope: "x", Data: big, UpdatedAt: t0})
			}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if !c.flag {
				return // the driver has no such group; Integrations/Secrets check it is nil
			}
			sp := &spy{Driver: h.NewDriver(t)}
			s := store.New(sp)
			if c.seed != nil {
				c.seed(t, s)
			}
			before := sp.count()
			err := c.call(t.Context(), s)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if n := sp.count() - before; !c.inTx && n != 0 {
				t.Errorf("%d refused writes reached the driver", n)
			}
			if c.unchanged != nil {
				c.unchanged(t, s)
			}
		})
	}
}

// spy is a driver that counts the writes reaching it, for the rules the
// layer must check before calling the driver.
type spy struct {
	store.Driver
	mu     sync.Mutex
	writes int
}

func (s *spy) add() {
	s.mu.Lock()
	s.writes++
	s.mu.Unlock()
}

func (s *spy) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

func (s *spy) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Driver.Update(ctx, func(tx store.Tx) error { return fn(spyTx{Tx: tx, s: s}) })
}

func (s *spy) CreateProject(ctx context.Context, p *store.Project) error {
	s.add()
	return s.Driver.CreateProject(ctx, p)
}

func (s *spy) AppendEvent(ctx context.Context, e *store.Event) error {
	s.add()
	return s.Driver.AppendEvent(ctx, e)
}

func (s *spy) PutResource(ctx context.Context, r *store.Resource) error {
	s.add()
	return s.Driver.PutResource(ctx, r)
}

// Features passes the declaration on with the optional write paths counted.
func (s *spy) Features() store.Features {
	f := s.Driver.Features()
	if lazy := f.Capabilities.AppendEventLazy; lazy != nil {
		f.Capabilities.AppendEventLazy = func(ctx context.Context, e *store.Event) error {
			s.add()
			return lazy(ctx, e)
		}
	}
	if f.Integrations != nil {
		f.Integrations = spyIntegrations{IntegrationStore: f.Integrations, s: s}
	}
	if f.Secrets != nil {
		f.Secrets = spySecrets{SecretStore: f.Secrets, s: s}
	}
	return f
}

type spyTx struct {
	store.Tx
	s *spy
}

func (t spyTx) PutRun(r *store.Run) error         { t.s.add(); return t.Tx.PutRun(r) }
func (t spyTx) PutLane(l *store.Lane) error       { t.s.add(); return t.Tx.PutLane(l) }
func (t spyTx) PutContext(c *store.Context) error { t.s.add(); return t.Tx.PutContext(c) }

type spyIntegrations struct {
	store.IntegrationStore
	s *spy
}

func (i spyIntegrations) AppendLogs(ctx context.Context, logs []*store.LogEntry) error {
	i.s.add()
	return i.IntegrationStore.AppendLogs(ctx, logs)
}

type spySecrets struct {
	store.SecretStore
	s *spy
}

func (x spySecrets) CreateSecret(ctx context.Context, sec *store.Secret) error {
	x.s.add()
	return x.SecretStore.CreateSecret(ctx, sec)
}

func (x spySecrets) UpdateSecret(ctx context.Context, sec *store.Secret) error {
	x.s.add()
	return x.SecretStore.UpdateSecret(ctx, sec)
}
