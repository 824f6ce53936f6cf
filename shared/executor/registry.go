package executor

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrAborted is the cancellation cause of work stopped by an .aborted event.
var ErrAborted = errors.New("aborted")

// Registry tracks running work by the id of its .triggered event so an
// .aborted event can cancel it, remembers aborts that arrive before the
// work (so it never starts), and remembers handled event ids for a while to
// skip redeliveries. The zero value is not usable; use NewRegistry.
type Registry struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	running map[string]*entry
	aborted map[string]time.Time
	seen    map[string]time.Time
	now     func() time.Time
}

type entry struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	refs   int
}

// NewRegistry remembers aborts and handled ids for ttl (0: 1h), at most
// max of each (0: 10000).
func NewRegistry(ttl time.Duration, max int) *Registry {
	if ttl <= 0 {
		ttl = time.Hour
	}
	if max <= 0 {
		max = 10000
	}
	return &Registry{ttl: ttl, max: max, running: map[string]*entry{}, aborted: map[string]time.Time{}, seen: map[string]time.Time{}, now: time.Now}
}

// Begin registers work for triggeredID and returns its context (derived
// from parent, canceled with cause ErrAborted on Abort) and a done func
// that must be called when the work ends. ok is false if the task was
// already aborted; then ctx is already canceled.
func (r *Registry) Begin(parent context.Context, triggeredID string) (ctx context.Context, done func(), ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ab := r.aborted[triggeredID]; ab {
		c, cancel := context.WithCancelCause(parent)
		cancel(ErrAborted)
		return c, func() {}, false
	}
	e := r.running[triggeredID]
	if e == nil {
		c, cancel := context.WithCancelCause(parent)
		e = &entry{ctx: c, cancel: cancel}
		r.running[triggeredID] = e
	}
	e.refs++
	var once sync.Once
	return e.ctx, func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			e.refs--
			if e.refs == 0 {
				e.cancel(nil)
				if r.running[triggeredID] == e {
					delete(r.running, triggeredID)
				}
			}
		})
	}, true
}

// Abort cancels the work registered for triggeredID and remembers the
// abort. It reports whether running work was canceled.
func (r *Registry) Abort(triggeredID string) bool {
	if triggeredID == "" {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.remember(r.aborted, triggeredID)
	e := r.running[triggeredID]
	if e == nil {
		return false
	}
	e.cancel(ErrAborted)
	return true
}

// Running reports whether work for triggeredID is registered.
func (r *Registry) Running(triggeredID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running[triggeredID] != nil
}

// FirstDelivery records id as handled and reports whether it was new.
func (r *Registry) FirstDelivery(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.seen[id]; ok && r.now().Sub(t) < r.ttl {
		return false
	}
	r.remember(r.seen, id)
	return true
}

// Forget drops id from the handled ids (its handling failed and a
// redelivery should be processed).
func (r *Registry) Forget(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.seen, id)
}

func (r *Registry) remember(m map[string]time.Time, id string) {
	now := r.now()
	if len(m) >= r.max {
		for k, t := range m {
			if now.Sub(t) >= r.ttl {
				delete(m, k)
			}
		}
		for k := range m { // still full: drop arbitrary entries
			if len(m) < r.max {
				break
			}
			delete(m, k)
		}
	}
	m[id] = now
}

// Aborted reports whether ctx was canceled by Abort.
func Aborted(ctx context.Context) bool { return errors.Is(context.Cause(ctx), ErrAborted) }
