package e2e

import (
	"crypto/sha1" //nolint:gosec // Keptn's integration id is a SHA-1 digest
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

type e2eSubscription struct {
	ID     string `json:"id"`
	Event  string `json:"event"`
	Filter struct {
		Projects []string `json:"projects"`
		Stages   []string `json:"stages"`
		Services []string `json:"services"`
	} `json:"filter"`
}

type e2eIntegration struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	MetaData struct {
		Hostname           string    `json:"hostname"`
		IntegrationVersion string    `json:"integrationversion"`
		DistributorVersion string    `json:"distributorversion"`
		LastSeen           time.Time `json:"lastseen"`
		KubernetesMetaData struct {
			Namespace string `json:"namespace"`
		} `json:"kubernetesmetadata"`
	} `json:"metadata"`
	Subscriptions []e2eSubscription `json:"subscriptions"`
}

// sdkRegistration is the body the Keptn go-sdk (remote mode) posts: its
// RegistrationData with subscriptions from PUBSUB_TOPIC, null filters, an
// empty id and a zero lastseen.
func sdkRegistration(version string, topics ...string) map[string]any {
	subs := []map[string]any{}
	for _, topic := range topics {
		subs = append(subs, map[string]any{"id": "", "event": topic,
			"filter": map[string]any{"projects": nil, "stages": nil, "services": nil}})
	}
	return map[string]any{"id": "", "name": "echo-service", "metadata": map[string]any{
		"hostname": "node-1", "integrationversion": version, "distributorversion": "0.15.0", "location": "remote-plane",
		"kubernetesmetadata": map[string]any{"namespace": "keptn-exec", "podname": "echo-service-abc", "deploymentname": "echo-service"},
		"lastseen":           "0001-01-01T00:00:00Z",
	}, "subscriptions": subs}
}

// TestUniformIntegration drives the uniform and log endpoints the way a
// go-sdk integration in remote mode does, plus an operator's subscription edits.
func TestUniformIntegration(t *testing.T) {
	s := start(t, "")
	const reg = "/api/controlPlane/v1/uniform/registration"
	sum := sha1.Sum([]byte("echo-service-keptn-exec-node-1")) //nolint:gosec // see import
	wantID := hex.EncodeToString(sum[:])

	// Register: 201 and Keptn's id.
	var idOut struct {
		ID string `json:"id"`
	}
	s.mustDo("POST", reg, sdkRegistration("1.0.0", "sh.keptn.event.echo.triggered"), &idOut, http.StatusCreated)
	id := idOut.ID
	if id != wantID {
		t.Fatalf("id %q, want %q", id, wantID)
	}

	// Ping (every 5 s in the SDK): the integration with its subscriptions.
	var pinged e2eIntegration
	s.mustDo("PUT", reg+"/"+id+"/ping", nil, &pinged, http.StatusOK)
	if pinged.ID != id || pinged.MetaData.LastSeen.IsZero() || time.Since(pinged.MetaData.LastSeen) > time.Minute ||
		len(pinged.Subscriptions) != 1 || pinged.Subscriptions[0].ID == "" || pinged.Subscriptions[0].Event != "sh.keptn.event.echo.triggered" {
		t.Fatalf("ping answer %+v", pinged)
	}

	// An operator adds, updates and deletes a subscription.
	var subOut struct {
		ID string `json:"id"`
	}
	s.mustDo("POST", reg+"/"+id+"/subscription", map[string]any{"event": "sh.keptn.event.deployment.triggered",
		"filter": map[string]any{"projects": []string{"sockshop"}, "stages": []string{"dev"}, "services": []string{"carts"}}}, &subOut, http.StatusCreated)
	sid := subOut.ID
	upd := map[string]any{"id": sid, "event": "sh.keptn.event.evaluation.triggered",
		"filter": map[string]any{"projects": []string{"sockshop"}, "stages": []string{"dev", "staging"}, "services": []string{"carts"}}}
	s.mustDo("PUT", reg+"/"+id+"/subscription/"+sid, upd, &subOut, http.StatusCreated)
	var sub e2eSubscription
	s.mustDo("GET", reg+"/"+id+"/subscription/"+sid, nil, &sub, http.StatusOK)
	if sub.ID != sid || sub.Event != "sh.keptn.event.evaluation.triggered" || strings.Join(sub.Filter.Stages, ",") != "dev,staging" {
		t.Fatalf("updated subscription %+v", sub)
	}
	var found []e2eIntegration
	s.mustDo("GET", reg+"?project=sockshop&stage=staging", nil, &found, http.StatusOK)
	if len(found) != 1 || found[0].ID != id {
		t.Fatalf("by filter: %+v", found)
	}
	// The integration sees the change on its next ping.
	s.mustDo("PUT", reg+"/"+id+"/ping", nil, &pinged, http.StatusOK)
	if len(pinged.Subscriptions) != 2 {
		t.Fatalf("ping after add: %+v", pinged.Subscriptions)
	}
	s.mustDo("DELETE", reg+"/"+id+"/subscription/"+sid, nil, nil, http.StatusOK)
	s.mustDo("GET", reg+"/"+id+"/subscription/"+sid, nil, nil, http.StatusNotFound)
	var subs []e2eSubscription
	s.mustDo("GET", reg+"/"+id+"/subscription", nil, &subs, http.StatusOK)
	if len(subs) != 1 {
		t.Fatalf("subscriptions after delete: %+v", subs)
	}

	// A restarted pod registers again with a new version: 200, same id,
	// version updated, the subscriptions it had are kept.
	s.mustDo("POST", reg, sdkRegistration("1.1.0", "sh.keptn.event.other.triggered"), &idOut, http.StatusOK)
	if idOut.ID != id {
		t.Fatalf("re-register id %q", idOut.ID)
	}
	var list []e2eIntegration
	s.mustDo("GET", reg+"?id="+id, nil, &list, http.StatusOK)
	if len(list) != 1 || list[0].MetaData.IntegrationVersion != "1.1.0" || len(list[0].Subscriptions) != 1 ||
		list[0].Subscriptions[0].Event != "sh.keptn.event.echo.triggered" {
		t.Fatalf("after re-register: %+v", list)
	}

	// Logs, as the SDK's log forwarder posts them (no time), and with times.
	const logs = "/api/controlPlane/v1/log"
	s.mustDo("POST", logs, map[string]any{"logs": []map[string]any{
		{"integrationid": id, "message": "deployment failed", "shkeptncontext": "c1", "task": "deployment", "triggeredid": "t1"},
	}}, nil, http.StatusOK)
	old := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	s.mustDo("POST", logs, map[string]any{"logs": []map[string]any{
		{"integrationid": id, "message": "an hour ago", "time": old},
		{"integrationid": "someone-else", "message": "not ours", "time": old.Add(time.Minute)},
	}}, nil, http.StatusOK)
	type logsAnswer struct {
		NextPageKey int64 `json:"nextPageKey"`
		PageSize    int64 `json:"pageSize"`
		TotalCount  int64 `json:"totalCount"`
		Logs        []struct {
			IntegrationID string    `json:"integrationid"`
			Message       string    `json:"message"`
			Time          time.Time `json:"time"`
			KeptnContext  string    `json:"shkeptncontext"`
			Task          string    `json:"task"`
		} `json:"logs"`
	}
	var page logsAnswer
	s.mustDo("GET", logs+"?integrationId="+id, nil, &page, http.StatusOK)
	if page.TotalCount != 2 || len(page.Logs) != 2 || page.Logs[0].Message != "deployment failed" || page.Logs[0].Task != "deployment" ||
		page.Logs[0].Time.IsZero() || page.Logs[1].Message != "an hour ago" || !page.Logs[1].Time.Equal(old) {
		t.Fatalf("logs of the integration: %+v", page)
	}
	s.mustDo("GET", logs+"?integrationId="+id+"&pageSize=1&nextPageKey=1", nil, &page, http.StatusOK)
	if len(page.Logs) != 1 || page.Logs[0].Message != "an hour ago" || page.NextPageKey != 0 || page.TotalCount != 2 {
		t.Fatalf("second page: %+v", page)
	}
	s.mustDo("GET", logs+"?pageSize=1", nil, &page, http.StatusOK)
	if len(page.Logs) != 1 || page.NextPageKey != 1 || page.TotalCount != 3 {
		t.Fatalf("first page of all: %+v", page)
	}
	window := "?fromTime=" + url.QueryEscape(old.Format(time.RFC3339Nano)) + "&beforeTime=" + url.QueryEscape(old.Add(time.Minute).Format("2006-01-02T15:04:05.000Z"))
	s.mustDo("GET", logs+window, nil, &page, http.StatusOK)
	if page.TotalCount != 2 || page.Logs[0].Message != "not ours" || page.Logs[1].Message != "an hour ago" {
		t.Fatalf("time window: %+v", page)
	}
	// Deleting logs is refused, as Keptn's gateway did.
	s.mustDo("DELETE", logs, nil, nil, http.StatusForbidden)

	// Unregister: 200 {}, and gone.
	s.mustDo("DELETE", reg+"/"+id, nil, nil, http.StatusOK)
	s.mustDo("GET", reg+"?id="+id, nil, &list, http.StatusOK)
	if len(list) != 0 {
		t.Fatalf("after unregister: %+v", list)
	}
	s.mustDo("PUT", reg+"/"+id+"/ping", nil, nil, http.StatusNotFound)

	// Without a token: 401 with Keptn's body.
	req, _ := http.NewRequest("GET", s.API+reg, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	if res.StatusCode != http.StatusUnauthorized || body["code"] != float64(401) || body["message"] != "unauthenticated or invalid credentials" {
		t.Fatalf("unauthenticated: %d %s", res.StatusCode, raw)
	}
}
