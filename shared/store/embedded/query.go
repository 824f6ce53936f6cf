package embedded

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
)

// Page tokens are the part of the last returned index key after the query's
// prefix (tkey+id for time-ordered listings, the name or URI otherwise). They
// do not depend on which index served the query, and a listing resumes
// strictly after them, so records written between pages never repeat one.

func encodeToken(suffix []byte) string { return base64.RawURLEncoding.EncodeToString(suffix) }

func decodeToken(tok string, minLen int) ([]byte, error) {
	if tok == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < minLen || len(b) == 0 {
		return nil, fmt.Errorf("%w %q", store.ErrBadPageToken, tok)
	}
	return b, nil
}

var errStop = errors.New("stop")

// successor returns the smallest key greater than every key with the prefix,
// or nil when there is none (the prefix is empty or all 0xff).
func successor(prefix []byte) []byte {
	s := bytes.Clone(prefix)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] != 0xff {
			s[i]++
			return s[:i+1]
		}
	}
	return nil
}

// scanDesc visits the keys with prefix that are < below (all of them when
// below is nil), largest first, until fn returns errStop.
func scanDesc(b *kvBucket, prefix, below []byte, fn func(suffix []byte) error) error {
	if below == nil {
		below = successor(prefix)
	}
	c := b.Cursor()
	var k []byte
	if below == nil {
		k, _ = c.Last()
	} else if k, _ = c.Seek(below); k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		if err := fn(k[len(prefix):]); err != nil {
			if err == errStop {
				return nil
			}
			return err
		}
	}
	return nil
}

// scanAsc visits the keys with prefix that are > after (all of them when after
// is nil), smallest first, until fn returns errStop.
func scanAsc(b *kvBucket, prefix, after []byte, fn func(suffix, v []byte) error) error {
	c := b.Cursor()
	start := prefix
	if after != nil {
		start = after
	}
	k, v := c.Seek(start)
	if after != nil && bytes.Equal(k, after) {
		k, v = c.Next()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if err := fn(k[len(prefix):], v); err != nil {
			if err == errStop {
				return nil
			}
			return err
		}
	}
	return nil
}

// pager collects up to size matches; when one more match shows up it knows
// there is a next page and stops the scan.
type pager struct {
	size int
	last []byte // suffix of the last collected match
	more bool
}

// take reports whether to collect a match; errStop means the page is full.
func (p *pager) take(suffix []byte, n int) error {
	if p.size > 0 && n == p.size {
		p.more = true
		// The token outlives the transaction and leaves the package; keep
		// it apart from the stored key.
		p.last = bytes.Clone(p.last)
		return errStop
	}
	p.last = suffix
	return nil
}

func (p *pager) next() string {
	if !p.more {
		return ""
	}
	return encodeToken(p.last)
}

// belowToken is the exclusive upper bound of a descending page: the token's
// key, or bound if that is lower.
func belowToken(prefix, tok, bound []byte) []byte {
	var below []byte
	if tok != nil {
		below = append(bytes.Clone(prefix), tok...)
	}
	if bound != nil && (below == nil || bytes.Compare(bound, below) < 0) {
		below = bound
	}
	return below
}

func runMatches(r *store.Run, q store.RunQuery) bool {
	return (q.Project == "" || r.Project == q.Project) && (q.Stage == "" || r.Stage == q.Stage) &&
		(q.Service == "" || r.Service == q.Service) && (q.Sequence == "" || r.Sequence == q.Sequence) &&
		(q.State == "" || r.State == q.State) && (q.KeptnContext == "" || r.KeptnContext == q.KeptnContext)
}

// listRuns pages through a time-ordered run index newest first, keeping runs
// that match.
func (t *txn) listRuns(bucket, prefix, bound []byte, p store.Page, match func(*store.Run) bool) ([]*store.Run, string, error) {
	tok, err := decodeToken(p.Token, tkeyLen+1)
	if err != nil {
		return nil, "", err
	}
	runs := []*store.Run{}
	pg := pager{size: p.Size}
	runsB := t.b(bRuns)
	err = scanDesc(t.b(bucket), prefix, belowToken(prefix, tok, bound), func(suffix []byte) error {
		id := string(suffix[tkeyLen:])
		v := runsB.Get(suffix[tkeyLen:])
		if v == nil {
			return fmt.Errorf("index entry for missing run %s", id)
		}
		t.s.reads.Add(1)
		r, d := decodeRunHeader(id, v)
		if d.err != nil {
			return fmt.Errorf("run %s: %w", id, d.err)
		}
		if !match(r) {
			return nil
		}
		if err := pg.take(suffix, len(runs)); err != nil {
			return err
		}
		r.Body = d.rest()
		runs = append(runs, r)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return runs, pg.next(), nil
}

// ListRuns implements store.Driver. It walks the narrowest index the filters
// allow (project+context, project, or all runs by time) and filters the rest.
func (s *Driver) ListRuns(ctx context.Context, q store.RunQuery, p store.Page) (runs []*store.Run, next string, err error) {
	err = s.view(func(t *txn) error {
		bucket, prefix := bRunsTime, []byte(nil)
		switch {
		case q.Project != "" && q.KeptnContext != "":
			bucket, prefix = bRunsCtx, appendLP(appendLP(nil, q.Project), q.KeptnContext)
		case q.Project != "":
			bucket, prefix = bRunsProject, appendLP(nil, q.Project)
		}
		runs, next, err = t.listRuns(bucket, prefix, nil, p, func(r *store.Run) bool { return runMatches(r, q) })
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list runs: %w", err)
	}
	return runs, next, nil
}

// DueRuns implements store.Driver.
func (s *Driver) DueRuns(ctx context.Context, now time.Time, limit int) ([]string, error) {
	ids := []string{}
	nowKey := tkey(now)
	err := s.view(func(t *txn) error {
		return scanAsc(t.b(bRunsDue), nil, nil, func(k, _ []byte) error {
			if bytes.Compare(k[:tkeyLen], nowKey) > 0 || (limit > 0 && len(ids) == limit) {
				return errStop
			}
			ids = append(ids, string(k[tkeyLen:]))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("due runs: %w", err)
	}
	return ids, nil
}

// ListOpen implements store.Driver.
func (s *Driver) ListOpen(ctx context.Context, q store.OpenQuery, p store.Page) (runs []*store.Run, next string, err error) {
	if q.Type == "" {
		return nil, "", errors.New("list open: Type is required")
	}
	err = s.view(func(t *txn) error {
		prefix := appendLP(nil, q.Type)
		var bound []byte
		if !q.Until.IsZero() {
			// Everything at or before Until sorts below the key of the next
			// representable instant.
			bound = appendTKey(bytes.Clone(prefix), q.Until.Add(time.Nanosecond))
		}
		runs, next, err = t.listRuns(bRunsOpen, prefix, bound, p, func(r *store.Run) bool {
			return (q.Project == "" || r.Project == q.Project) && (q.Stage == "" || r.Stage == q.Stage) &&
				(q.Service == "" || r.Service == q.Service) &&
				(q.TaskTriggeredID == "" || r.TaskTriggeredID == q.TaskTriggeredID)
		})
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list open %s: %w", q.Type, err)
	}
	return runs, next, nil
}

// ListProjects implements store.Driver.
func (s *Driver) ListProjects(ctx context.Context, p store.Page) (projects []*store.Project, next string, err error) {
	tok, err := decodeToken(p.Token, 1)
	if err != nil {
		return nil, "", fmt.Errorf("list projects: %w", err)
	}
	projects = []*store.Project{}
	pg := pager{size: p.Size}
	err = s.view(func(t *txn) error {
		return scanAsc(t.b(bProjects), nil, tok, func(k, v []byte) error {
			if err := pg.take(k, len(projects)); err != nil {
				return err
			}
			t.s.reads.Add(1)
			pr, err := decodeProject(string(k), v)
			if err != nil {
				return err
			}
			projects = append(projects, pr)
			return nil
		})
	})
	if err != nil {
		return nil, "", fmt.Errorf("list projects: %w", err)
	}
	return projects, pg.next(), nil
}

func eventMatches(e *store.Event, q store.EventQuery) bool {
	return (q.Project == "" || e.Project == q.Project) && (q.KeptnContext == "" || e.KeptnContext == q.KeptnContext) &&
		(q.Type == "" || e.Type == q.Type) && (q.Stage == "" || e.Stage == q.Stage) &&
		(q.Service == "" || e.Service == q.Service) && (q.Source == "" || e.Source == q.Source) &&
		(q.ID == "" || e.ID == q.ID) && (q.TriggeredID == "" || e.TriggeredID == q.TriggeredID) &&
		(len(q.Services) == 0 || slices.Contains(q.Services, e.Service)) &&
		(q.From.IsZero() || e.Time.After(q.From)) && (q.Before.IsZero() || e.Time.Before(q.Before))
}

// ListEvents implements store.Driver. An ID is a direct lookup; otherwise the
// narrowest index (context, triggered id, project, or time) is walked
// newest first within the From/Before bounds and the rest is filtered.
func (s *Driver) ListEvents(ctx context.Context, q store.EventQuery, p store.Page) (events []*store.Event, next string, err error) {
	tok, err := decodeToken(p.Token, tkeyLen+1)
	if err != nil {
		return nil, "", fmt.Errorf("list events: %w", err)
	}
	events = []*store.Event{}
	pg := pager{size: p.Size}
	err = s.view(func(t *txn) error {
		eventsB := t.b(bEvents)
		visit := func(suffix []byte) error {
			id := suffix[tkeyLen:]
			v := eventsB.Get(id)
			if v == nil {
				return fmt.Errorf("index entry for missing event %s", id)
			}
			t.s.reads.Add(1)
			e, d := decodeEventHeader(string(id), v)
			if d.err != nil {
				return fmt.Errorf("event %s: %w", id, d.err)
			}
			if !eventMatches(e, q) {
				return nil
			}
			if err := pg.take(suffix, len(events)); err != nil {
				return err
			}
			e.Body = d.rest()
			events = append(events, e)
			return nil
		}
		if q.ID != "" {
			v := eventsB.Get([]byte(q.ID))
			if v == nil {
				return nil
			}
			e, d := decodeEventHeader(q.ID, v)
			if d.err != nil {
				return fmt.Errorf("event %s: %w", q.ID, d.err)
			}
			suffix := append(tkey(e.Time), q.ID...)
			if tok != nil && bytes.Compare(suffix, tok) >= 0 {
				return nil
			}
			return visit(suffix)
		}
		bucket, prefix := bEventsTime, []byte(nil)
		switch {
		case q.KeptnContext != "":
			bucket, prefix = bEventsCtx, appendLP(nil, q.KeptnContext)
		case q.TriggeredID != "":
			bucket, prefix = bEventsTrig, appendLP(nil, q.TriggeredID)
		case q.Project != "":
			bucket, prefix = bEventsProject, appendLP(nil, q.Project)
		}
		var bound []byte
		if !q.Before.IsZero() {
			bound = appendTKey(bytes.Clone(prefix), q.Before)
		}
		var from []byte
		if !q.From.IsZero() {
			from = tkey(q.From)
		}
		return scanDesc(t.b(bucket), prefix, belowToken(prefix, tok, bound), func(suffix []byte) error {
			if from != nil && bytes.Compare(suffix[:tkeyLen], from) <= 0 {
				return errStop
			}
			return visit(suffix)
		})
	})
	if err != nil {
		return nil, "", fmt.Errorf("list events: %w", err)
	}
	return events, pg.next(), nil
}

// ListResources implements store.Driver.
func (s *Driver) ListResources(ctx context.Context, project, stage, service string, p store.Page) (res []*store.Resource, next string, err error) {
	tok, err := decodeToken(p.Token, 1)
	if err != nil {
		return nil, "", fmt.Errorf("list resources: %w", err)
	}
	prefix := resourceLevel(project, stage, service)
	var after []byte
	if tok != nil {
		after = append(bytes.Clone(prefix), tok...)
	}
	res = []*store.Resource{}
	pg := pager{size: p.Size}
	err = s.view(func(t *txn) error {
		return scanAsc(t.b(bResources), prefix, after, func(uri, v []byte) error {
			if err := pg.take(uri, len(res)); err != nil {
				return err
			}
			t.s.reads.Add(1)
			r, err := decodeResource(project, stage, service, string(uri), v)
			if err != nil {
				return err
			}
			res = append(res, r)
			return nil
		})
	})
	if err != nil {
		return nil, "", fmt.Errorf("list resources: %w", err)
	}
	return res, pg.next(), nil
}
