package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/slipwayhq/slipway/shared/keptn"
)

func evBody(typ string, data map[string]any, extra map[string]any) map[string]any {
	b := map[string]any{"type": typ, "source": "my-ci", "specversion": "1.0", "data": data}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

var scope = map[string]any{"project": "p", "stage": "dev", "service": "carts"}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func TestPostEvent_Validation(t *testing.T) {
	tid := map[string]any{"triggeredid": "t1"}
	for _, tc := range []struct {
		name   string
		body   any
		status int
		msg    string
	}{
		{"sequence triggered", evBody("sh.keptn.event.dev.delivery.triggered", scope, nil), 200, ""},
		{"task started", evBody("sh.keptn.event.deployment.started", scope, tid), 200, ""},
		{"task status.changed", evBody("sh.keptn.event.deployment.status.changed", scope, tid), 200, ""},
		{"task finished", evBody("sh.keptn.event.deployment.finished", with(scope, "result", "pass", "status", "succeeded"), tid), 200, ""},
		{"invalidated", evBody("sh.keptn.event.evaluation.invalidated", map[string]any{}, nil), 200, ""},
		{"log error", evBody("sh.keptn.log.error", map[string]any{"message": "x"}, nil), 200, ""},
		{"problem", evBody("sh.keptn.events.problem", map[string]any{}, nil), 200, ""},
		{"monitoring configure", evBody("sh.keptn.event.monitoring.configure", map[string]any{"project": "p", "type": "prometheus"}, nil), 200, ""},
		{"monitoring configure without type", evBody("sh.keptn.event.monitoring.configure", map[string]any{"project": "p"}, nil), 400, "data.type"},
		{"stage mismatch", evBody("sh.keptn.event.prod.delivery.triggered", scope, nil), 400, "stage name in event data and in event type does not match"},
		{"sequence finished from outside", evBody("sh.keptn.event.dev.delivery.finished", scope, nil), 400, "unknown event type"},
		{"missing service", evBody("sh.keptn.event.dev.delivery.triggered", map[string]any{"project": "p", "stage": "dev"}, nil), 400, "data.service"},
		{"task triggered from outside", evBody("sh.keptn.event.deployment.triggered", scope, nil), 400, "unknown event type"},
		{"started without triggeredid", evBody("sh.keptn.event.deployment.started", scope, nil), 400, "triggeredid"},
		{"finished without result", evBody("sh.keptn.event.deployment.finished", with(scope, "status", "succeeded"), tid), 400, "data.result"},
		{"not keptn", evBody("com.example.thing", scope, nil), 400, "unknown event type"},
		{"too many segments", evBody("sh.keptn.event.a.b.c.d", scope, nil), 400, "unknown event type"},
		{"missing type", map[string]any{"source": "x", "data": scope}, 400, "type is required"},
		{"missing data", map[string]any{"type": "sh.keptn.event.dev.delivery.triggered", "source": "x"}, 400, "data is required"},
		{"data not object", map[string]any{"type": "sh.keptn.event.dev.delivery.triggered", "data": []int{1}}, 400, "data must be a JSON object"},
		{"type not string", map[string]any{"type": 5, "data": scope}, 400, "type must be a string"},
		{"not json", "{nope", 400, "not a JSON object"},
		{"array body", "[]", 400, "not a JSON object"},
		{"trailing data", `{"type":"sh.keptn.log.error","data":{}} {}`, 400, "trailing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			w := e.do(t, "POST", "/api/v1/event", tc.body)
			if tc.status != 200 {
				wantError(t, w, tc.status, tc.msg)
				if len(e.pub.events) != 0 {
					t.Fatal("rejected event was published")
				}
				return
			}
			wantStatus(t, w, 200)
			if len(e.pub.events) != 1 {
				t.Fatalf("published %d events", len(e.pub.events))
			}
		})
	}
}

func TestPostEvent_ValidationDisabled(t *testing.T) {
	e := newEnv(t, Config{SkipEventValidation: true})
	wantStatus(t, e.do(t, "POST", "/api/v1/event", evBody("sh.keptn.event.deployment.triggered", map[string]any{}, nil)), 200)
	wantStatus(t, e.do(t, "POST", "/api/v1/event", map[string]any{"type": "sh.keptn.event.x.finished"}), 200)
	// The envelope is still checked.
	wantError(t, e.do(t, "POST", "/api/v1/event", map[string]any{"data": scope}), 400, "type is required")
}

func TestPostEvent_Envelope(t *testing.T) {
	e := newEnv(t, Config{})
	clientID := "6f1f3c4e-9d0b-4c6a-8d1e-0d3f5f7a9b11"
	w := e.do(t, "POST", "/api/v1/event", evBody("sh.keptn.event.dev.delivery.triggered", scope, map[string]any{
		"id": clientID, "time": "1999-01-01T00:00:00Z", "gitcommitid": "abc", "myext": "v", "Bad-Name": "x",
		"contenttype": "application/json",
	}))
	wantStatus(t, w, 200)
	got := decode[map[string]string](t, w)
	ev := e.pub.last()
	if ev.ID() != clientID {
		t.Fatalf("client UUID id not kept: %s", ev.ID())
	}
	if !ev.Time().Equal(t0) {
		t.Fatalf("time %v, want clock %v", ev.Time(), t0)
	}
	if got["keptnContext"] == "" || got["keptnContext"] != keptn.Context(ev) {
		t.Fatalf("keptnContext %q vs event %q", got["keptnContext"], keptn.Context(ev))
	}
	if keptn.GitCommitID(ev) != "abc" || keptn.Ext(ev, "myext") != "v" || keptn.Ext(ev, keptn.ExtSpecVersion) != keptn.SpecVersion {
		t.Fatalf("extensions %v", ev.Extensions())
	}
	if ev.Source() != "my-ci" || ev.DataContentType() != "application/json" {
		t.Fatalf("source %q content type %q", ev.Source(), ev.DataContentType())
	}
	var data map[string]any
	if err := json.Unmarshal(ev.Data(), &data); err != nil || data["service"] != "carts" {
		t.Fatalf("data %s", ev.Data())
	}

	// A non-UUID id is replaced; a missing source gets Keptn's API source.
	w = e.do(t, "POST", "/api/v1/event", map[string]any{"id": "not-a-uuid", "type": "sh.keptn.event.dev.delivery.triggered", "data": scope})
	wantStatus(t, w, 200)
	if ev := e.pub.last(); ev.ID() == "not-a-uuid" || ev.Source() != APISource {
		t.Fatalf("id %q source %q", ev.ID(), ev.Source())
	}
}

func TestKeptnContextFor(t *testing.T) {
	newID := func() string { return "fresh" }
	u := "a3e5f16d-8888-4720-82c7-6995062905c1"
	for _, tc := range []struct{ name, in, want string }{
		{"empty gets a new one", "", "fresh"},
		{"uuid kept", u, u},
		// Keptn: the string (padded to 16) is the random source of a v4 UUID.
		{"16 bytes", "abcdefghijklmnop", "61626364-6566-4768-a96a-6b6c6d6e6f70"},
		{"longer uses first 16", "abcdefghijklmnopqrstuvwxyz", "61626364-6566-4768-a96a-6b6c6d6e6f70"},
		{"short is space padded", "abc", "61626320-2020-4020-a020-202020202020"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := keptnContextFor(tc.in, newID); got != tc.want {
				t.Fatalf("got %s want %s", got, tc.want)
			}
		})
	}
	a, b := keptnContextFor("build-42", newID), keptnContextFor("build-43", newID)
	if a == b || a != keptnContextFor("build-42", newID) {
		t.Fatal("derivation must be deterministic and distinguish strings")
	}
	if _, err := uuid.Parse(a); err != nil {
		t.Fatal(err)
	}
}

func TestPostEvent_SizeLimitAndPublishFailure(t *testing.T) {
	e := newEnv(t, Config{})
	big := strings.Repeat("x", 65<<10)
	w := e.do(t, "POST", "/api/v1/event", evBody("sh.keptn.event.dev.delivery.triggered", with(scope, "blob", big), nil))
	wantError(t, w, http.StatusRequestEntityTooLarge, "larger than 65536")

	e2 := newEnv(t, Config{MaxEventSizeKB: 128})
	wantStatus(t, e2.do(t, "POST", "/api/v1/event", evBody("sh.keptn.event.dev.delivery.triggered", with(scope, "blob", big), nil)), 200)

	e.pub.fail = true
	wantError(t, e.do(t, "POST", "/api/v1/event", evBody("sh.keptn.event.dev.delivery.triggered", scope, nil)), 500, "could not send event")
}

func TestMetadata(t *testing.T) {
	e := newEnv(t, Config{})
	m := decode[map[string]any](t, e.do(t, "GET", "/api/v1/metadata", nil))
	if m["keptnversion"] != "1.4.5" || m["namespace"] != "keptn" {
		t.Fatalf("metadata %v", m)
	}
}

// FuzzEventValidation: any body either is refused or becomes a valid
// CloudEvent that passes validation again.
func FuzzEventValidation(f *testing.F) {
	for _, s := range []string{
		`{"type":"sh.keptn.event.dev.delivery.triggered","source":"x","data":{"project":"p","stage":"dev","service":"s"}}`,
		`{"type":"sh.keptn.event.deployment.finished","triggeredid":"t","data":{"project":"p","stage":"dev","service":"s","result":"pass","status":"succeeded"}}`,
		`{"type":"sh.keptn.event.a.status.changed","shkeptncontext":"abc","id":"x","ext1":1.5,"data":{}}`,
		`{"type":"sh.keptn.log.error","data":null}`, `[]`, `{"type":""}`, `{"type":"sh.keptn.event..x"}`,
	} {
		f.Add([]byte(s))
	}
	a := New(Config{}, Deps{}).(*api)
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := parseIncoming(body)
		if err != nil {
			return
		}
		valid := validateEvent(in) == nil
		e, err := a.buildEvent(in)
		if err != nil {
			if valid {
				// A validated event must always build.
				t.Fatalf("validated event failed to build: %v (%s)", err, body)
			}
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("built event invalid: %v", err)
		}
		if _, err := uuid.Parse(keptn.Context(e)); err != nil {
			t.Fatalf("context %q is not a UUID", keptn.Context(e))
		}
		if valid {
			if _, _, err := keptn.DecodeData(e); err != nil {
				t.Fatalf("validated event has undecodable data: %v", err)
			}
		}
	})
}
