package knative

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	fs "cloud.google.com/go/firestore"

	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/firestore"
	"github.com/slipwayhq/slipway/shared/store/firestore/fstest"
)

// IndexFile is config/firestore/firestore.indexes.json.
const IndexFile = repoRoot + "/config/firestore/firestore.indexes.json"

// IndexField is one field of a composite index.
type IndexField struct {
	FieldPath string `json:"fieldPath"`
	Order     string `json:"order,omitempty"`
}

// Index is a composite index as firestore.indexes.json and the emulator's
// indexUsage report spell it.
type Index struct {
	CollectionGroup string       `json:"collectionGroup"`
	QueryScope      string       `json:"queryScope"`
	Fields          []IndexField `json:"fields"`
}

func (x Index) String() string {
	parts := make([]string, len(x.Fields))
	for i, f := range x.Fields {
		parts[i] = f.FieldPath + " " + f.Order
	}
	return x.CollectionGroup + ": " + strings.Join(parts, ", ")
}

// normalize drops a trailing __name__ that has the direction of the field
// before it: Firestore adds that one implicitly to every composite index.
func (x Index) normalize() Index {
	n := len(x.Fields)
	if n >= 2 && x.Fields[n-1].FieldPath == "__name__" && x.Fields[n-1].Order == x.Fields[n-2].Order {
		x.Fields = x.Fields[:n-1]
	}
	return x
}

// IndexConfig is firestore.indexes.json.
type IndexConfig struct {
	Indexes        []Index `json:"indexes"`
	FieldOverrides []struct {
		CollectionGroup string `json:"collectionGroup"`
		FieldPath       string `json:"fieldPath"`
		TTL             bool   `json:"ttl,omitempty"`
		Indexes         []any  `json:"indexes"`
	} `json:"fieldOverrides"`
}

func readIndexConfig(t *testing.T) IndexConfig {
	t.Helper()
	raw, err := os.ReadFile(IndexFile)
	if err != nil {
		t.Fatal(err)
	}
	var c IndexConfig
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%s: %v", IndexFile, err)
	}
	return c
}

// Served reports whether the declared indexes serve a query that needs index
// n (as the emulator reports it: equality fields first, ascending, then the
// sort/range fields). Either one declared index has exactly n's fields, or
// Firestore can merge declared indexes: n splits into equality fields E and a
// suffix S such that every field of E leads some declared index made of
// fields of E followed by exactly S. It returns the declared indexes used.
func Served(n Index, declared []Index) (bool, []int) {
	n = n.normalize()
	for k := len(n.Fields) - 1; k >= 1; k-- {
		eq, suffix := n.Fields[:k], n.Fields[k:]
		if slices.ContainsFunc(eq, func(f IndexField) bool { return f.Order != "ASCENDING" }) {
			continue
		}
		eqSet := map[string]bool{}
		for _, f := range eq {
			eqSet[f.FieldPath] = true
		}
		covered := map[string]bool{}
		var used []int
		for i, d := range declared {
			d = d.normalize()
			if d.CollectionGroup != n.CollectionGroup || d.QueryScope != n.QueryScope || len(d.Fields) <= len(suffix) {
				continue
			}
			head, tail := d.Fields[:len(d.Fields)-len(suffix)], d.Fields[len(d.Fields)-len(suffix):]
			if !slices.Equal(tail, suffix) {
				continue
			}
			ok := true
			for _, f := range head {
				if !eqSet[f.FieldPath] {
					ok = false
				}
			}
			if !ok {
				continue
			}
			used = append(used, i)
			for _, f := range head {
				covered[f.FieldPath] = true
			}
		}
		if len(covered) == len(eqSet) {
			return true, used
		}
	}
	return false, nil
}

// exerciseStore runs every query shape of the store's public API: every
// subset of the equality filters of ListRuns, ListOpen and ListEvents (with
// and without ranges, `in`, pages), resources, the sweeper's due query and
// the transactional lookups.
func exerciseStore(ctx context.Context, s store.Store) error {
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	run := &store.Run{ID: "run-1", Project: "p", Stage: "dev", Service: "svc", Sequence: "delivery", KeptnContext: "ctx-1",
		State: "started", TriggeredAt: now, TaskTriggeredID: "t-1", OpenType: "sh.keptn.event.deployment.triggered",
		OpenSince: now, Due: now, Body: []byte(`{}`)}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.PutRun(run) }); err != nil {
		return fmt.Errorf("put run: %w", err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.RunByTask("p", "t-1"); err != nil {
			return err
		}
		_, err := tx.RunsByContext("p", "ctx-1")
		return err
	}); err != nil {
		return fmt.Errorf("transactional lookups: %w", err)
	}
	if _, err := s.DueRuns(ctx, now.Add(time.Minute), 10); err != nil {
		return err
	}
	page := store.Page{Size: 1}
	runVals := []string{"p", "dev", "svc", "delivery", "started", "ctx-1"}
	for mask := 0; mask < 1<<len(runVals); mask++ {
		v := func(i int) string {
			if mask&(1<<i) != 0 {
				return runVals[i]
			}
			return ""
		}
		q := store.RunQuery{Project: v(0), Stage: v(1), Service: v(2), Sequence: v(3), State: v(4), KeptnContext: v(5)}
		if _, _, err := s.ListRuns(ctx, q, page); err != nil {
			return fmt.Errorf("list runs %+v: %w", q, err)
		}
	}
	openVals := []string{"p", "dev", "svc", "t-1"}
	for mask := 0; mask < 1<<len(openVals); mask++ {
		v := func(i int) string {
			if mask&(1<<i) != 0 {
				return openVals[i]
			}
			return ""
		}
		for _, until := range []time.Time{{}, now.Add(time.Hour)} {
			q := store.OpenQuery{Type: run.OpenType, Project: v(0), Stage: v(1), Service: v(2), TaskTriggeredID: v(3), Until: until}
			if _, _, err := s.ListOpen(ctx, q, page); err != nil {
				return fmt.Errorf("list open %+v: %w", q, err)
			}
		}
	}
	ev := &store.Event{ID: "e-1", Project: "p", KeptnContext: "ctx-1", Type: "sh.keptn.event.dev.delivery.triggered",
		Stage: "dev", Service: "svc", Source: "ci", TriggeredID: "t-0", Time: now, Body: []byte(`{}`)}
	if err := s.AppendEvent(ctx, ev); err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	evVals := []string{"p", "ctx-1", ev.Type, "dev", "svc", "ci", "t-0"}
	for mask := 0; mask < 1<<len(evVals); mask++ {
		v := func(i int) string {
			if mask&(1<<i) != 0 {
				return evVals[i]
			}
			return ""
		}
		base := store.EventQuery{Project: v(0), KeptnContext: v(1), Type: v(2), Stage: v(3), Service: v(4), Source: v(5), TriggeredID: v(6)}
		variants := []store.EventQuery{base}
		if base.Service == "" {
			in := base
			in.Services = []string{"svc", "other"}
			variants = append(variants, in)
		}
		for _, q := range slices.Clone(variants) {
			r := q
			r.From, r.Before = now.Add(-time.Hour), now.Add(time.Hour)
			variants = append(variants, r)
		}
		for _, q := range variants {
			if _, _, err := s.ListEvents(ctx, q, page); err != nil {
				return fmt.Errorf("list events %+v: %w", q, err)
			}
		}
	}
	if err := s.PutResource(ctx, &store.Resource{Project: "p", Stage: "dev", Service: "svc", URI: "shipyard.yaml",
		Content: []byte("x"), UpdatedAt: now}); err != nil {
		return fmt.Errorf("put resource: %w", err)
	}
	for _, scope := range [][3]string{{"p", "", ""}, {"p", "dev", ""}, {"p", "dev", "svc"}} {
		if _, _, err := s.ListResources(ctx, scope[0], scope[1], scope[2], page); err != nil {
			return fmt.Errorf("list resources %v: %w", scope, err)
		}
		if _, err := s.GetResource(ctx, scope[0], scope[1], scope[2], "shipyard.yaml"); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("get resource %v: %w", scope, err)
		}
	}
	if err := s.CreateProject(ctx, &store.Project{Name: "p", CreatedAt: now, Body: []byte(`{}`)}); err != nil {
		return fmt.Errorf("create project: %w", err)
	}
	if _, _, err := s.ListProjects(ctx, page); err != nil {
		return err
	}
	return s.DeleteProject(ctx, "p")
}

// indexUsage parses the emulator's report of the composite indexes the
// queries run on project so far would need in production (the emulator
// itself never enforces indexes).
func indexUsage(ctx context.Context, host, project string) ([]Index, error) {
	body, err := fstest.IndexUsage(ctx, host, project)
	if err != nil {
		return nil, err
	}
	var report struct {
		Reports []struct {
			Index struct {
				Name       string       `json:"name"`
				QueryScope string       `json:"queryScope"`
				Fields     []IndexField `json:"fields"`
			} `json:"index"`
		} `json:"reports"`
	}
	if err := json.Unmarshal(body, &report); err != nil {
		return nil, fmt.Errorf("index usage: %w: %s", err, body)
	}
	var out []Index
	for _, r := range report.Reports {
		// name: projects/P/databases/(default)/collectionGroups/<group>/indexes/_
		_, after, ok := strings.Cut(r.Index.Name, "/collectionGroups/")
		if !ok {
			return nil, fmt.Errorf("index usage: unexpected index name %q", r.Index.Name)
		}
		group, _, _ := strings.Cut(after, "/")
		out = append(out, Index{CollectionGroup: group, QueryScope: r.Index.QueryScope, Fields: r.Index.Fields})
	}
	return out, nil
}

// TestFirestoreIndexes runs every query shape of the Firestore driver
// (firestore.RunQueryShapes, and every filter subset through the public API)
// on the emulator and checks that config/firestore/firestore.indexes.json serves
// each composite index the emulator reports as needed, and that it declares
// no index no query uses.
func TestFirestoreIndexes(t *testing.T) {
	host := os.Getenv("FIRESTORE_EMULATOR_HOST")
	if host == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("FIRESTORE_EMULATOR_HOST is not set: CI must run the index check (eval \"$(hack/emulator.sh start)\")")
		}
		t.Skip("FIRESTORE_EMULATOR_HOST is not set (eval \"$(hack/emulator.sh start)\" to run the index check)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// A fresh project id per run: indexUsage accumulates per project and
	// clearing documents does not reset it.
	project := fmt.Sprintf("slipway-hack-knative-%d", time.Now().UnixNano())
	client, err := fs.NewClient(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	defer fstest.Clear(context.Background(), host, project) //nolint:errcheck // best effort
	d := firestore.NewDriver(ctx, client, firestore.Options{})
	// The driver's own list of its query shapes, then every filter subset of
	// the public API (which production serves by index merging).
	if err := firestore.RunQueryShapes(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := exerciseStore(ctx, store.New(d)); err != nil {
		t.Fatal(err)
	}
	needed, err := indexUsage(ctx, host, project)
	if err != nil {
		t.Fatal(err)
	}
	if len(needed) == 0 {
		t.Fatal("the emulator reports no composite index needed: the queries did not run, or indexUsage changed")
	}
	cfg := readIndexConfig(t)
	used := map[int]bool{}
	for _, n := range needed {
		ok, by := Served(n, cfg.Indexes)
		if !ok {
			t.Errorf("no index in %s serves the query needing %s", IndexFile, n.normalize())
		}
		for _, i := range by {
			used[i] = true
		}
	}
	var unused []string
	for i, d := range cfg.Indexes {
		if !used[i] {
			unused = append(unused, d.String())
		}
	}
	sort.Strings(unused)
	for _, u := range unused {
		t.Errorf("%s declares %s, which no query needs (it costs a write per document)", IndexFile, u)
	}
	t.Logf("%d composite index shapes needed, served by %d declared indexes", len(needed), len(cfg.Indexes))
}

// TestServed pins the merge rule on examples.
func TestServed(t *testing.T) {
	f := func(group string, pairs ...string) Index {
		x := Index{CollectionGroup: group, QueryScope: "COLLECTION"}
		for i := 0; i < len(pairs); i += 2 {
			x.Fields = append(x.Fields, IndexField{pairs[i], pairs[i+1]})
		}
		return x
	}
	const A, D = "ASCENDING", "DESCENDING"
	declared := []Index{
		f("runs", "project", A, "triggeredAt", D),
		f("runs", "stage", A, "triggeredAt", D),
		f("runs", "project", A, "stage", A, "uri", A),
	}
	cases := map[string]struct {
		need Index
		want bool
	}{
		"exact":                  {f("runs", "project", A, "triggeredAt", D, "__name__", D), true},
		"merged":                 {f("runs", "project", A, "stage", A, "triggeredAt", D, "__name__", D), true},
		"missing one field":      {f("runs", "project", A, "state", A, "triggeredAt", D, "__name__", D), false},
		"other direction":        {f("runs", "project", A, "triggeredAt", A, "__name__", A), false},
		"other collection":       {f("events", "project", A, "triggeredAt", D, "__name__", D), false},
		"equality order differs": {f("runs", "stage", A, "project", A, "uri", A, "__name__", A), true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got, _ := Served(c.need, declared); got != c.want {
				t.Errorf("Served(%s) = %v, want %v", c.need, got, c.want)
			}
		})
	}
}
