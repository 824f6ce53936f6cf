package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
)

// runIntegrations runs the conformance suite of store.IntegrationStore.
// newStore must return an empty store for the calling (sub)test, as for Run.
// Beyond the interface's documentation it pins: nil and empty filter lists
// are equivalent; empty listings are empty slices.
func runIntegrations(t *testing.T, newStore func(t *testing.T) store.IntegrationStore) {
	groups := []struct {
		name string
		fn   func(t *testing.T, newStore func(t *testing.T) store.IntegrationStore)
	}{
		{"Register", testRegister},
		{"UpdateGetDelete", testUpdateIntegration},
		{"ListIntegrations", testListIntegrations},
		{"PurgeIntegrations", testPurgeIntegrations},
		{"IntegrationConcurrency", testIntegrationConcurrency},
		{"Logs", testLogs},
		{"PurgeLogs", testPurgeLogs},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.fn(t, newStore) })
	}
}

func normIntegration(in *store.Integration) store.Integration {
	c := *in
	c.LastSeen = normTime(c.LastSeen)
	for _, l := range []*[]string{&c.Projects, &c.Stages, &c.Services} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	c.Body = normBytes(c.Body)
	return c
}

func checkIntegration(t *testing.T, what string, got, want *store.Integration) {
	t.Helper()
	if got == nil || want == nil {
		if got != want {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
		return
	}
	if g, w := normIntegration(got), normIntegration(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func integrationIDs(list []*store.Integration) []string {
	ids := make([]string, len(list))
	for i, in := range list {
		ids[i] = in.ID
	}
	return ids
}

// register stores in as a new integration.
func register(t *testing.T, s store.IntegrationStore, in *store.Integration) {
	t.Helper()
	_, err := s.RegisterIntegration(t.Context(), in.Name, in.Namespace, func(cur *store.Integration) (*store.Integration, error) {
		if cur != nil {
			return nil, fmt.Errorf("%s/%s already registered", in.Name, in.Namespace)
		}
		return in, nil
	})
	must(t, "register "+in.ID, err)
}

func testRegister(t *testing.T, newStore func(t *testing.T) store.IntegrationStore) {
	ctx := t.Context()
	s := newStore(t)
	in := &store.Integration{ID: "i1", Name: "echo", Namespace: "keptn", Hostname: "node-1", LastSeen: at(1),
		Projects: []string{"p1", "p2"}, Stages: []string{"dev"}, Body: []byte(`{"v":1}`)}

	var sawNil bool
	got, err := s.RegisterIntegration(ctx, "echo", "keptn", func(cur *store.Integration) (*store.Integration, error) {
		sawNil = cur == nil
		return in, nil
	})
	must(t, "register new", err)
	if !sawNil {
		t.Error("fn of a new registration got an existing integration")
	}
	checkIntegration(t, "returned", got, in)
	stored, err := s.GetIntegration(ctx, "i1")
	must(t, "get", err)
	checkIntegration(t, "stored", stored, in)

	// Re-registering sees the stored record; returning nil keeps it.
	got, err = s.RegisterIntegration(ctx, "echo", "keptn", func(cur *store.Integration) (*store.Integration, error) {
		checkIntegration(t, "fn's current", cur, in)
		return nil, nil
	})
	must(t, "register unchanged", err)
	checkIntegration(t, "unchanged", got, in)

	// The same name in another namespace is another integration.
	other := &store.Integration{ID: "i2", Name: "echo", Namespace: "other", Hostname: "node-1", LastSeen: at(2)}
	register(t, s, other)

	// A new id may not be another integration's.
	_, err = s.RegisterIntegration(ctx, "echo", "keptn", func(cur *store.Integration) (*store.Integration, error) {
		c := *cur
		c.ID = "i2"
		return &c, nil
	})
	if !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("taking another integration's id: err = %v, want ErrAlreadyExists", err)
	}
	// Name and namespace are the identity.
	_, err = s.RegisterIntegration(ctx, "echo", "keptn", func(cur *store.Integration) (*store.Integration, error) {
		c := *cur
		c.Namespace = "elsewhere"
		return &c, nil
	})
	if err == nil {
		t.Error("changing the namespace succeeded")
	}
	// fn's error comes back unchanged and nothing is written.
	_, err = s.RegisterIntegration(ctx, "new", "keptn", func(*store.Integration) (*store.Integration, error) { return nil, errBoom })
	if !errors.Is(err, errBoom) {
		t.Errorf("fn error: %v", err)
	}

	// Replacing the record with a new id (an expired registration) moves the id.
	repl := &store.Integration{ID: "i3", Name: "echo", Namespace: "keptn", Hostname: "node-2", LastSeen: at(10), Body: []byte(`{"v":2}`)}
	_, err = s.RegisterIntegration(ctx, "echo", "keptn", func(cur *store.Integration) (*store.Integration, error) { return repl, nil })
	must(t, "replace", err)
	_, err = s.GetIntegration(ctx, "i1")
	wantNotFound(t, "old id after replace", err)
	stored, err = s.GetIntegration(ctx, "i3")
	must(t, "get replaced", err)
	checkIntegration(t, "replaced", stored, repl)
	all, err := s.ListIntegrations(ctx, store.IntegrationQuery{})
	must(t, "list", err)
	checkIDs(t, "all after replace", integrationIDs(all), []string{"i3", "i2"})
}

func testUpdateIntegration(t *testing.T, newStore func(t *testing.T) store.IntegrationStore) {
	ctx := t.Context()
	s := newStore(t)
	in := &store.Integration{ID: "i1", Name: "echo", Namespace: "keptn", Hostname: "h", LastSeen: at(1), Body: []byte("0")}
	register(t, s, in)

	got, err := s.UpdateIntegration(ctx, "i1", func(cur *store.Integration) error {
		checkIntegration(t, "fn's current", cur, in)
		cur.LastSeen = at(5)
		cur.Services = []string{"carts"}
		cur.Body = []byte("1")
		return nil
	})
	must(t, "update", err)
	want := *in
	want.LastSeen, want.Services, want.Body = at(5), []string{"carts"}, []byte("1")
	checkIntegration(t, "returned", got, &want)
	stored, err := s.GetIntegration(ctx, "i1")
	must(t, "get", err)
	checkIntegration(t, "stored", stored, &want)

	_, err = s.UpdateIntegration(ctx, "i1", func(cur *store.Integration) error {
		cur.Body = []byte("lost")
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Errorf("fn error: %v", err)
	}
	_, err = s.UpdateIntegration(ctx, "i1", func(cur *store.Integration) error {
		cur.ID = "other"
		return nil
	})
	if err == nil {
		t.Error("changing the id succeeded")
	}
	stored, err = s.GetIntegration(ctx, "i1")
	must(t, "get after failed updates", err)
	checkIntegration(t, "after failed updates", stored, &want)

	_, err = s.UpdateIntegration(ctx, "nope", func(*store.Integration) error { return nil })
	wantNotFound(t, "update missing", err)
	_, err = s.GetIntegration(ctx, "nope")
	wantNotFound(t, "get missing", err)

	must(t, "delete", s.DeleteIntegration(ctx, "i1"))
	_, err = s.GetIntegration(ctx, "i1")
	wantNotFound(t, "get deleted", err)
	wantNotFound(t, "delete missing", s.DeleteIntegration(ctx, "i1"))
	// The pair is free again.
	register(t, s, &store.Integration{ID: "i9", Name: "echo", Namespace: "keptn", LastSeen: at(9)})
}

func integrationFixture() []*store.Integration {
	return []*store.Integration{
		{ID: "a", Name: "webhook-service", Namespace: "keptn", Hostname: "n1", LastSeen: at(10),
			Projects: []string{"p1"}, Stages: []string{"dev", "prod"}, Services: []string{"carts"}},
		{ID: "b", Name: "echo", Namespace: "keptn", Hostname: "n2", LastSeen: at(20),
			Projects: []string{"p2"}, Stages: []string{"dev"}},
		{ID: "c", Name: "echo", Namespace: "exec", Hostname: "n1", LastSeen: at(30),
			Projects: []string{"p1", "p2"}, Services: []string{"orders"}},
		{ID: "d", Name: "approval", Namespace: "keptn", Hostname: "n3", LastSeen: at(40)},
	}
}

func testListIntegrations(t *testing.T, newStore func(t *testing.T) store.IntegrationStore) {
	s := newStore(t)
	for _, in := range integrationFixture() {
		register(t, s, in)
	}
	for _, tc := range []struct {
		name string
		q    store.IntegrationQuery
		want []string
	}{
		{"all, by name then namespace", store.IntegrationQuery{}, []string{"d", "c", "b", "a"}},
		{"id", store.IntegrationQuery{ID: "b"}, []string{"b"}},
		{"unknown id", store.IntegrationQuery{ID: "x"}, nil},
		{"id and other filter", store.IntegrationQuery{ID: "b", Namespace: "exec"}, nil},
		{"name", store.IntegrationQuery{Name: "echo"}, []string{"c", "b"}},
		{"namespace", store.IntegrationQuery{Namespace: "keptn"}, []string{"d", "b", "a"}},
		{"hostname", store.IntegrationQuery{Hostname: "n1"}, []string{"c", "a"}},
		{"project", store.IntegrationQuery{Project: "p2"}, []string{"c", "b"}},
		{"stage", store.IntegrationQuery{Stage: "dev"}, []string{"b", "a"}},
		{"service", store.IntegrationQuery{Service: "orders"}, []string{"c"}},
		{"project and stage", store.IntegrationQuery{Project: "p1", Stage: "prod"}, []string{"a"}},
		{"name and project", store.IntegrationQuery{Name: "echo", Project: "p1"}, []string{"c"}},
		{"seen since (inclusive)", store.IntegrationQuery{SeenSince: at(20)}, []string{"d", "c", "b"}},
		{"seen since and name", store.IntegrationQuery{SeenSince: at(25), Name: "echo"}, []string{"c"}},
		{"nothing", store.IntegrationQuery{Project: "p9"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListIntegrations(t.Context(), tc.q)
			must(t, "list", err)
			if got == nil {
				t.Error("nil listing, want an empty slice")
			}
			checkIDs(t, "ids", integrationIDs(got), tc.want)
		})
	}
	// Listed records are complete.
	got, err := s.ListIntegrations(t.Context(), store.IntegrationQuery{ID: "a"})
	must(t, "list a", err)
	if len(got) == 1 {
		checkIntegration(t, "listed", got[0], integrationFixture()[0])
	}
}

func testPurgeIntegrations(t *testing.T, newStore func(t *testing.T) store.IntegrationStore) {
	ctx := t.Context()
	s := newStore(t)
	for _, in := range integrationFixture() {
		register(t, s, in)
	}
	n, err := s.PurgeIntegrations(ctx, at(30), 1)
	must(t, "purge with limit", err)
	if n != 1 {
		t.Errorf("purged %d, want 1 (limit)", n)
	}
	n, err = s.PurgeIntegrations(ctx, at(30), 0)
	must(t, "purge", err)
	if n != 1 {
		t.Errorf("purged %d, want the other one", n)
	}
	all, err := s.ListIntegrations(ctx, store.IntegrationQuery{})
	must(t, "list", err)
	checkIDs(t, "left (seen at or after the bound)", integrationIDs(all), []string{"d", "c"})
	_, err = s.GetIntegration(ctx, "a")
	wantNotFound(t, "purged id", err)
	n, err = s.PurgeIntegrations(ctx, at(30), 0)
	must(t, "purge again", err)
	if n != 0 {
		t.Errorf("purged %d, want 0", n)
	}
}

func testIntegrationConcurrency(t *testing.T, newStore func(t *testing.T) store.IntegrationStore) {
	t.Run("one registration per name", func(t *testing.T) {
		s := newStore(t)
		const workers = 8
		got := make([]*store.Integration, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in, err := s.RegisterIntegration(t.Context(), "echo", "keptn", func(cur *store.Integration) (*store.Integration, error) {
					if cur != nil {
						return nil, nil
					}
					return &store.Integration{ID: "w" + strconv.Itoa(w), Name: "echo", Namespace: "keptn", LastSeen: at(w)}, nil
				})
				if err != nil {
					t.Errorf("register: %v", err)
					return
				}
				got[w] = in
			}()
		}
		wg.Wait()
		all, err := s.ListIntegrations(t.Context(), store.IntegrationQuery{})
		must(t, "list", err)
		if len(all) != 1 {
			t.Fatalf("%d integrations, want 1: %q", len(all), integrationIDs(all))
		}
		for w, in := range got {
			if in == nil || in.ID != all[0].ID {
				t.Errorf("worker %d got %v, want the winner %s", w, in, all[0].ID)
			}
		}
	})
	t.Run("no lost updates", func(t *testing.T) {
		s := newStore(t)
		register(t, s, &store.Integration{ID: "i", Name: "n", Namespace: "ns", Body: []byte("0")})
		const workers, each = 10, 2
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					_, err := s.UpdateIntegration(t.Context(), "i", func(in *store.Integration) error {
						in.Body = []byte(strconv.Itoa(counter(in.Body) + 1))
						return nil
					})
					if err != nil {
						t.Errorf("update: %v", err)
					}
				}
			}()
		}
		wg.Wait()
		in, err := s.GetIntegration(t.Context(), "i")
		must(t, "get", err)
		if n := counter(in.Body); n != workers*each {
			t.Errorf("counter = %d, want %d", n, workers*each)
		}
	})
}

// logFixture has entries of two integrations; l3 and l4 share a time, as
// do l6 and l7 (ties order by id).
func logFixture() []*store.LogEntry {
	mk := func(id, integ string, sec int) *store.LogEntry {
		return &store.LogEntry{ID: id, IntegrationID: integ, Time: at(sec), Body: []byte(`{"id":"` + id + `"}`)}
	}
	return []*store.LogEntry{
		mk("l1", "a", 1), mk("l2", "b", 2), mk("l4", "a", 3), mk("l3", "b", 3),
		mk("l5", "a", 5), mk("l7", "a", 6), mk("l6", "a", 6), mk("l8", "b", 8),
	}
}

func logIDs(logs []*store.LogEntry) []string {
	ids := make([]string, len(logs))
	for i, l := range logs {
		ids[i] = l.ID
	}
	return ids
}

func testLogs(t *testing.T, newStore func(t *testing.T) store.IntegrationStore) {
	ctx := t.Context()
	s := newStore(t)
	fixture := logFixture()
	must(t, "append", s.AppendLogs(ctx, fixture[:3]))
	must(t, "append more", s.AppendLogs(ctx, fixture[3:]))
	must(t, "append nothing", s.AppendLogs(ctx, nil))

	for _, tc := range []struct {
		name string
		q    store.LogQuery
		want []string
	}{
		{"all, newest first, ties by id", store.LogQuery{}, []string{"l8", "l6", "l7", "l5", "l3", "l4", "l2", "l1"}},
		{"integration", store.LogQuery{IntegrationID: "a"}, []string{"l6", "l7", "l5", "l4", "l1"}},
		{"unknown integration", store.LogQuery{IntegrationID: "z"}, nil},
		{"from (inclusive)", store.LogQuery{From: at(5)}, []string{"l8", "l6", "l7", "l5"}},
		{"until (inclusive)", store.LogQuery{Until: at(3)}, []string{"l3", "l4", "l2", "l1"}},
		{"from and until", store.LogQuery{From: at(3), Until: at(6)}, []string{"l6", "l7", "l5", "l3", "l4"}},
		{"integration and bounds", store.LogQuery{IntegrationID: "b", From: at(2), Until: at(3)}, []string{"l3", "l2"}},
		{"between entries", store.LogQuery{From: at(3).Add(time.Microsecond), Until: at(5).Add(-time.Microsecond)}, nil},
		{"empty range", store.LogQuery{From: at(6), Until: at(5)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := s.ListLogs(t.Context(), tc.q, 0, 0)
			must(t, "list", err)
			if got == nil {
				t.Error("nil listing, want an empty slice")
			}
			checkIDs(t, "ids", logIDs(got), tc.want)
			if total != len(tc.want) {
				t.Errorf("total = %d, want %d", total, len(tc.want))
			}
			// Pages of every size put together give the same list.
			for _, size := range []int{1, 2, 3} {
				var all []string
				for off := 0; off < len(tc.want)+size; off += size {
					page, total, err := s.ListLogs(t.Context(), tc.q, off, size)
					must(t, "page", err)
					if total != len(tc.want) {
						t.Errorf("size %d offset %d: total = %d, want %d", size, off, total, len(tc.want))
					}
					if len(page) > size {
						t.Errorf("size %d offset %d: %d entries", size, off, len(page))
					}
					all = append(all, logIDs(page)...)
				}
				checkIDs(t, fmt.Sprintf("pages of %d", size), all, tc.want)
			}
		})
	}

	// Entries come back whole, in UTC.
	got, _, err := s.ListLogs(ctx, store.LogQuery{IntegrationID: "b", From: at(8)}, 0, 0)
	must(t, "list l8", err)
	if len(got) != 1 {
		t.Fatalf("got %d entries, want l8", len(got))
	}
	want := fixture[7]
	if g := got[0]; g.ID != want.ID || g.IntegrationID != want.IntegrationID || !g.Time.Equal(want.Time) ||
		g.Time.Location() != time.UTC || string(g.Body) != string(want.Body) {
		t.Errorf("entry = %+v (%s), want %+v", g, g.Body, want)
	}
	// Times are kept to the microsecond.
	fine := &store.LogEntry{ID: "fine", IntegrationID: "c", Time: at(20).Add(1500 * time.Nanosecond), Body: []byte("{}")}
	must(t, "append fine", s.AppendLogs(ctx, []*store.LogEntry{fine}))
	got, _, err = s.ListLogs(ctx, store.LogQuery{IntegrationID: "c"}, 0, 0)
	must(t, "list fine", err)
	if len(got) != 1 || !got[0].Time.Equal(at(20).Add(time.Microsecond)) {
		t.Errorf("fine entry = %v, want time %v", got, at(20).Add(time.Microsecond))
	}
	// Offsets past the end give an empty page and the total.
	page, total, err := s.ListLogs(ctx, store.LogQuery{IntegrationID: "a"}, 10, 2)
	must(t, "past the end", err)
	if len(page) != 0 || total != 5 {
		t.Errorf("past the end: %d entries, total %d; want 0, 5", len(page), total)
	}
}

func testPurgeLogs(t *testing.T, newStore func(t *testing.T) store.IntegrationStore) {
	ctx := t.Context()
	s := newStore(t)
	must(t, "append", s.AppendLogs(ctx, logFixture()))
	n, err := s.PurgeLogs(ctx, at(3), 1)
	must(t, "purge with limit", err)
	if n != 1 {
		t.Errorf("purged %d, want 1 (limit)", n)
	}
	n, err = s.PurgeLogs(ctx, at(3), 0)
	must(t, "purge", err)
	if n != 1 {
		t.Errorf("purged %d, want the other one", n)
	}
	got, total, err := s.ListLogs(ctx, store.LogQuery{}, 0, 0)
	must(t, "list", err)
	checkIDs(t, "left (at or after the bound)", logIDs(got), []string{"l8", "l6", "l7", "l5", "l3", "l4"})
	if total != 6 {
		t.Errorf("total = %d, want 6", total)
	}
	// The integration index forgot them too.
	got, total, err = s.ListLogs(ctx, store.LogQuery{IntegrationID: "b"}, 0, 0)
	must(t, "list b", err)
	checkIDs(t, "b left", logIDs(got), []string{"l8", "l3"})
	if total != 2 {
		t.Errorf("b total = %d, want 2", total)
	}
	n, err = s.PurgeLogs(ctx, at(100), 0)
	must(t, "purge all", err)
	if n != 6 {
		t.Errorf("purged %d, want 6", n)
	}
}
