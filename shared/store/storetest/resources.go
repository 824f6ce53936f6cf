package storetest

// Resources and the size limit.

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/slipwayhq/slipway/shared/store"
)

func testResources(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ctx := t.Context()
	res := []*store.Resource{
		{Project: "p", URI: "shipyard.yaml"},
		{Project: "p", URI: "metadata.yaml"},
		{Project: "p", Stage: "dev", URI: "slo.yaml"},
		{Project: "p", Stage: "dev", Service: "carts", URI: "generic-executor/deployment.triggered.sh"},
		{Project: "p", Stage: "dev", Service: "carts", URI: "generic-executor/a.sh"},
		{Project: "p", Stage: "dev", Service: "carts", URI: "helm/carts.tgz"},
		{Project: "p", Stage: "dev", Service: "carts", URI: "b.yaml"},
		{Project: "p", Stage: "dev", Service: "orders", URI: "b.yaml"},
		{Project: "q", URI: "shipyard.yaml"},
	}
	for i, r := range res {
		r.Content = []byte(fmt.Sprintf("content %d of %s", i, r.URI))
		r.UpdatedAt = at(i)
		must(t, "put", s.PutResource(ctx, r))
	}
	// Put overwrites.
	res[0].Content, res[0].UpdatedAt = []byte("shipyard v2"), at(50)
	must(t, "overwrite", s.PutResource(ctx, res[0]))

	for _, r := range res {
		got, err := s.GetResource(ctx, r.Project, r.Stage, r.Service, r.URI)
		if err != nil {
			t.Errorf("GetResource(%s %s %s %s): %v", r.Project, r.Stage, r.Service, r.URI, err)
			continue
		}
		g := *got
		g.UpdatedAt = normTime(g.UpdatedAt)
		if !reflect.DeepEqual(g, *r) {
			t.Errorf("GetResource:\n got %+v\nwant %+v", g, *r)
		}
	}
	_, err := s.GetResource(ctx, "p", "", "", "missing.yaml")
	wantNotFound(t, "GetResource(missing)", err)
	_, err = s.GetResource(ctx, "p", "dev", "", "shipyard.yaml")
	wantNotFound(t, "GetResource at the wrong level", err)

	tests := map[string]struct {
		project, stage, service string
		want                    []string
	}{
		"project level": {"p", "", "", []string{"metadata.yaml", "shipyard.yaml"}},
		"stage level":   {"p", "dev", "", []string{"slo.yaml"}},
		"service level": {"p", "dev", "carts", []string{"b.yaml", "generic-executor/a.sh", "generic-executor/deployment.triggered.sh", "helm/carts.tgz"}},
		"other service": {"p", "dev", "orders", []string{"b.yaml"}},
		"empty level":   {"p", "prod", "", nil},
		"other project": {"q", "", "", []string{"shipyard.yaml"}},
	}
	for name, tc := range tests {
		for _, size := range pageSizes {
			got := collect(t, size, func(p store.Page) ([]*store.Resource, string, error) {
				return s.ListResources(ctx, tc.project, tc.stage, tc.service, p)
			})
			var uris []string
			for _, r := range got {
				uris = append(uris, r.URI)
				if r.Project != tc.project || r.Stage != tc.stage || r.Service != tc.service || len(r.Content) == 0 {
					t.Errorf("%s: listed resource %+v", name, r)
				}
			}
			checkIDs(t, fmt.Sprintf("%s size %d", name, size), uris, tc.want)
		}
	}

	must(t, "delete", s.DeleteResource(ctx, "p", "dev", "carts", "helm/carts.tgz"))
	_, err = s.GetResource(ctx, "p", "dev", "carts", "helm/carts.tgz")
	wantNotFound(t, "GetResource after delete", err)
	wantNotFound(t, "DeleteResource again", s.DeleteResource(ctx, "p", "dev", "carts", "helm/carts.tgz"))
	if _, err := s.GetResource(ctx, "p", "dev", "orders", "b.yaml"); err != nil {
		t.Errorf("sibling resource after delete: %v", err)
	}
}

func testTooLarge(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ctx := t.Context()
	big := bytes.Repeat([]byte("x"), store.MaxBody+1)
	wantTooLarge := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrTooLarge) {
			t.Errorf("%s: err = %v, want ErrTooLarge", what, err)
		}
	}
	wantTooLarge("PutRun", s.Update(ctx, func(tx store.Tx) error {
		return tx.PutRun(&store.Run{ID: "r", Project: "p", TriggeredAt: at(0), Body: big})
	}))
	_, err := s.GetRun(ctx, "r")
	wantNotFound(t, "GetRun after a rejected PutRun", err)
	wantTooLarge("PutLane", s.Update(ctx, func(tx store.Tx) error {
		return tx.PutLane(&store.Lane{Key: store.LaneKey{Project: "p"}, Body: big})
	}))
	wantTooLarge("PutContext", s.Update(ctx, func(tx store.Tx) error {
		return tx.PutContext(&store.Context{Project: "p", KeptnContext: "c", Body: big})
	}))
	wantTooLarge("CreateProject", s.CreateProject(ctx, &store.Project{Name: "big", Body: big}))
	_, err = s.GetProject(ctx, "big")
	wantNotFound(t, "GetProject after a rejected CreateProject", err)
	must(t, "create", s.CreateProject(ctx, &store.Project{Name: "p", Body: []byte("small")}))
	wantTooLarge("UpdateProject", s.UpdateProject(ctx, "p", func(p *store.Project) error {
		p.Body = big
		return nil
	}))
	wantTooLarge("AppendEvent", s.AppendEvent(ctx, &store.Event{ID: "e", Time: at(0), Body: big}))
	wantTooLarge("PutResource", s.PutResource(ctx, &store.Resource{Project: "p", URI: "big", Content: big}))

	// Exactly MaxBody fits.
	fits := &store.Run{ID: "max", Project: "p", TriggeredAt: at(0), Body: big[:store.MaxBody]}
	putRuns(t, s, fits)
	got, err := s.GetRun(ctx, "max")
	must(t, "get max", err)
	if len(got.Body) != store.MaxBody {
		t.Errorf("MaxBody run has %d bytes", len(got.Body))
	}
}
