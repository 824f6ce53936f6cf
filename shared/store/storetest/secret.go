package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
)

// runSecrets runs the conformance suite of store.SecretStore. newStore must
// return an empty store for the calling (sub)test.
func runSecrets(t *testing.T, newStore func(t *testing.T) store.SecretStore) {
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.FixedZone("x", 3600))
	mk := func(name, scope, project string, keys ...string) *store.Secret {
		return &store.Secret{Name: name, Scope: scope, Project: project, Keys: keys,
			Data: []byte("sealed:" + name + "\x00\xff"), UpdatedAt: at}
	}
	norm := func(s *store.Secret) store.Secret {
		c := *s
		c.UpdatedAt = normTime(c.UpdatedAt.Truncate(time.Microsecond))
		if len(c.Keys) == 0 {
			c.Keys = nil
		}
		return c
	}
	same := func(t *testing.T, got, want *store.Secret) {
		t.Helper()
		if !reflect.DeepEqual(norm(got), norm(want)) {
			t.Fatalf("got %+v\nwant %+v", norm(got), norm(want))
		}
	}

	t.Run("CreateGetUpdateDelete", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.GetSecret(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get missing: %v", err)
		}
		a := mk("a", "keptn-webhook-service", "p1", "token", "user")
		if err := s.CreateSecret(ctx, a); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetSecret(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		same(t, got, a)
		if got.UpdatedAt.Location() != time.UTC {
			t.Fatalf("time not UTC: %v", got.UpdatedAt)
		}
		if err := s.CreateSecret(ctx, mk("a", "keptn-default", "")); !errors.Is(err, store.ErrAlreadyExists) {
			t.Fatalf("create twice: %v", err)
		}
		if err := s.UpdateSecret(ctx, mk("b", "keptn-default", "")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update missing: %v", err)
		}
		a2 := mk("a", "keptn-default", "", "only")
		a2.Data = []byte("other")
		if err := s.UpdateSecret(ctx, a2); err != nil {
			t.Fatal(err)
		}
		if got, err = s.GetSecret(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		same(t, got, a2)
		if err := s.DeleteSecret(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSecret(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
		if _, err := s.GetSecret(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get deleted: %v", err)
		}
	})

	t.Run("List", func(t *testing.T) {
		s := newStore(t)
		if l, err := s.ListSecrets(ctx); err != nil || len(l) != 0 {
			t.Fatalf("empty list: %v %v", l, err)
		}
		// Names in non-sorted creation order, with characters drivers escape.
		names := []string{"webhook", "a.b", "a-b", "z", "a"}
		for _, n := range names {
			if err := s.CreateSecret(ctx, mk(n, "keptn-default", "", "k2", "k1")); err != nil {
				t.Fatal(err)
			}
		}
		l, err := s.ListSecrets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, sec := range l {
			got = append(got, sec.Name)
			if !reflect.DeepEqual(sec.Keys, []string{"k1", "k2"}) {
				t.Fatalf("%s keys %v, want sorted", sec.Name, sec.Keys)
			}
		}
		if want := []string{"a", "a-b", "a.b", "webhook", "z"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("order %v, want %v", got, want)
		}
	})

	t.Run("ConcurrentCreate", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		created := 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.CreateSecret(ctx, mk("race", fmt.Sprint("scope-", i), ""))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					created++
				case !errors.Is(err, store.ErrAlreadyExists):
					t.Errorf("create: %v", err)
				}
			}()
		}
		wg.Wait()
		if created != 1 {
			t.Fatalf("%d creates succeeded, want 1", created)
		}
	})
}
