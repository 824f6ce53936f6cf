package controlplane

import "sync"

// published remembers, per run, which outbox entries this process has
// published but not yet confirmed, and how far it has confirmed. A
// confirmation must never cover an entry that was not published: when two
// transitions of one run publish concurrently (the first handler's publish
// is still in flight when the executor's answer arrives), the later one
// skips the earlier one's young entry, and confirming up to its own last
// entry would drop the earlier entry for good if that publish then fails.
// So a confirmation goes only up to the first entry not yet published.
//
// The record is per process: an entry published by another control-plane
// instance is not known here, so this process confirms less and the sweeper
// or a later transition sends it once more (same id, counted once), which is
// always safe. The record is bounded; forgetting it costs the same.
type published struct {
	mu   sync.Mutex
	runs map[string]*runPubs
}

type runPubs struct {
	acked int64              // confirmed by this process up to here
	sent  map[int64]struct{} // published, above acked
}

// maxTrackedRuns bounds the record (a few hundred bytes per run).
const maxTrackedRuns = 8192

func newPublished() *published { return &published{runs: map[string]*runPubs{}} }

// confirmable records sent as published and returns the highest seq such
// that every entry of pending (the run's unconfirmed entries when the
// transaction read it, ascending) up to it is published or at most floor
// (known confirmed), and whether it stopped before an entry this process
// does not know as published.
func (p *published) confirmable(run string, floor int64, pending, sent []int64) (int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.runs[run]
	if r == nil {
		if len(p.runs) >= maxTrackedRuns {
			p.prune()
		}
		r = &runPubs{sent: map[int64]struct{}{}}
		p.runs[run] = r
	}
	r.acked = max(r.acked, floor)
	for _, s := range sent {
		if s > r.acked {
			r.sent[s] = struct{}{}
		}
	}
	var upTo int64
	blocked := false
	for _, s := range pending {
		if _, ok := r.sent[s]; !ok && s > r.acked {
			blocked = true
			break
		}
		upTo = s
	}
	if upTo > r.acked {
		r.acked = upTo
		for s := range r.sent {
			if s <= upTo {
				delete(r.sent, s)
			}
		}
	}
	return upTo, blocked
}

// prune forgets runs with nothing in flight (their confirmations are
// written), or everything if that is not enough.
func (p *published) prune() {
	for id, r := range p.runs {
		if len(r.sent) == 0 {
			delete(p.runs, id)
		}
	}
	if len(p.runs) >= maxTrackedRuns {
		clear(p.runs)
	}
}
