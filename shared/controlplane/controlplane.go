// Package controlplane runs the engine on the store: one transaction per
// incoming event, outgoing events written to an outbox in that transaction
// and published after it commits, and a sweeper for timers and unconfirmed
// outbox entries. It is the body of the control-plane function and of the
// local runtime's control plane.
package controlplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/shipyard"
	"github.com/slipwayhq/slipway/shared/store"
)

// Publisher sends events to the broker; nil error means the broker accepted.
type Publisher interface {
	Publish(ctx context.Context, e event.Event) error
}

// Shipyards returns a project's shipyard.
type Shipyards interface {
	Shipyard(ctx context.Context, project string) (*shipyard.Shipyard, error)
}

// ErrInvalid marks events that can never be applied: answer 400, no retry.
var ErrInvalid = engine.ErrInvalidEvent

// ErrUnknownProject is returned by Shipyards for projects that do not exist.
var ErrUnknownProject = errors.New("project not found")

// Service is the control plane.
type Service struct {
	store     store.Store
	caps      store.Capabilities
	pub       Publisher
	eng       *engine.Engine
	shipyards Shipyards
	runs      *runCache
	published *published
	now       func() time.Time
	log       *zap.Logger
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLogger sets the logger.
func WithLogger(l *zap.Logger) Option { return func(s *Service) { s.log = l } }

// WithShipyards replaces the default shipyard source (the project resource
// shipyard.yaml in the store).
func WithShipyards(y Shipyards) Option { return func(s *Service) { s.shipyards = y } }

// New returns a control plane on st publishing through pub.
func New(st store.Store, pub Publisher, eng *engine.Engine, opts ...Option) *Service {
	s := &Service{store: st, caps: st.Capabilities(), pub: pub, eng: eng, runs: newRunCache(), published: newPublished(), now: time.Now, log: zap.NewNop()}
	s.shipyards = &StoreShipyards{Store: st}
	for _, o := range opts {
		o(s)
	}
	return s
}

// StoreShipyards reads shipyard.yaml from the project's resources. It
// keeps the last parsed shipyard of each project and parses again only when
// the file's content changed: every sequence trigger asks, and parsing the
// YAML was the costliest step of a trigger. Parsed shipyards are shared, so
// nothing may modify one.
type StoreShipyards struct {
	Store store.Store

	mu     sync.Mutex
	parsed map[string]parsedShipyard
}

type parsedShipyard struct {
	content []byte
	sy      *shipyard.Shipyard
}

// maxParsedShipyards bounds the cache (one entry per project).
const maxParsedShipyards = 256

// Shipyard implements Shipyards.
func (y *StoreShipyards) Shipyard(ctx context.Context, project string) (*shipyard.Shipyard, error) {
	res, err := y.Store.GetResource(ctx, project, "", "", "shipyard.yaml")
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownProject, project)
	}
	if err != nil {
		return nil, fmt.Errorf("load shipyard of %s: %w", project, err)
	}
	y.mu.Lock()
	p, ok := y.parsed[project]
	y.mu.Unlock()
	if ok && bytes.Equal(p.content, res.Content) {
		return p.sy, nil
	}
	sy, err := shipyard.Parse(res.Content)
	if err != nil {
		return nil, err
	}
	y.mu.Lock()
	if y.parsed == nil || len(y.parsed) >= maxParsedShipyards {
		y.parsed = map[string]parsedShipyard{}
	}
	y.parsed[project] = parsedShipyard{content: res.Content, sy: sy}
	y.mu.Unlock()
	return sy, nil
}

// PingType is the type of PingSource events (the sweeper tick).
const PingType = "dev.knative.sources.ping"

// Handle applies one incoming event. Events that are not the control plane's
// are ignored. Errors wrapping ErrInvalid are permanent; others are transient.
func (s *Service) Handle(ctx context.Context, ev event.Event) error {
	if ev.Type() == PingType {
		_, err := s.Sweep(ctx)
		return err
	}
	t, err := keptn.ParseType(ev.Type())
	if err != nil {
		return nil
	}
	switch {
	case t.IsSequence() && t.Kind == keptn.KindTriggered:
		return s.trigger(ctx, ev)
	case t.IsTask() && (t.Kind == keptn.KindStarted || t.Kind == keptn.KindFinished):
		return s.taskEvent(ctx, ev)
	}
	return nil
}

func (s *Service) trigger(ctx context.Context, ev event.Event) error {
	d, _, err := keptn.DecodeData(ev)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if d.Project == "" || d.Stage == "" || d.Service == "" {
		return fmt.Errorf("%w: %s %s lacks data.project, data.stage or data.service", ErrInvalid, ev.Type(), ev.ID())
	}
	sy, syErr := s.shipyards.Shipyard(ctx, d.Project)
	if syErr != nil && !errors.Is(syErr, ErrUnknownProject) && !errors.Is(syErr, shipyard.ErrInvalid) {
		return syErr // transient: let the broker retry
	}
	now := s.now()
	var out sendList
	err = s.store.Update(ctx, func(tx store.Tx) error {
		u := newUnit(tx, s.eng, s.runs)
		out = sendList{}
		if r, err := u.Run(engine.RunID(d.Project, ev.ID())); err == nil {
			// A redelivery: publish what is still unconfirmed.
			out, err = s.finish(u, emission{run: r})
			return err
		} else if !errors.Is(err, engine.ErrNotFound) {
			return err
		}
		cc, err := u.control(d.Project, keptn.Context(ev))
		if err != nil {
			return err
		}
		r, err := s.eng.Trigger(u, engine.TriggerInput{Event: ev, Shipyard: sy, ShipyardErr: syErr,
			Paused: cc.IsPaused(d.Stage), PausedStage: cc.IsStagePaused(d.Stage)}, now)
		if err != nil {
			return err
		}
		u.add(r)
		out, err = s.finish(u)
		return err
	})
	if err != nil {
		return fmt.Errorf("apply %s %s: %w", ev.Type(), ev.ID(), err)
	}
	s.log.Info("sequence triggered", zap.String("keptnContext", keptn.Context(ev)), zap.String("event", ev.ID()),
		zap.String("type", ev.Type()))
	return s.send(ctx, out)
}

func (s *Service) taskEvent(ctx context.Context, ev event.Event) error {
	d, err := keptn.DecodeScope(ev) // the engine decodes the rest in the transaction
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	tid := keptn.TriggeredID(ev)
	if d.Project == "" || d.Stage == "" || d.Service == "" || tid == "" {
		return fmt.Errorf("%w: %s %s lacks data.project, data.stage, data.service or triggeredid", ErrInvalid, ev.Type(), ev.ID())
	}
	now := s.now()
	var out sendList
	var outcome error
	err = s.store.Update(ctx, func(tx store.Tx) error {
		u := newUnit(tx, s.eng, s.runs)
		out, outcome = sendList{}, nil
		rec, err := tx.RunByTask(d.Project, tid)
		if errors.Is(err, store.ErrNotFound) {
			outcome = engine.ErrStale
			return nil
		}
		if err != nil {
			return err
		}
		r, err := u.adopt(rec)
		if err != nil {
			return err
		}
		switch err := s.eng.TaskEvent(u, r, ev, now); {
		case errors.Is(err, engine.ErrDuplicate):
			outcome = err
			out, err = s.finish(u, emission{run: r})
			return err
		case errors.Is(err, engine.ErrStale):
			outcome = err
			return nil
		case err != nil:
			return err
		}
		out, err = s.finish(u)
		return err
	})
	if err != nil {
		return fmt.Errorf("apply %s %s: %w", ev.Type(), ev.ID(), err)
	}
	if errors.Is(outcome, engine.ErrStale) {
		s.log.Info("task event ignored: no open task", zap.String("event", ev.ID()), zap.String("type", ev.Type()),
			zap.String("triggeredid", tid))
		return nil
	}
	s.log.Info("task event applied", zap.String("keptnContext", keptn.Context(ev)), zap.String("event", ev.ID()),
		zap.String("type", ev.Type()), zap.Bool("duplicate", outcome != nil))
	return s.send(ctx, out)
}

// Control applies abort, pause or resume to the runs of a keptnContext (all
// stages, or one). Unknown actions change nothing.
func (s *Service) Control(ctx context.Context, project, kctx string, a engine.Action, stage string) error {
	if a != engine.Abort && a != engine.Pause && a != engine.Resume {
		return nil
	}
	now := s.now()
	var out sendList
	err := s.store.Update(ctx, func(tx store.Tx) error {
		u := newUnit(tx, s.eng, s.runs)
		cc, err := u.control(project, kctx)
		if err != nil {
			return err
		}
		cc.Apply(a, stage)
		recs, err := tx.RunsByContext(project, kctx)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if stage != "" && rec.Stage != stage {
				continue
			}
			r, err := u.adopt(rec)
			if err != nil {
				return err
			}
			if err := s.eng.ControlScoped(u, r, a, stage != "", now); err != nil {
				return err
			}
		}
		out, err = s.finish(u)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s context %s: %w", a, kctx, err)
	}
	s.log.Info("sequence control", zap.String("keptnContext", kctx), zap.String("action", string(a)), zap.String("stage", stage))
	return s.send(ctx, out)
}

// Sweep fires due timers and republishes unconfirmed outbox entries. It
// returns how many runs it visited.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.now()
	ids, err := s.store.DueRuns(ctx, now, 200)
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	var firstErr error
	for _, id := range ids {
		var out sendList
		err := s.store.Update(ctx, func(tx store.Tx) error {
			u := newUnit(tx, s.eng, s.runs)
			out = sendList{}
			r, err := u.Run(id)
			if errors.Is(err, engine.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := s.eng.Tick(u, r, now); err != nil {
				return err
			}
			out, err = s.finish(u, emission{run: r}) // still publish its unconfirmed entries
			return err
		})
		if err == nil {
			err = s.send(ctx, out)
		}
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("sweep run %s: %w", id, err)
		}
	}
	return len(ids), firstErr
}

func containsRun(es []emission, r *engine.Run) bool {
	for _, e := range es {
		if e.run.ID == r.ID {
			return true
		}
	}
	return false
}

// finish ends a transaction's work on its unit: it writes the changed
// documents, takes from the runs what is to be sent (the transition's
// emissions, plus extra runs' unconfirmed entries), and hands the runs to the
// run cache. It runs inside the transaction, so the next event of a run (an
// executor answers within microseconds) finds it decoded even while this
// handler still waits for its commit to be durable; from here on the
// handler touches only the returned list. A run cached by a transaction that
// then fails to commit is never used: its document is not the stored one.
func (s *Service) finish(u *unit, extra ...emission) (sendList, error) {
	touched, err := u.flush()
	if err != nil {
		return sendList{}, err
	}
	for _, e := range extra {
		if !containsRun(touched, e.run) {
			touched = append(touched, e)
		}
	}
	out, err := s.outgoing(touched)
	if err != nil {
		return sendList{}, err
	}
	s.runs.put(u.keep())
	return out, nil
}

// staleAfter is how old an unconfirmed entry must be before a later
// transition of its run publishes it again: younger ones are most likely
// out already, their confirmation still in flight (executors answer within
// milliseconds), and the redelivery and the sweeper cover real failures.
const staleAfter = 2 * time.Second

// sendList is what a transition leaves to send: events, and per run the
// outbox position they confirm.
type sendList struct {
	evs  []event.Event
	acks []ack
}

// ack is one run's part: the seqs of its unconfirmed entries when the
// transaction read it (ascending) and those this handler sends.
type ack struct {
	run     string
	pending []int64
	sent    []int64
}

// outgoing picks the entries to send: per run, those after e.seq (this
// transition's) and older unconfirmed ones that are stale.
func (s *Service) outgoing(es []emission) (sendList, error) {
	now := s.now()
	var out sendList
	for _, e := range es {
		a := ack{run: e.run.ID}
		for i := range e.run.Outbox {
			o := &e.run.Outbox[i]
			a.pending = append(a.pending, o.Seq)
			if o.Seq <= e.seq && now.Sub(o.At) < staleAfter {
				continue
			}
			ev, err := o.CloudEvent()
			if err != nil {
				return sendList{}, fmt.Errorf("run %s: %w", e.run.ID, err)
			}
			out.evs = append(out.evs, ev)
			a.sent = append(a.sent, o.Seq)
		}
		if len(a.sent) > 0 {
			out.acks = append(out.acks, a)
		}
	}
	return out, nil
}

// send publishes events and returns once the broker accepted all of them
// (concurrent sends when there are several). A failed send returns an error
// so the broker redelivers the incoming event, whose replay republishes.
// The entries are then confirmed with one blind field write per run
// (store.AckOutbox, no transaction) before the handler acknowledges; the
// next transaction on the run drops them, and the sweeper republishes what a
// crash left unconfirmed.
func (s *Service) send(ctx context.Context, out sendList) error {
	switch len(out.evs) {
	case 0:
		return nil
	case 1:
		if err := s.pub.Publish(ctx, out.evs[0]); err != nil {
			return err
		}
	default:
		errs := make([]error, len(out.evs))
		var wg sync.WaitGroup
		for i := range out.evs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.pub.Publish(ctx, out.evs[i])
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	// A confirmation need not wait for the disk where the driver declares
	// so (store.Capabilities.AckOutboxLazy): a lost one costs one more
	// publish, as a crash between publishing and confirming always could.
	confirm := s.caps.AckOutboxLazy
	for _, a := range out.acks {
		// Only up to the first entry not yet published: a younger entry this
		// transition skipped may still be in flight in another handler, and
		// may yet fail (published.go).
		seq, blocked := s.published.confirmable(a.run, 0, a.pending, a.sent)
		if blocked {
			// Another instance may have published and confirmed the entry
			// since the transaction read the run: one read settles it,
			// else the sweeper sends it once more (same id).
			if rec, err := s.store.GetRun(context.WithoutCancel(ctx), a.run); err == nil && rec.AckedSeq > seq {
				seq, _ = s.published.confirmable(a.run, rec.AckedSeq, a.pending, nil)
			}
		}
		if seq == 0 {
			continue
		}
		if err := confirm(context.WithoutCancel(ctx), a.run, seq); err != nil {
			s.log.Warn("outbox confirmation failed; the sweeper will send again", zap.String("run", a.run), zap.Error(err))
		}
	}
	return nil
}
