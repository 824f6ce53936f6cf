package kv

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// check verifies t's shape (sorted, sizes within bounds, leaves at one
// depth, len right) and that it holds exactly want's keys and values.
func check(t *testing.T, tr *tree, want map[string]string) {
	t.Helper()
	leafDepth := -1
	count := 0
	var prev []byte
	var walk func(n *node, depth int, root bool)
	walk = func(n *node, depth int, root bool) {
		if n.n > maxItems || (!root && n.n < minItems) || (root && n.n == 0) {
			t.Fatalf("node with %d items (root %v)", n.n, root)
		}
		for i := n.n; i < maxItems; i++ {
			if n.items[i] != nil {
				t.Fatalf("stale item at %d of %d", i, n.n)
			}
		}
		if n.kids == nil {
			if leafDepth == -1 {
				leafDepth = depth
			} else if leafDepth != depth {
				t.Fatalf("leaves at depths %d and %d", leafDepth, depth)
			}
		} else {
			for i := n.n + 1; i <= maxItems; i++ {
				if n.kids[i] != nil {
					t.Fatalf("stale child at %d of %d", i, n.n)
				}
			}
		}
		for i := 0; i <= n.n; i++ {
			if n.kids != nil {
				walk(n.kids[i], depth+1, false)
			}
			if i == n.n {
				break
			}
			it := n.items[i]
			if prev != nil && bytes.Compare(prev, it.key()) >= 0 {
				t.Fatalf("keys out of order: %q then %q", prev, it.key())
			}
			prev = it.key()
			count++
			if w, ok := want[string(it.key())]; !ok || w != string(it.value()) {
				t.Fatalf("key %q = %q, want %q (present %v)", it.key(), it.value(), w, ok)
			}
		}
	}
	if tr.root != nil {
		walk(tr.root, 0, true)
	}
	if count != len(want) || tr.len != len(want) {
		t.Fatalf("%d keys walked, len %d, want %d", count, tr.len, len(want))
	}
}

func clone(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// TestTreeAgainstModel runs random puts and deletes in generations, each on
// a clone of the last tree, and checks that every earlier version is left
// exactly as it was (copy on write) and that iteration in both directions,
// seeks and lookups agree with the model.
func TestTreeAgainstModel(t *testing.T) {
	for _, keys := range []int{10, 300, 5000} {
		t.Run(fmt.Sprint(keys), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(keys), 7))
			var versions []tree
			var models []map[string]string
			cur, m := tree{}, map[string]string{}
			for gen := range 60 {
				g := testGens.next()
				ops := 1 + r.IntN(keys/2+1)
				if gen < 5 {
					ops = keys // fill up first
				}
				for range ops {
					k := fmt.Sprintf("%06d", r.IntN(keys))
					if r.IntN(5) < 2 {
						if _, ok := m[k]; cur.delete([]byte(k), g) != ok {
							t.Fatalf("delete %s: reported %v", k, !ok)
						}
						delete(m, k)
						continue
					}
					v := fmt.Sprint(gen, r.IntN(100))
					cur.put(newEntry([]byte(k), []byte(v)), g)
					m[k] = v
				}
				check(t, &cur, m)
				versions = append(versions, cur)
				models = append(models, clone(m))
				// Empty the tree once, to cover the root collapsing to nothing.
				if gen == 40 {
					g := testGens.next()
					for k := range m {
						cur.delete([]byte(k), g)
					}
					m = map[string]string{}
					check(t, &cur, m)
				}
			}
			for i := range versions {
				check(t, &versions[i], models[i])
				checkIter(t, &versions[i], models[i], r)
			}
		})
	}
}

func checkIter(t *testing.T, tr *tree, m map[string]string, r *rand.Rand) {
	t.Helper()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var it iter
	var got []string
	for it.first(tr); it.item() != nil; it.next() {
		got = append(got, string(it.item().key()))
	}
	if !slices.Equal(got, keys) && len(keys)+len(got) > 0 {
		t.Fatalf("forward %v, want %v", got, keys)
	}
	got = got[:0]
	for it.last(tr); it.item() != nil; it.prev() {
		got = append(got, string(it.item().key()))
	}
	slices.Reverse(got)
	if !slices.Equal(got, keys) && len(keys)+len(got) > 0 {
		t.Fatalf("backward %v, want %v", got, keys)
	}
	for range 50 {
		k := fmt.Sprintf("%06d", r.IntN(len(keys)+10))
		if r.IntN(2) == 0 {
			k += "x" // between keys
		}
		i, _ := slices.BinarySearch(keys, k)
		it.seek(tr, []byte(k))
		// From the seek, step forward three and back five.
		for step, d := range []int{0, 1, 1, 1, -1, -1, -1, -1, -1} {
			switch d {
			case 1:
				it.next()
			case -1:
				it.prev()
			}
			i += d
			want := ""
			if i >= 0 && i < len(keys) {
				want = keys[i]
			}
			g := ""
			if it.item() != nil {
				g = string(it.item().key())
			}
			if g != want {
				t.Fatalf("seek %s step %d: at %q, want %q", k, step, g, want)
			}
			if g == "" {
				break // past an end: the iterator stays there
			}
		}
		if _, ok := tr.get([]byte(k)); ok != (m[k] != "") {
			t.Fatalf("get %s: %v", k, ok)
		}
	}
}

// Sequential inserts and deletes from either end, the index buckets' shape.
func TestTreeSequential(t *testing.T) {
	var tr tree
	m := map[string]string{}
	g := testGens.next()
	for i := range 3000 {
		k := fmt.Sprintf("%08d", i)
		tr.put(newEntry([]byte(k), nil), g)
		m[k] = ""
		if i%3 == 0 {
			g = testGens.next()
		}
	}
	check(t, &tr, m)
	for i := range 3000 {
		k := fmt.Sprintf("%08d", i)
		if i%2 == 1 {
			k = fmt.Sprintf("%08d", 2999-i/2)
		} else {
			k = fmt.Sprintf("%08d", i/2)
		}
		if !tr.delete([]byte(k), g) {
			t.Fatalf("delete %s: absent", k)
		}
		delete(m, k)
		if i%100 == 0 {
			check(t, &tr, m)
			g = testGens.next()
		}
	}
	check(t, &tr, m)
	if tr.root != nil {
		t.Fatal("root left after deleting everything")
	}
}

// An absent key is not deleted and nothing is copied.
func TestTreeDeleteAbsentCopiesNothing(t *testing.T) {
	var tr tree
	g := testGens.next()
	for i := range 1000 {
		tr.put(newEntry(fmt.Appendf(nil, "%04d", i*2), nil), g)
	}
	before := tr.root
	if tr.delete([]byte("0001"), testGens.next()) || tr.root != before {
		t.Fatal("deleting an absent key changed the tree")
	}
}

// An entry's key and value are exact (appending to one cannot overwrite the
// other) and an empty value is non-nil, for every small size (odd sizes
// come from the tiny allocator).
func TestEntry(t *testing.T) {
	for kl := range 20 {
		for vl := range 20 {
			k := bytes.Repeat([]byte{'k'}, kl)
			v := bytes.Repeat([]byte{'v'}, vl)
			e := newEntry(k, v)
			gk, gv := e.key(), e.value()
			if !bytes.Equal(gk, k) || !bytes.Equal(gv, v) || gv == nil || gk == nil {
				t.Fatalf("%d/%d: %q %q", kl, vl, gk, gv)
			}
			if cap(gk) != kl || cap(gv) != vl {
				t.Fatalf("%d/%d: caps %d %d", kl, vl, cap(gk), cap(gv))
			}
			_ = append(gk, 'x')
			if !bytes.Equal(e.value(), v) {
				t.Fatal("appending to the key changed the value")
			}
		}
	}
}

// testGens gives the trees built directly by tests their owner tokens.
var testGens gens
