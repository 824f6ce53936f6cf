package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

const claimShipyard = `apiVersion: spec.keptn.sh/0.2.3
kind: Shipyard
metadata: {name: claims}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          tasks: [{name: once}]
`

// TestRedeliveredTriggeredRunsOnce: the generic executor claims a task
// through the API before running its script, and the claim lives in the
// store, so a .triggered redelivered after a restart of the runtime (a
// fresh in-memory dedupe) does not run the script again.
func TestRedeliveredTriggeredRunsOnce(t *testing.T) {
	s := start(t, "")
	s.createProject("claims", claimShipyard, "svc")
	s.exResource("claims", "dev", "", "generic-executor/once.triggered.sh", "#!/usr/bin/env bash\necho '{\"ran\":true}'\n")
	kctx := s.trigger("claims", "dev", "delivery", "svc", nil)
	s.waitState("claims", kctx, "finished")
	trig := s.exTaskEvent("claims", kctx, "once", "triggered")
	if n := len(s.history("claims", kctx, "sh.keptn.event.once.started")); n != 1 {
		t.Fatalf("%d once.started before the redelivery, want 1", n)
	}

	s.restart()
	// The broker delivers the same .triggered again (structured mode, the
	// stored event as it was).
	raw, err := json.Marshal(map[string]any{"specversion": "1.0", "id": trig.ID, "type": trig.Type, "source": trig.Source,
		"shkeptncontext": trig.Shkeptncontext, "datacontenttype": "application/json", "data": trig.Data})
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(s.Broker, "application/cloudevents+json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		t.Fatalf("broker answered %d", res.StatusCode)
	}
	s.eventually("the executor saw the redelivery and skipped it", func() bool {
		return strings.Contains(s.logText(), "task already claimed")
	})
	if n := len(s.history("claims", kctx, "sh.keptn.event.once.started")); n != 1 {
		t.Fatalf("%d once.started after the redelivery, want 1 (the script ran again)", n)
	}
}
