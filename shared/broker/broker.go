// Package broker is Slipway's dev broker: the Knative Broker of the
// one-machine local runtime. It accepts CloudEvents over HTTP (binary and
// structured mode) or in process, routes them by the same Knative Trigger
// manifests the cluster uses (package trigger, filters in package filter), and
// delivers them with Knative's delivery semantics: one delivery per matching
// Trigger, retries with linear or exponential backoff on network errors, 5xx,
// 404, 408, 409 and 429 (never on other 4xx), a per-attempt timeout, a dead
// letter sink with the knativeerrordest/knativeerrorcode/knativeerrordata
// extensions, and replies (a 2xx answer carrying a CloudEvent) published back
// into the broker and evaluated against every Trigger, with Knative's
// knativebrokerttl loop guard.
//
// Durability: the queue is in memory. A 202 from the ingress (or a nil error
// from Publish) means the event's deliveries are queued; they are delivered at
// least once while the process lives. A restart loses undelivered events; the
// control plane's outbox sweeper covers that by republishing events whose
// delivery was never confirmed. Events that fail for good and have no dead
// letter sink are logged (one structured zap line each) and kept in an
// in-memory ring (DeadLetters).
//
// Deviations from Knative, on purpose: a per-attempt timeout applies even when
// a Trigger sets none (Options.AttemptTimeout, default 30s), because a hung
// subscriber must not pin a worker of a bounded pool forever; a reply whose
// TTL is exhausted is dead-lettered here rather than failing the original
// delivery; cesql filters are refused when Triggers are loaded.
package broker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/broker/filter"
	"github.com/slipwayhq/slipway/shared/broker/trigger"
)

// Defaults.
const (
	// DefaultMaxEventBytes caps an ingress request body (and a reply body):
	// 1 MiB, the order of Kafka's default message.max.bytes behind Knative's
	// Kafka broker and Firestore's document limit. Knative's MT channel-based
	// broker sets no explicit cap.
	DefaultMaxEventBytes = 1 << 20
	// DefaultTTL is Knative's MAX_TTL for knativebrokerttl.
	DefaultTTL = 255
	// TTLExtension is the loop-guard extension Knative's broker stamps.
	TTLExtension = "knativebrokerttl"

	defaultAttemptTimeout = 30 * time.Second
	defaultMaxPending     = 100_000
	defaultDeadLetters    = 1000
)

// Errors returned by Publish (the ingress maps them to HTTP statuses).
var (
	ErrClosed       = errors.New("broker is closed")                          // 503
	ErrBusy         = errors.New("broker queue is full, retry later")         // 503
	ErrTTLExhausted = errors.New("event dropped: knativebrokerttl exhausted") // 400
	ErrInvalidEvent = errors.New("invalid CloudEvent")                        // 400
)

// Options configure a Broker. The zero value plus Triggers (or TriggerDirs)
// and Services is a working broker.
type Options struct {
	// Name is the broker's name. When set, Triggers whose spec.broker differs
	// are skipped (with a warning); when empty, every Trigger is used.
	Name string
	// Triggers to route by, and/or directories of Trigger manifests.
	Triggers    []trigger.Trigger
	TriggerDirs []string
	// Services maps subscriber ref names (e.g. Service "control-plane") to
	// base URLs (e.g. http://127.0.0.1:8081). A ref to a name missing here is
	// an error from New.
	Services map[string]string
	// ServiceHeaders are added to every delivery to a subscriber ref of that
	// name (not to its dead-letter sink): the local runtime authenticates
	// the broker to the api's history ingest this way. A Knative Trigger has
	// no such field (docs/deploy.md: the token goes in its URI there).
	ServiceHeaders map[string]http.Header
	// DefaultDelivery applies to Triggers without spec.delivery; nil means
	// trigger.DefaultDelivery() (Knative's retry 10, exponential, PT0.2S).
	DefaultDelivery *trigger.Delivery
	// AttemptTimeout bounds an attempt when the Trigger sets no
	// delivery.timeout; 0 means 30s, negative means no timeout.
	AttemptTimeout time.Duration
	// Workers is the number of concurrent deliveries; 0 means 64×GOMAXPROCS
	// (at least 128). Subscribers mostly wait (for a durable commit, for an
	// executor), so a delivery holds a worker without using a core; with 32
	// on 2 cores the load harness left a fifth of the CPU idle behind a
	// queue of hundreds of deliveries. Knative's broker has no such pool.
	Workers int
	// MaxPending bounds deliveries queued, in flight or waiting to retry;
	// beyond it the ingress answers 503 (replies are always accepted).
	// 0 means 100000.
	MaxPending int
	// MaxEventBytes caps ingress and reply bodies; 0 means DefaultMaxEventBytes.
	MaxEventBytes int64
	// DeadLetterCapacity is the size of the dead-letter ring; 0 means 1000.
	DeadLetterCapacity int
	// Client sends deliveries; nil means a client tuned for loopback.
	Client *http.Client
	// Logger; nil means zap.NewNop().
	Logger *zap.Logger
}

// route is a loaded, resolved Trigger.
type route struct {
	name     string
	filter   filter.Filter
	url      string
	header   http.Header // extra headers of every delivery to url
	dls      string
	delivery trigger.Delivery
	timeout  time.Duration
}

// Broker is the dev broker. Its ServeHTTP is the ingress.
type Broker struct {
	log        *zap.Logger
	client     *http.Client
	routes     []*route
	maxPending int
	maxBytes   int64

	ctx    context.Context // cancelled when Close gives up draining
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*task
	head    int
	pending int // queued + in flight + waiting for a retry timer
	timers  map[*time.Timer]*task
	closing bool
	stopped bool
	drained chan struct{}
	drainMu sync.Once

	dead *ring

	accepted, delivered, retries, deadLettered, replies atomic.Int64
}

// New loads and resolves the Triggers and starts the delivery workers.
func New(opts Options) (*Broker, error) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	ts := append([]trigger.Trigger(nil), opts.Triggers...)
	if len(opts.TriggerDirs) > 0 {
		more, err := trigger.LoadDirs(opts.TriggerDirs...)
		if err != nil {
			return nil, fmt.Errorf("new broker: %w", err)
		}
		ts = append(ts, more...)
	}
	def := trigger.DefaultDelivery()
	if opts.DefaultDelivery != nil {
		def = *opts.DefaultDelivery
	}
	attemptTimeout := opts.AttemptTimeout
	if attemptTimeout == 0 {
		attemptTimeout = defaultAttemptTimeout
	}
	b := &Broker{
		log:        log,
		client:     opts.Client,
		maxPending: opts.MaxPending,
		maxBytes:   opts.MaxEventBytes,
		timers:     map[*time.Timer]*task{},
		drained:    make(chan struct{}),
	}
	seen := map[string]bool{}
	for _, t := range ts {
		if opts.Name != "" && t.Broker != opts.Name {
			log.Warn("skipping trigger for another broker", zap.String("trigger", t.Name), zap.String("broker", t.Broker), zap.String("source", t.Source))
			continue
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("new broker: trigger %q defined twice", t.Name)
		}
		seen[t.Name] = true
		r, err := newRoute(t, def, attemptTimeout, opts.Services)
		if err != nil {
			return nil, fmt.Errorf("new broker: trigger %q (%s): %w", t.Name, t.Source, err)
		}
		if ref := t.Subscriber.Ref; ref != nil {
			r.header = opts.ServiceHeaders[ref.Name]
		}
		b.routes = append(b.routes, r)
	}
	if b.maxPending <= 0 {
		b.maxPending = defaultMaxPending
	}
	if b.maxBytes <= 0 {
		b.maxBytes = DefaultMaxEventBytes
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = max(128, 64*runtime.GOMAXPROCS(0))
	}
	if b.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = 4 * workers
		tr.MaxIdleConnsPerHost = workers
		tr.Proxy = nil
		b.client = &http.Client{Transport: tr}
	}
	capacity := opts.DeadLetterCapacity
	if capacity <= 0 {
		capacity = defaultDeadLetters
	}
	b.dead = newRing(capacity)
	b.cond = sync.NewCond(&b.mu)
	b.ctx, b.cancel = context.WithCancel(context.Background())
	for range workers {
		b.wg.Add(1)
		go b.work()
	}
	return b, nil
}

func newRoute(t trigger.Trigger, def trigger.Delivery, attemptTimeout time.Duration, services map[string]string) (*route, error) {
	f, err := filter.Compile(t.Filter)
	if err != nil {
		return nil, err
	}
	url, err := t.Subscriber.Resolve(services)
	if err != nil {
		return nil, fmt.Errorf("subscriber: %w", err)
	}
	d := def
	if t.Delivery != nil {
		d = *t.Delivery
	}
	r := &route{name: t.Name, filter: f, url: url, delivery: d, timeout: d.Timeout}
	if r.timeout == 0 && attemptTimeout > 0 {
		r.timeout = attemptTimeout
	}
	if d.DeadLetterSink != nil {
		if r.dls, err = d.DeadLetterSink.Resolve(services); err != nil {
			return nil, fmt.Errorf("deadLetterSink: %w", err)
		}
	}
	return r, nil
}

// Publish validates e and queues its deliveries, like a POST to the ingress.
func (b *Broker) Publish(ctx context.Context, e event.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e = e.Clone()
	if err := e.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	return b.accept(e, true)
}

// accept stamps/decrements the TTL, matches the Triggers and queues one task
// per match. external is false for replies, which bypass the pending bound
// and are accepted while draining.
func (b *Broker) accept(e event.Event, external bool) error {
	ttl, err := takeTTL(&e)
	if err != nil {
		return err
	}
	var tasks []*task
	for _, r := range b.routes {
		if r.filter.Match(e) {
			tasks = append(tasks, &task{route: r, event: e, ttl: ttl})
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped || (external && b.closing) {
		return ErrClosed
	}
	if external && b.pending+len(tasks) > b.maxPending {
		return ErrBusy
	}
	b.accepted.Add(1)
	b.pending += len(tasks)
	for _, t := range tasks {
		b.pushLocked(t)
	}
	return nil
}

// takeTTL reads knativebrokerttl (default 255), refuses ≤0 and removes it
// from the event; the decremented value travels with the task.
func takeTTL(e *event.Event) (int32, error) {
	ttl := int32(DefaultTTL)
	if v, ok := filter.LookupAttribute(*e, TTLExtension); ok {
		n, err := toInt32(v)
		if err != nil {
			return 0, fmt.Errorf("%w: invalid %s %v", ErrTTLExhausted, TTLExtension, v)
		}
		ttl = n
	}
	if ttl <= 0 {
		return 0, ErrTTLExhausted
	}
	e.SetExtension(TTLExtension, nil)
	return ttl - 1, nil
}

func (b *Broker) pushLocked(t *task) {
	b.queue = append(b.queue, t)
	b.cond.Signal()
}

// pop blocks for the next task; nil once the broker is stopped.
func (b *Broker) pop() *task {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.head == len(b.queue) && !b.stopped {
		b.cond.Wait()
	}
	if b.stopped {
		return nil
	}
	t := b.queue[b.head]
	b.queue[b.head] = nil
	b.head++
	if b.head == len(b.queue) {
		b.queue, b.head = b.queue[:0], 0
	} else if b.head > 1024 && b.head*2 > len(b.queue) {
		n := copy(b.queue, b.queue[b.head:])
		clear(b.queue[n:])
		b.queue, b.head = b.queue[:n], 0
	}
	return t
}

func (b *Broker) work() {
	defer b.wg.Done()
	for {
		t := b.pop()
		if t == nil {
			return
		}
		b.attempt(t)
	}
}

// finish marks one task as finally disposed of.
func (b *Broker) finish() {
	b.mu.Lock()
	b.pending--
	if b.closing && b.pending == 0 {
		b.drainMu.Do(func() { close(b.drained) })
	}
	b.mu.Unlock()
}

// retryLater re-queues t after d, unless the broker stopped.
func (b *Broker) retryLater(t *task, d time.Duration) {
	b.retries.Add(1)
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		b.abandon(t)
		return
	}
	defer b.mu.Unlock()
	if d <= 0 {
		b.pushLocked(t)
		return
	}
	var tm *time.Timer
	tm = time.AfterFunc(d, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.timers[tm]; !ok {
			return // Close took it
		}
		delete(b.timers, tm)
		b.pushLocked(t)
	})
	b.timers[tm] = t
}

// Close stops the ingress (503, ErrClosed), waits until every queued,
// in-flight and retrying delivery (and the replies they produce) is done or
// ctx ends, then stops the workers. Deliveries still pending when ctx ends
// are cancelled and recorded as dead letters ("broker closed"); Close then
// returns ctx's error. Close is idempotent.
func (b *Broker) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closing = true
	if b.pending == 0 {
		b.drainMu.Do(func() { close(b.drained) })
	}
	b.mu.Unlock()

	var err error
	select {
	case <-b.drained:
	case <-ctx.Done():
		err = fmt.Errorf("close broker: %w", ctx.Err())
	}

	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return err
	}
	b.stopped = true
	var left []*task
	for tm, t := range b.timers {
		tm.Stop()
		left = append(left, t)
	}
	clear(b.timers)
	left = append(left, b.queue[b.head:]...)
	b.queue, b.head = nil, 0
	b.cond.Broadcast()
	b.mu.Unlock()

	b.cancel() // aborts in-flight attempts; their tasks are abandoned
	for _, t := range left {
		b.abandon(t)
	}
	b.wg.Wait()
	return err
}

func (b *Broker) abandon(t *task) {
	b.deadLetter(t, "broker closed before delivery completed")
	b.finish()
}

// Stats are counters since New.
type Stats struct {
	Accepted     int64 // events accepted (ingress, Publish, replies)
	Delivered    int64 // deliveries answered 2xx (subscriber or dead letter sink)
	Retries      int64 // retry attempts scheduled
	DeadLettered int64 // deliveries dead-lettered to the log/ring
	Replies      int64 // reply events published back
	Pending      int64 // deliveries queued, in flight or waiting to retry
}

// Stats returns the broker's counters.
func (b *Broker) Stats() Stats {
	b.mu.Lock()
	p := b.pending
	b.mu.Unlock()
	return Stats{
		Accepted: b.accepted.Load(), Delivered: b.delivered.Load(), Retries: b.retries.Load(),
		DeadLettered: b.deadLettered.Load(), Replies: b.replies.Load(), Pending: int64(p),
	}
}

// Triggers returns the names of the Triggers the broker routes by.
func (b *Broker) Triggers() []string {
	out := make([]string, len(b.routes))
	for i, r := range b.routes {
		out[i] = r.name
	}
	return out
}
