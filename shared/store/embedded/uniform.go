package embedded

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
)

// Integrations and their logs (store.IntegrationStore). The buckets are
// created by the first write that needs them, so stores opened by older code
// keep working; reads treat a missing bucket as empty.
var (
	bIntegrations   = []byte("integrations")    // lp(name) lp(namespace) -> integration
	bIntegrationsID = []byte("integrations.id") // id -> lp(name) lp(namespace)
	bLogs           = []byte("logs")            // ikey(time) id -> lp(integrationID) body
	bLogsIntegr     = []byte("logs.integr")     // lp(integrationID) ikey(time) id
)

var _ store.IntegrationStore = (*Driver)(nil)

// ikey is tkey with every bit inverted, so ascending keys are newest first and
// equal times sort by the id that follows, ascending.
func ikey(t time.Time) []byte {
	k := tkey(t)
	for i := range k {
		k[i] = ^k[i]
	}
	return k
}

// bucket returns a bucket for writing, creating it on first use.
func (t *txn) bucket(name []byte) (*kvBucket, error) {
	b, err := t.btx.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", name, err)
	}
	return b, nil
}

func integrationKey(name, namespace string) []byte {
	return appendLP(appendLP(nil, name), namespace)
}

func appendStrs(b []byte, list []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(list)))
	for _, s := range list {
		b = appendLP(b, s)
	}
	return b
}

func (d *decoder) strs() []string {
	if d.err != nil {
		return nil
	}
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > uint64(len(d.b)) {
		d.err = errCorrupt
		return nil
	}
	d.b = d.b[k:]
	var out []string
	for i := uint64(0); i < n && d.err == nil; i++ {
		out = append(out, d.str())
	}
	return out
}

func encodeIntegration(in *store.Integration) []byte {
	b := make([]byte, 0, 128+len(in.Body))
	b = append(b, formatV1)
	for _, s := range []string{in.ID, in.Name, in.Namespace, in.Hostname} {
		b = appendLP(b, s)
	}
	b = appendTKey(b, in.LastSeen)
	for _, list := range [][]string{in.Projects, in.Stages, in.Services} {
		b = appendStrs(b, list)
	}
	return append(b, in.Body...)
}

func decodeIntegration(v []byte) (*store.Integration, error) {
	d := newDecoder(v)
	in := &store.Integration{}
	in.ID, in.Name, in.Namespace, in.Hostname = d.str(), d.str(), d.str(), d.str()
	in.LastSeen = d.time()
	in.Projects, in.Stages, in.Services = d.strs(), d.strs(), d.strs()
	in.Body = d.rest()
	if d.err != nil {
		return nil, d.err
	}
	return in, nil
}

// normIntegration is what a stored integration reads back as.
func normIntegration(in *store.Integration) *store.Integration {
	c := *in
	c.LastSeen = in.LastSeen.Truncate(time.Microsecond).UTC()
	c.Projects, c.Stages, c.Services = slices.Clone(in.Projects), slices.Clone(in.Stages), slices.Clone(in.Services)
	c.Body = slices.Clone(in.Body)
	return &c
}

func (t *txn) integrationByKey(key []byte) (*store.Integration, error) {
	b := t.b(bIntegrations)
	if b == nil {
		return nil, nil
	}
	v := b.Get(key)
	if v == nil {
		return nil, nil
	}
	t.s.reads.Add(1)
	return decodeIntegration(v)
}

// integrationByID returns the integration and its key, or ErrNotFound.
func (t *txn) integrationByID(id string) (*store.Integration, []byte, error) {
	if ids := t.b(bIntegrationsID); ids != nil {
		if key := ids.Get([]byte(id)); key != nil {
			key = bytes.Clone(key)
			in, err := t.integrationByKey(key)
			if err != nil {
				return nil, nil, fmt.Errorf("integration %s: %w", id, err)
			}
			if in != nil {
				return in, key, nil
			}
		}
	}
	return nil, nil, fmt.Errorf("integration %s: %w", id, store.ErrNotFound)
}

// putIntegration writes in under key, moving the id index from old's id.
// The portable layer has checked in (an ID, name and namespace kept, a
// Body within MaxBody).
func (t *txn) putIntegration(key []byte, old, in *store.Integration) error {
	ids, err := t.bucket(bIntegrationsID)
	if err != nil {
		return err
	}
	if holder := ids.Get([]byte(in.ID)); holder != nil && !bytes.Equal(holder, key) {
		return fmt.Errorf("integration id %s: %w", in.ID, store.ErrAlreadyExists)
	}
	if old != nil && old.ID != in.ID {
		if err := ids.Delete([]byte(old.ID)); err != nil {
			return err
		}
	}
	if err := ids.Put([]byte(in.ID), key); err != nil {
		return err
	}
	b, err := t.bucket(bIntegrations)
	if err != nil {
		return err
	}
	if err := b.Put(key, encodeIntegration(normIntegration(in))); err != nil {
		return err
	}
	t.s.writes.Add(1)
	return nil
}

func (t *txn) deleteIntegration(key []byte, in *store.Integration) error {
	if err := t.b(bIntegrationsID).Delete([]byte(in.ID)); err != nil {
		return err
	}
	if err := t.b(bIntegrations).Delete(key); err != nil {
		return err
	}
	t.s.writes.Add(1)
	return nil
}

// RegisterIntegration implements store.IntegrationStore.
func (s *Driver) RegisterIntegration(ctx context.Context, name, namespace string, fn func(cur *store.Integration) (*store.Integration, error)) (*store.Integration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *store.Integration
	key := integrationKey(name, namespace)
	err := s.update(func(t *txn) error {
		cur, err := t.integrationByKey(key)
		if err != nil {
			return fmt.Errorf("register integration %s/%s: %w", name, namespace, err)
		}
		var arg *store.Integration
		if cur != nil {
			arg = normIntegration(cur)
		}
		next, err := fn(arg)
		if err != nil {
			return err
		}
		if next == nil {
			out = cur
			return nil
		}
		if err := t.putIntegration(key, cur, next); err != nil {
			return fmt.Errorf("register integration %s/%s: %w", name, namespace, err)
		}
		out = normIntegration(next)
		return nil
	})
	return out, err
}

// UpdateIntegration implements store.IntegrationStore.
func (s *Driver) UpdateIntegration(ctx context.Context, id string, fn func(in *store.Integration) error) (*store.Integration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *store.Integration
	err := s.update(func(t *txn) error {
		cur, key, err := t.integrationByID(id)
		if err != nil {
			return err
		}
		next := normIntegration(cur)
		if err := fn(next); err != nil {
			return err
		}
		if err := t.putIntegration(key, cur, next); err != nil {
			return fmt.Errorf("update integration %s: %w", id, err)
		}
		out = normIntegration(next)
		return nil
	})
	return out, err
}

// GetIntegration implements store.IntegrationStore.
func (s *Driver) GetIntegration(ctx context.Context, id string) (in *store.Integration, err error) {
	err = s.view(func(t *txn) error {
		in, _, err = t.integrationByID(id)
		return err
	})
	return in, err
}

// ListIntegrations implements store.IntegrationStore. Integrations are few
// (one per deployed integration), so it reads them all and filters.
func (s *Driver) ListIntegrations(ctx context.Context, q store.IntegrationQuery) ([]*store.Integration, error) {
	out := []*store.Integration{}
	err := s.view(func(t *txn) error {
		if q.ID != "" {
			in, _, err := t.integrationByID(q.ID)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			if q.Matches(in) {
				out = append(out, in)
			}
			return nil
		}
		b := t.b(bIntegrations)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			t.s.reads.Add(1)
			in, err := decodeIntegration(v)
			if err != nil {
				return fmt.Errorf("integration %x: %w", k, err)
			}
			if q.Matches(in) {
				out = append(out, in)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list integrations: %w", err)
	}
	slices.SortFunc(out, func(a, b *store.Integration) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Namespace, b.Namespace))
	})
	return out, nil
}

// DeleteIntegration implements store.IntegrationStore.
func (s *Driver) DeleteIntegration(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(func(t *txn) error {
		in, key, err := t.integrationByID(id)
		if err != nil {
			return fmt.Errorf("delete %w", err)
		}
		if err := t.deleteIntegration(key, in); err != nil {
			return fmt.Errorf("delete integration %s: %w", id, err)
		}
		return nil
	})
}

// PurgeIntegrations implements store.IntegrationStore; the check and the
// delete share one transaction, so a concurrent ping cannot be lost.
func (s *Driver) PurgeIntegrations(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int
	err := s.update(func(t *txn) error {
		n = 0
		b := t.b(bIntegrations)
		if b == nil {
			return nil
		}
		type victim struct {
			key []byte
			in  *store.Integration
		}
		var victims []victim
		err := b.ForEach(func(k, v []byte) error {
			if limit > 0 && len(victims) >= limit {
				return nil
			}
			in, err := decodeIntegration(v)
			if err != nil {
				return fmt.Errorf("integration %x: %w", k, err)
			}
			if in.LastSeen.Before(before) {
				victims = append(victims, victim{bytes.Clone(k), in})
			}
			return nil
		})
		if err != nil {
			return err
		}
		// Deleting under ForEach is not allowed, hence the two passes.
		for _, v := range victims {
			if err := t.deleteIntegration(v.key, v.in); err != nil {
				return err
			}
		}
		n = len(victims)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("purge integrations: %w", err)
	}
	return n, nil
}

func encodeLog(l *store.LogEntry) []byte {
	b := make([]byte, 0, 1+len(l.IntegrationID)+len(l.Body)+2)
	b = append(b, formatV1)
	b = appendLP(b, l.IntegrationID)
	return append(b, l.Body...)
}

// AppendLogs implements store.IntegrationStore.
func (s *Driver) AppendLogs(ctx context.Context, logs []*store.LogEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(func(t *txn) error {
		main, err := t.bucket(bLogs)
		if err != nil {
			return err
		}
		idx, err := t.bucket(bLogsIntegr)
		if err != nil {
			return err
		}
		for _, l := range logs {
			k := append(ikey(l.Time.Truncate(time.Microsecond)), l.ID...)
			if err := main.Put(k, encodeLog(l)); err != nil {
				return fmt.Errorf("append log %s: %w", l.ID, err)
			}
			if err := idx.Put(append(appendLP(nil, l.IntegrationID), k...), nil); err != nil {
				return fmt.Errorf("append log %s: index: %w", l.ID, err)
			}
			t.s.writes.Add(1)
		}
		return nil
	})
}

// decodeLog decodes the value stored under key (ikey(time) id).
func decodeLog(key, v []byte) (*store.LogEntry, error) {
	if len(key) < tkeyLen {
		return nil, errCorrupt
	}
	tk := bytes.Clone(key[:tkeyLen])
	for i := range tk {
		tk[i] = ^tk[i]
	}
	d := newDecoder(v)
	l := &store.LogEntry{ID: string(key[tkeyLen:]), Time: parseTKey(tk), IntegrationID: d.str()}
	l.Body = d.rest()
	if d.err != nil {
		return nil, d.err
	}
	return l, nil
}

// ListLogs implements store.IntegrationStore. Both buckets order entries
// newest first; the count walks keys only.
func (s *Driver) ListLogs(ctx context.Context, q store.LogQuery, offset, limit int) ([]*store.LogEntry, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	logs := []*store.LogEntry{}
	total := 0
	err := s.view(func(t *txn) error {
		main := t.b(bLogs)
		if main == nil {
			return nil
		}
		b, prefix := main, []byte(nil)
		if q.IntegrationID != "" {
			if b = t.b(bLogsIntegr); b == nil {
				return nil
			}
			prefix = appendLP(nil, q.IntegrationID)
		}
		start := prefix
		if !q.Until.IsZero() {
			start = append(bytes.Clone(prefix), ikey(q.Until.Truncate(time.Microsecond))...)
		}
		var last []byte // keys up to ikey(From) followed by any id are in range
		if !q.From.IsZero() {
			last = ikey(q.From.Truncate(time.Microsecond))
		}
		c := b.Cursor()
		for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			rest := k[len(prefix):]
			if len(rest) < tkeyLen {
				return fmt.Errorf("log key %x: %w", k, errCorrupt)
			}
			if last != nil && bytes.Compare(rest[:tkeyLen], last) > 0 {
				break
			}
			total++
			if total <= offset || (limit > 0 && len(logs) >= limit) {
				continue
			}
			v := main.Get(rest)
			if v == nil {
				return fmt.Errorf("index entry for missing log %q", rest[tkeyLen:])
			}
			t.s.reads.Add(1)
			l, err := decodeLog(rest, v)
			if err != nil {
				return fmt.Errorf("log %q: %w", rest[tkeyLen:], err)
			}
			logs = append(logs, l)
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list logs: %w", err)
	}
	return logs, total, nil
}

// PurgeLogs implements store.IntegrationStore. Entries older than before have
// keys after every key of before's time, at the end of the bucket.
func (s *Driver) PurgeLogs(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int
	err := s.update(func(t *txn) error {
		n = 0
		main := t.b(bLogs)
		if main == nil {
			return nil
		}
		var keys [][]byte
		c := main.Cursor()
		for k, _ := c.Seek(successor(ikey(before.Truncate(time.Microsecond)))); k != nil; k, _ = c.Next() {
			if limit > 0 && len(keys) >= limit {
				break
			}
			keys = append(keys, bytes.Clone(k))
		}
		idx := t.b(bLogsIntegr)
		for _, k := range keys {
			l, err := decodeLog(k, main.Get(k))
			if err != nil {
				return fmt.Errorf("log %x: %w", k, err)
			}
			if err := idx.Delete(append(appendLP(nil, l.IntegrationID), k...)); err != nil {
				return err
			}
			if err := main.Delete(k); err != nil {
				return err
			}
			t.s.writes.Add(1)
		}
		n = len(keys)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("purge logs: %w", err)
	}
	return n, nil
}
