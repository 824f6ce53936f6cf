package controlplane_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/store"
)

func seedProject(t testing.TB, st store.Store, name, shipyardYAML string) {
	t.Helper()
	ctx := context.Background()
	if err := st.CreateProject(ctx, &store.Project{Name: name, CreatedAt: time.Now(), Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutResource(ctx, &store.Resource{Project: name, URI: "shipyard.yaml", Content: []byte(shipyardYAML), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

func decode(t *testing.T, rec *store.Run) *engine.Run {
	t.Helper()
	var r engine.Run
	if err := json.Unmarshal(rec.Body, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

var page0 = store.Page{}

func storeQuery(project string) store.RunQuery { return store.RunQuery{Project: project} }
