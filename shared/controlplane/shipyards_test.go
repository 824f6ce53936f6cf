package controlplane_test

import (
	"testing"
	"time"

	"github.com/slipwayhq/slipway/shared/controlplane"
	"github.com/slipwayhq/slipway/shared/store"
)

// TestStoreShipyardsFollowsTheFile: a parsed shipyard is reused while the
// file is unchanged and parsed again once it changes.
func TestStoreShipyardsFollowsTheFile(t *testing.T) {
	st := drivers["embedded"](t)
	seedProject(t, st, "o", oneTask)
	y := &controlplane.StoreShipyards{Store: st}
	first, err := y.Shipyard(t.Context(), "o")
	if err != nil {
		t.Fatal(err)
	}
	again, err := y.Shipyard(t.Context(), "o")
	if err != nil || again != first {
		t.Fatalf("unchanged file parsed again (%p, %p, %v)", first, again, err)
	}
	changed := `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: o}
spec:
  stages:
    - name: prod
      sequences: [{name: delivery, tasks: [{name: release}]}]
`
	if err := st.PutResource(t.Context(), &store.Resource{Project: "o", URI: "shipyard.yaml", Content: []byte(changed), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	now, err := y.Shipyard(t.Context(), "o")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := now.Stage("prod"); !ok {
		t.Fatalf("changed shipyard not seen: %+v", now.Spec.Stages)
	}
	if _, err := y.Shipyard(t.Context(), "missing"); err == nil {
		t.Fatal("unknown project: no error")
	}
}
