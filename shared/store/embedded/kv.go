package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"log"

	"github.com/cockroachdb/pebble/v2"
)

// The driver's records live in one Pebble key space. A "bucket" is a key
// prefix: the bucket name, length-prefixed, so no bucket's keys are a prefix
// range of another's. Buckets cost nothing and always exist; the bucket
// layer keeps the shape the record code was written against (ordered
// key/value sets with cursors), so every index stays a set of keys that sort
// in its query's order, now on disk instead of in memory.

// kvTx is a read or read-write view of the database. Reads of a read-write
// view go through its indexed batch, so they see the view's own writes.
type kvTx struct {
	r     pebble.Reader
	w     *pebble.Batch // nil for a read-only view
	iters []*pebble.Iterator
	err   error // the first iterator error, reported when the view ends
}

// close closes the iterators the view opened and returns the first error
// any of them met.
func (tx *kvTx) close() error {
	for _, it := range tx.iters {
		if err := it.Close(); err != nil && tx.err == nil {
			tx.err = err
		}
	}
	tx.iters = nil
	return tx.err
}

var errReadOnly = errors.New("store/embedded: write in a read-only view")

// Bucket returns the bucket with the name; buckets always exist.
func (tx *kvTx) Bucket(name []byte) *kvBucket {
	return &kvBucket{tx: tx, prefix: appendLP(nil, string(name))}
}

// CreateBucketIfNotExists is Bucket for writers (the record code asks for a
// bucket this way before writing).
func (tx *kvTx) CreateBucketIfNotExists(name []byte) (*kvBucket, error) {
	if tx.w == nil {
		return nil, errReadOnly
	}
	return tx.Bucket(name), nil
}

// kvBucket is an ordered set of key/value pairs under one prefix.
type kvBucket struct {
	tx     *kvTx
	prefix []byte
}

func (b *kvBucket) key(k []byte) []byte {
	out := make([]byte, 0, len(b.prefix)+len(k))
	return append(append(out, b.prefix...), k...)
}

// Get returns a copy of k's value, or nil if absent; an existing key with an
// empty value returns a non-nil empty slice.
func (b *kvBucket) Get(k []byte) []byte {
	v, closer, err := b.tx.r.Get(b.key(k))
	if err != nil {
		if !errors.Is(err, pebble.ErrNotFound) && b.tx.err == nil {
			b.tx.err = fmt.Errorf("read: %w", err)
		}
		return nil
	}
	out := append(make([]byte, 0, len(v)), v...)
	_ = closer.Close()
	return out
}

// Put sets k to v.
func (b *kvBucket) Put(k, v []byte) error {
	if b.tx.w == nil {
		return errReadOnly
	}
	return b.tx.w.Set(b.key(k), v, nil)
}

// Delete removes k (absent keys are fine).
func (b *kvBucket) Delete(k []byte) error {
	if b.tx.w == nil {
		return errReadOnly
	}
	return b.tx.w.Delete(b.key(k), nil)
}

// ForEach calls fn for every pair in key order until fn fails.
func (b *kvBucket) ForEach(fn func(k, v []byte) error) error {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return b.tx.err
}

// Cursor returns a cursor over the bucket. It sees the view as it was when
// the cursor was made: callers that write while walking collect keys first.
func (b *kvBucket) Cursor() *kvCursor {
	it, err := b.tx.r.NewIter(&pebble.IterOptions{LowerBound: b.prefix, UpperBound: successor(b.prefix)})
	if err != nil {
		if b.tx.err == nil {
			b.tx.err = fmt.Errorf("iterate: %w", err)
		}
		return &kvCursor{b: b}
	}
	b.tx.iters = append(b.tx.iters, it)
	return &kvCursor{b: b, it: it}
}

// kvCursor walks a bucket; every method returns a copy of the key (without
// the bucket prefix) and value it lands on, or nils past either end.
type kvCursor struct {
	b  *kvBucket
	it *pebble.Iterator
}

func (c *kvCursor) at(ok bool) ([]byte, []byte) {
	if !ok {
		return nil, nil
	}
	k := bytes.Clone(c.it.Key()[len(c.b.prefix):])
	if k == nil {
		k = []byte{}
	}
	v, err := c.it.ValueAndErr()
	if err != nil {
		if c.b.tx.err == nil {
			c.b.tx.err = fmt.Errorf("read: %w", err)
		}
		return nil, nil
	}
	return k, append(make([]byte, 0, len(v)), v...)
}

func (c *kvCursor) First() ([]byte, []byte) {
	if c.it == nil {
		return nil, nil
	}
	return c.at(c.it.First())
}

func (c *kvCursor) Last() ([]byte, []byte) {
	if c.it == nil {
		return nil, nil
	}
	return c.at(c.it.Last())
}

// Seek lands on the first key >= k.
func (c *kvCursor) Seek(k []byte) ([]byte, []byte) {
	if c.it == nil {
		return nil, nil
	}
	return c.at(c.it.SeekGE(c.b.key(k)))
}

func (c *kvCursor) Next() ([]byte, []byte) {
	if c.it == nil {
		return nil, nil
	}
	return c.at(c.it.Next())
}

func (c *kvCursor) Prev() ([]byte, []byte) {
	if c.it == nil {
		return nil, nil
	}
	return c.at(c.it.Prev())
}

// pebbleLogger keeps Pebble's routine messages (flushes, compactions) out of
// the process's log and passes its errors on.
type pebbleLogger struct{}

func (pebbleLogger) Infof(string, ...any) {}

func (pebbleLogger) Errorf(format string, args ...any) {
	log.Printf("store/embedded: pebble: "+format, args...)
}

func (pebbleLogger) Fatalf(format string, args ...any) {
	log.Fatalf("store/embedded: pebble: "+format, args...)
}
