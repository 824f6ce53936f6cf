package broker

import (
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"
)

// DeadLetter is an event whose delivery failed for good and that no dead
// letter sink took.
type DeadLetter struct {
	Time       time.Time
	Trigger    string
	Subscriber string
	Event      event.Event
	Attempts   int    // attempts made in the last phase
	StatusCode int    // subscriber's last HTTP status (500 for a network error), 0 if none
	Error      string // subscriber's last error, if any
	Reason     string
}

// DeadLetters returns the most recent dead letters, oldest first (at most
// Options.DeadLetterCapacity).
func (b *Broker) DeadLetters() []DeadLetter { return b.dead.list() }

func (b *Broker) deadLetter(t *task, reason string) {
	d := DeadLetter{Time: time.Now(), Event: t.event, Attempts: t.attempts, StatusCode: t.code, Reason: reason}
	if t.route != nil {
		d.Trigger, d.Subscriber = t.route.name, t.route.url
	}
	if t.err != nil {
		d.Error = t.err.Error()
	}
	b.deadLettered.Add(1)
	b.dead.add(d)
	b.log.Error("dead letter",
		zap.String("trigger", d.Trigger),
		zap.String("subscriber", d.Subscriber),
		zap.String("event.id", d.Event.ID()),
		zap.String("event.type", d.Event.Type()),
		zap.String("event.source", d.Event.Source()),
		zap.Int("attempts", d.Attempts),
		zap.Int("status", d.StatusCode),
		zap.String("error", d.Error),
		zap.String("reason", reason),
	)
}

// ring keeps the last n dead letters.
type ring struct {
	mu    sync.Mutex
	items []DeadLetter
	next  int
	full  bool
}

func newRing(n int) *ring { return &ring{items: make([]DeadLetter, n)} }

func (r *ring) add(d DeadLetter) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items[r.next] = d
	r.next = (r.next + 1) % len(r.items)
	if r.next == 0 {
		r.full = true
	}
}

func (r *ring) list() []DeadLetter {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]DeadLetter(nil), r.items[:r.next]...)
	}
	out := make([]DeadLetter, 0, len(r.items))
	out = append(out, r.items[r.next:]...)
	return append(out, r.items[:r.next]...)
}
