// Package storetest is the conformance suite for store drivers, in the style of
// go-cloud's docstore/drivertest: every driver's tests call Run with a
// Harness (a constructor of fresh drivers and the driver's capability
// flags), so all drivers are held to one executable definition of the
// store contract, through the portable layer store.New puts over them.
// Behaviour the contract leaves open is pinned here:
//
//   - Page.Size 0 (and DueRuns limit 0) means no limit; a page whose NextToken is
//     non-empty is full, and the last page's NextToken is "".
//   - Tx.DeleteLane of a missing lane is not an error (the engine deletes lanes
//     it no longer needs without checking first).
//   - DeleteProject and DeleteResource of something missing return ErrNotFound.
//   - Empty listings are empty slices with a nil error, never ErrNotFound.
//   - Sort ties are broken by ID (or event ID) in the listing's direction.
//   - Times round-trip at microsecond precision (Firestore's), in UTC.
//
// Every group runs for every driver; a flag off does not skip a group but
// asserts that the driver declares nothing there (and the portable
// behaviour where there is one).
package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
)

// Harness describes a driver to the suite.
type Harness struct {
	// NewDriver returns an empty driver for the calling (sub)test and
	// arranges its cleanup (Close) with t.Cleanup; the suite never closes
	// drivers itself.
	NewDriver func(t *testing.T) store.Driver
	// Flags are what the driver declares in Features; the suite checks the
	// declaration against them.
	Flags Flags
}

// Flags name the optional groups and capabilities a driver has. Together
// with the four groups every driver has, they cover every method.
type Flags struct {
	Integrations bool // store.IntegrationStore, every method
	Secrets      bool // store.SecretStore, every method

	// Capabilities the driver declares itself (false: the portable one).
	HasProject, AppendEventLazy, AckOutboxLazy, Health bool
	// Capabilities with no portable stand-in (false: none).
	PurgeHistory, Stats bool
}

// newStore returns the portable store over a fresh driver.
func (h Harness) newStore(t *testing.T) store.Store { return store.New(h.NewDriver(t)) }

// Run runs the conformance suite.
func Run(t *testing.T, h Harness) {
	groups := []struct {
		name string
		fn   func(t *testing.T, newStore func(t *testing.T) store.Store)
	}{
		{"Update", testUpdate},
		{"Concurrency", testConcurrency},
		{"RunLookups", testRunLookups},
		{"LanesAndContexts", testLanesAndContexts},
		{"ListRuns", testListRuns},
		{"DueRuns", testDueRuns},
		{"AckOutbox", testAckOutbox},
		{"ListOpen", testListOpen},
		{"Projects", testProjects},
		{"DeleteProject", testDeleteProject},
		{"Events", testEvents},
		{"Resources", testResources},
		{"TooLarge", testTooLarge},
		{"BadPageToken", testBadPageToken},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.fn(t, h.newStore) })
	}
	t.Run("Features", func(t *testing.T) { testFeatures(t, h) })
	t.Run("Capabilities", func(t *testing.T) { testCapabilities(t, h) })
	t.Run("Rules", func(t *testing.T) { testRules(t, h) })
	t.Run("Integrations", func(t *testing.T) {
		if !h.Flags.Integrations {
			if h.newStore(t).Integrations() != nil {
				t.Fatal("Integrations() is not nil for a driver without integrations")
			}
			return
		}
		runIntegrations(t, func(t *testing.T) store.IntegrationStore { return h.newStore(t).Integrations() })
	})
	t.Run("Secrets", func(t *testing.T) {
		if !h.Flags.Secrets {
			if h.newStore(t).Secrets() != nil {
				t.Fatal("Secrets() is not nil for a driver without secrets")
			}
			return
		}
		runSecrets(t, func(t *testing.T) store.SecretStore { return h.newStore(t).Secrets() })
	})
}

// testFeatures checks that the driver declares exactly what its flags say.
func testFeatures(t *testing.T, h Harness) {
	f := h.NewDriver(t).Features()
	c := f.Capabilities
	for name, got := range map[string][2]bool{
		"Integrations":    {f.Integrations != nil, h.Flags.Integrations},
		"Secrets":         {f.Secrets != nil, h.Flags.Secrets},
		"HasProject":      {c.HasProject != nil, h.Flags.HasProject},
		"AppendEventLazy": {c.AppendEventLazy != nil, h.Flags.AppendEventLazy},
		"AckOutboxLazy":   {c.AckOutboxLazy != nil, h.Flags.AckOutboxLazy},
		"Health":          {c.Health != nil, h.Flags.Health},
		"PurgeHistory":    {c.PurgeHistory != nil, h.Flags.PurgeHistory},
		"Stats":           {c.Stats != nil, h.Flags.Stats},
	} {
		if got[0] != got[1] {
			t.Errorf("%s: declared %v, flag %v", name, got[0], got[1])
		}
	}
}

// errBoom is returned by transaction functions that must abort.
var errBoom = errors.New("storetest: boom")

// t0 has microsecond precision on purpose: that is what Firestore stores.
var t0 = time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// putRuns stores runs in one transaction.
func putRuns(t *testing.T, s store.Store, runs ...*store.Run) {
	t.Helper()
	err := s.Update(t.Context(), func(tx store.Tx) error {
		for _, r := range runs {
			if err := tx.PutRun(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("put runs: %v", err)
	}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: err = %v, want ErrNotFound", what, err)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// normalize makes records comparable with reflect.DeepEqual: drivers may return
// times in any location and a nil or empty Body for an empty one.
func normTime(t time.Time) time.Time { return t.Round(0).UTC() }

func normBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func normRun(r *store.Run) store.Run {
	c := *r
	c.TriggeredAt, c.OpenSince, c.Due = normTime(c.TriggeredAt), normTime(c.OpenSince), normTime(c.Due)
	c.Body = normBytes(c.Body)
	return c
}

func checkRun(t *testing.T, what string, got, want *store.Run) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got nil run, want %s", what, want.ID)
		return
	}
	if g, w := normRun(got), normRun(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, showRun(g), showRun(w))
	}
}

func showRun(r store.Run) string {
	body := string(r.Body)
	if len(body) > 64 {
		body = fmt.Sprintf("%d bytes", len(body))
	}
	r.Body = nil
	return fmt.Sprintf("%+v body=%q", r, body)
}

func runIDs(runs []*store.Run) []string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	return ids
}

func checkIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// collect pages through a listing with the given page size and checks the
// paging rules: pages are never larger than Size, a page with a NextToken is
// full, and there is no trailing empty page.
func collect[T any](t *testing.T, size int, list func(p store.Page) ([]T, string, error)) []T {
	t.Helper()
	var all []T
	token := ""
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatalf("pagination with size %d does not terminate", size)
		}
		got, next, err := list(store.Page{Size: size, Token: token})
		if err != nil {
			t.Fatalf("page %d (size %d): %v", page, size, err)
		}
		if size > 0 && len(got) > size {
			t.Fatalf("page %d has %d items, size %d", page, len(got), size)
		}
		if next != "" && len(got) != size {
			t.Fatalf("page %d has %d items and a next token, size %d", page, len(got), size)
		}
		if len(got) == 0 && page > 0 {
			t.Fatalf("page %d is empty: the previous page should have had no next token", page)
		}
		all = append(all, got...)
		if next == "" {
			return all
		}
		token = next
	}
}

// pageSizes are the sizes every listing is checked with; 0 means no limit.
var pageSizes = []int{0, 1, 2, 3, 100}

func counter(b []byte) int {
	n, _ := strconv.Atoi(string(b))
	return n
}
