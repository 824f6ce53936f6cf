package keptnclient

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/keptn/go-utils/pkg/api/models"
	apiutils "github.com/keptn/go-utils/pkg/api/utils"
	keptnv2 "github.com/keptn/go-utils/pkg/lib/v0_2_0"
)

// recorder notes the method and path of every request a client sends.
type recorder struct {
	mu   sync.Mutex
	reqs []string
	next http.RoundTripper
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Method+" "+req.URL.Path)
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// keptnCLIEndpoint is what Keptn 1.4.5's `keptn auth --endpoint=X` keeps:
// cli/cmd/auth.go addCorrectHttpPrefix (http:// unless https:// or
// --secure) and cli/cmd/authenticator.go Auth (path "" or "/" becomes /api).
func keptnCLIEndpoint(t *testing.T, flag string) url.URL {
	t.Helper()
	prefix := "http://"
	if strings.HasPrefix(flag, "https://") {
		prefix = "https://"
	}
	raw := prefix + strings.TrimPrefix(strings.TrimPrefix(flag, "https://"), "http://")
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/api"
	}
	return *u
}

// TestKeptnCLIRequests replays what Keptn 1.4.5's CLI (keptn/keptn cli/,
// built on go-utils v0.20.4 like this module) sends for
//
//	keptn auth --endpoint=... --api-token=...         (cli/cmd/auth.go, cli/cmd/authenticator.go)
//	the version check before every command             (cli/cmd/root.go runVersionCheck, cli/cmd/version.go getKeptnServerVersion)
//	keptn create project / create service              (cli/cmd/create_project.go, cli/cmd/create_service.go)
//	keptn trigger delivery --project --service --image (cli/cmd/trigger_delivery.go doTriggerDelivery)
//	keptn send event approval.finished --id            (cli/cmd/send_event_approvalFinished.go sendEvent)
//
// with the same go-utils calls and event construction, through the API set
// the CLI builds (cli/internal/api.go getAPISet: apiutils.New(endpoint,
// WithAuthToken(token), WithHTTPClient(...))). The real binary cannot run
// here (it needs a Kubernetes context for some commands and is not in a
// package registry we may use); this checks every request it would send.
func TestKeptnCLIRequests(t *testing.T) {
	s := start(t)
	rec := &recorder{next: http.DefaultTransport}
	host := strings.TrimPrefix(s.URL, "http://")

	for name, flag := range map[string]string{
		"host only":         host,             // keptn auth --endpoint=127.0.0.1:port
		"http without /api": "http://" + host, // → /api added
		"http with /api":    "http://" + host + "/api",
		"http with slash":   "http://" + host + "/",
	} {
		t.Run("auth "+name, func(t *testing.T) {
			ep := keptnCLIEndpoint(t, flag)
			if ep.String() != s.URL+"/api" {
				t.Fatalf("endpoint %q became %q", flag, ep.String())
			}
			api, err := apiutils.New(ep.String(), apiutils.WithAuthToken(s.Token), apiutils.WithHTTPClient(&http.Client{Transport: rec}))
			if err != nil {
				t.Fatal(err)
			}
			if _, aerr := api.AuthV1().Authenticate(); aerr != nil {
				t.Fatalf("Authenticate: %s", msg(aerr))
			}
			md, merr := api.APIV1().GetMetadata()
			if merr != nil {
				t.Fatalf("GetMetadata: %s", msg(merr))
			}
			// cli/pkg/version/keptn_version_checker.go compares this with the
			// CLI's own version; 1.4.5 = no mismatch warning for a 1.4.5 CLI.
			if md.Keptnversion != "1.4.5" {
				t.Fatalf("keptnversion = %q", md.Keptnversion)
			}
			if got := rec.take(); strings.Join(got, ",") != "POST /api/v1/auth,GET /api/v1/metadata" {
				t.Fatalf("requests = %v", got)
			}
		})
	}

	t.Run("auth with a wrong token", func(t *testing.T) {
		api, _ := apiutils.New(s.URL+"/api", apiutils.WithAuthToken("wrong"), apiutils.WithHTTPClient(&http.Client{Transport: rec}))
		_, aerr := api.AuthV1().Authenticate()
		// The CLI prints "authentication was not successful: " + *err.Message.
		if aerr == nil || aerr.Message == nil || *aerr.Message != "unauthenticated or invalid credentials" {
			t.Fatalf("Authenticate with a wrong token: %s", msg(aerr))
		}
		rec.take()
	})

	api, err := apiutils.New(s.URL+"/api", apiutils.WithAuthToken(s.Token), apiutils.WithHTTPClient(&http.Client{Transport: rec}))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("create project and service", func(t *testing.T) {
		// cli/cmd/create_project.go: base64 shipyard in models.CreateProject.
		sy := base64.StdEncoding.EncodeToString([]byte(shipyard))
		if _, e := api.APIV1().CreateProject(models.CreateProject{Name: strp("cliflow"), Shipyard: &sy}); e != nil {
			t.Fatalf("CreateProject: %s", msg(e))
		}
		if _, e := api.APIV1().CreateService("cliflow", models.CreateService{ServiceName: strp("carts")}); e != nil {
			t.Fatalf("CreateService: %s", msg(e))
		}
		if got := rec.take(); strings.Join(got, ",") != "POST /api/controlPlane/v1/project,POST /api/controlPlane/v1/project/cliflow/service" {
			t.Fatalf("requests = %v", got)
		}
	})

	var kctx string
	t.Run("trigger delivery", func(t *testing.T) {
		projectName, service, image, sequence := "cliflow", "carts", "docker.io/keptnexamples/carts:0.13.1", "delivery"
		labels := map[string]string{"buildId": "42"}
		project, perr := api.ProjectsV1().GetProject(models.Project{ProjectName: projectName})
		if perr != nil {
			t.Fatalf("GetProject: %s", msg(perr))
		}
		stage := project.Stages[0].StageName // no --stage: the first stage of the shipyard
		services, serr := api.ServicesV1().GetAllServices(projectName, stage)
		if serr != nil {
			t.Fatalf("GetAllServices: %v", serr)
		}
		found := false
		for _, s := range services { // ServiceInSlice
			found = found || s.ServiceName == service
		}
		if !found {
			t.Fatalf("service %s not in %+v", service, services)
		}
		valuesJSON := map[string]any{"image": image}
		deploymentEvent := keptnv2.DeploymentTriggeredEventData{
			EventData:           keptnv2.EventData{Project: projectName, Stage: stage, Service: service, Labels: labels},
			ConfigurationChange: keptnv2.ConfigurationChange{Values: valuesJSON},
		}
		sdkEvent := cloudevents.NewEvent()
		sdkEvent.SetID(uuid.New().String())
		sdkEvent.SetType(keptnv2.GetTriggeredEventType(stage + "." + sequence))
		sdkEvent.SetSource("https://github.com/keptn/keptn/cli#configuration-change")
		sdkEvent.SetDataContentType(cloudevents.ApplicationJSON)
		if err := sdkEvent.SetData(cloudevents.ApplicationJSON, deploymentEvent); err != nil {
			t.Fatal(err)
		}
		eventByte, err := sdkEvent.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		apiEvent := models.KeptnContextExtendedCE{}
		if err := json.Unmarshal(eventByte, &apiEvent); err != nil {
			t.Fatal(err)
		}
		ec, e := api.APIV1().SendEvent(apiEvent)
		if e != nil {
			t.Fatalf("trigger delivery was unsuccessful. %s", msg(e))
		}
		kctx = *ec.KeptnContext // the CLI prints "ID of Keptn context: " + this
		if got := rec.take(); strings.Join(got, ",") != "GET /api/controlPlane/v1/project/cliflow,"+
			"GET /api/controlPlane/v1/project/cliflow/stage/dev/service,POST /api/v1/event" {
			t.Fatalf("requests = %v", got)
		}

		// --watch: NewDefaultWatcher (cli/cmd/helpers.go) polls EventsV1().GetEvents by context.
		var dep *models.KeptnContextExtendedCE
		eventually(t, "deployment.triggered", func() bool {
			evs, gerr := api.EventsV1().GetEvents(&apiutils.EventFilter{KeptnContext: kctx, Project: projectName})
			if gerr != nil {
				t.Fatalf("GetEvents: %s", msg(gerr))
			}
			for _, ev := range evs {
				if *ev.Type == "sh.keptn.event.deployment.triggered" {
					dep = ev
					return true
				}
			}
			return false
		})
		var data keptnv2.DeploymentTriggeredEventData
		if err := keptnv2.Decode(dep.Data, &data); err != nil {
			t.Fatal(err)
		}
		if data.ConfigurationChange.Values["image"] != image || data.Labels["buildId"] != "42" || data.Stage != "dev" || data.Service != "carts" {
			t.Fatalf("deployment.triggered data = %+v", data)
		}
	})

	t.Run("send event approval.finished", func(t *testing.T) {
		// Take the run to prod's approval as executors would.
		for _, task := range []string{"deployment", "test"} {
			var trig *models.KeptnContextExtendedCE
			eventually(t, task+".triggered", func() bool {
				evs, _ := api.ShipyardControlV1().GetOpenTriggeredEvents(apiutils.EventFilter{Project: "cliflow", EventType: "sh.keptn.event." + task + ".triggered"})
				for _, e := range evs {
					if e.Shkeptncontext == kctx {
						trig = e
					}
				}
				return trig != nil
			})
			fin := keptnv2.EventData{Project: "cliflow", Stage: "dev", Service: "carts", Status: keptnv2.StatusSucceeded, Result: keptnv2.ResultPass}
			sendLikeCLI(t, api, kctx, trig.ID, keptnv2.GetFinishedEventType(task), fin)
		}
		// keptn send event approval.finished --project --stage --id:
		// getApprovalFinishedForService reads the open approval.triggered.
		var appr *models.KeptnContextExtendedCE
		eventually(t, "approval.triggered", func() bool {
			evs, gerr := api.ShipyardControlV1().GetOpenTriggeredEvents(apiutils.EventFilter{Project: "cliflow", Stage: "prod",
				EventType: keptnv2.GetTriggeredEventType(keptnv2.ApprovalTaskName)})
			if gerr != nil {
				t.Fatalf("GetOpenTriggeredEvents: %v", gerr)
			}
			if len(evs) == 1 {
				appr = evs[0]
			}
			return appr != nil
		})
		var trig keptnv2.ApprovalTriggeredEventData
		if err := keptnv2.Decode(appr.Data, &trig); err != nil {
			t.Fatal(err)
		}
		sendLikeCLI(t, api, appr.Shkeptncontext, appr.ID, keptnv2.GetFinishedEventType(keptnv2.ApprovalTaskName), keptnv2.ApprovalFinishedEventData{
			EventData: keptnv2.EventData{Project: trig.Project, Stage: trig.Stage, Service: trig.Service, Labels: trig.Labels,
				Status: keptnv2.StatusSucceeded, Result: keptnv2.ResultPass}})
		eventually(t, "release.triggered after the approval", func() bool {
			evs, _ := api.ShipyardControlV1().GetOpenTriggeredEvents(apiutils.EventFilter{Project: "cliflow", EventType: "sh.keptn.event.release.triggered"})
			return len(evs) == 1 && evs[0].Shkeptncontext == kctx
		})
	})
}

// sendLikeCLI builds an event as cli/cmd/send_event_approvalFinished.go
// sendEvent does: a CloudEvent with the Keptn extensions, marshalled and
// read back into models.KeptnContextExtendedCE.
func sendLikeCLI(t *testing.T, api *apiutils.APISet, keptnContext, triggeredID, eventType string, data any) {
	t.Helper()
	source, _ := url.Parse("https://github.com/keptn/keptn/cli#" + eventType)
	ev := cloudevents.NewEvent()
	ev.SetID(uuid.New().String())
	ev.SetType(eventType)
	ev.SetSource(source.String())
	ev.SetDataContentType(cloudevents.ApplicationJSON)
	ev.SetExtension("shkeptncontext", keptnContext)
	ev.SetExtension("triggeredid", triggeredID)
	if err := ev.SetData(cloudevents.ApplicationJSON, data); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var apiEvent models.KeptnContextExtendedCE
	if err := json.Unmarshal(raw, &apiEvent); err != nil {
		t.Fatal(err)
	}
	if _, e := api.APIV1().SendEvent(apiEvent); e != nil {
		t.Fatalf("Send %s was unsuccessful. %s", eventType, msg(e))
	}
}
