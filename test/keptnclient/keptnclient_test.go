package keptnclient

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/keptn/go-utils/pkg/api/models"
	apiutils "github.com/keptn/go-utils/pkg/api/utils"
)

const shipyard = `apiVersion: spec.keptn.sh/0.2.4
kind: Shipyard
metadata: {name: goutils}
spec:
  stages:
    - name: dev
      sequences:
        - name: delivery
          tasks: [{name: deployment}, {name: test}]
    - name: prod
      sequences:
        - name: delivery
          triggeredOn: [{event: dev.delivery.finished}]
          tasks:
            - {name: approval, properties: {pass: manual, warning: manual}}
            - {name: release}
`

func strp(s string) *string { return &s }

// apiSet is how Keptn's CLI (cli/internal/api.go) and integrations build
// their client: apiutils.New(<endpoint>/api, WithAuthToken(token)).
func apiSet(t *testing.T, s *slipway, token string) *apiutils.APISet {
	t.Helper()
	api, err := apiutils.New(s.URL+"/api", apiutils.WithAuthToken(token))
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func msg(e *models.Error) string {
	if e == nil {
		return "<nil>"
	}
	if e.Message == nil {
		return fmt.Sprintf("code %d, no message", e.Code)
	}
	return fmt.Sprintf("code %d: %s", e.Code, *e.Message)
}

// TestGoUtilsHandlers drives the go-utils v0.20.4 pkg/api/utils handlers
// against a local runtime and checks what they return.
func TestGoUtilsHandlers(t *testing.T) {
	s := start(t)
	api := apiSet(t, s, s.Token)

	t.Run("auth", func(t *testing.T) {
		if _, err := api.AuthV1().Authenticate(); err != nil {
			t.Fatalf("Authenticate with the token: %s", msg(err))
		}
		_, err := apiSet(t, s, "wrong").AuthV1().Authenticate()
		if err == nil || err.Code != 401 || err.GetMessage() != "unauthenticated or invalid credentials" {
			t.Fatalf("Authenticate with a wrong token: %s", msg(err))
		}
	})

	t.Run("metadata", func(t *testing.T) {
		md, err := api.APIV1().GetMetadata()
		if err != nil {
			t.Fatalf("GetMetadata: %s", msg(err))
		}
		if md.Keptnversion != "1.4.5" || md.Shipyardversion != "0.2.4" || md.Namespace == "" || md.Automaticprovisioning == nil {
			t.Fatalf("metadata = %+v", md)
		}
	})

	t.Run("projects", func(t *testing.T) {
		if _, err := api.APIV1().CreateProject(models.CreateProject{Name: strp("goutils"),
			Shipyard: strp(base64.StdEncoding.EncodeToString([]byte(shipyard)))}); err != nil {
			t.Fatalf("CreateProject: %s", msg(err))
		}
		_, err := api.APIV1().CreateProject(models.CreateProject{Name: strp("goutils"),
			Shipyard: strp(base64.StdEncoding.EncodeToString([]byte(shipyard)))})
		if err == nil || err.Code != 409 {
			t.Fatalf("CreateProject twice: %s, want 409", msg(err))
		}
		p, err := api.ProjectsV1().GetProject(models.Project{ProjectName: "goutils"})
		if err != nil {
			t.Fatalf("GetProject: %s", msg(err))
		}
		if p.ProjectName != "goutils" || len(p.Stages) != 2 || p.Stages[0].StageName != "dev" || p.Stages[1].StageName != "prod" ||
			p.ShipyardVersion != "spec.keptn.sh/0.2.4" {
			t.Fatalf("GetProject = %+v", p)
		}
		_, err = api.ProjectsV1().GetProject(models.Project{ProjectName: "nope"})
		if err == nil || err.Code != 404 || !strings.Contains(err.GetMessage(), "nope") {
			t.Fatalf("GetProject of an unknown project: %s", msg(err))
		}
		all, gerr := api.ProjectsV1().GetAllProjects()
		if gerr != nil || len(all) != 1 || all[0].ProjectName != "goutils" {
			t.Fatalf("GetAllProjects = %+v, %v", all, gerr)
		}
		stages, gerr := api.StagesV1().GetAllStages("goutils")
		if gerr != nil || len(stages) != 2 || stages[1].StageName != "prod" {
			t.Fatalf("GetAllStages = %+v, %v", stages, gerr)
		}
	})

	t.Run("services", func(t *testing.T) {
		if _, err := api.APIV1().CreateService("goutils", models.CreateService{ServiceName: strp("carts")}); err != nil {
			t.Fatalf("CreateService: %s", msg(err))
		}
		if _, err := api.APIV1().CreateService("goutils", models.CreateService{ServiceName: strp("carts")}); err == nil || err.Code != 409 {
			t.Fatalf("CreateService twice: %s, want 409", msg(err))
		}
		svcs, err := api.ServicesV1().GetAllServices("goutils", "prod")
		if err != nil || len(svcs) != 1 || svcs[0].ServiceName != "carts" {
			t.Fatalf("GetAllServices = %+v, %v", svcs, err)
		}
		svc, err := api.ServicesV1().GetService("goutils", "dev", "carts")
		if err != nil || svc.ServiceName != "carts" {
			t.Fatalf("GetService = %+v, %v", svc, err)
		}
		if _, err := api.ServicesV1().GetService("goutils", "dev", "nope"); err == nil {
			t.Fatal("GetService of an unknown service: no error")
		}
		if _, err := api.APIV1().CreateService("goutils", models.CreateService{ServiceName: strp("tmp")}); err != nil {
			t.Fatalf("CreateService tmp: %s", msg(err))
		}
		if _, err := api.APIV1().DeleteService("goutils", "tmp"); err != nil {
			t.Fatalf("DeleteService: %s", msg(err))
		}
		if svcs, _ := api.ServicesV1().GetAllServices("goutils", "dev"); len(svcs) != 1 {
			t.Fatalf("services after DeleteService = %+v", svcs)
		}
	})

	t.Run("resources", func(t *testing.T) {
		content := "spec_version: '1.0'\n"
		uri := "slo.yaml"
		if _, err := api.ResourcesV1().CreateServiceResources("goutils", "dev", "carts", []*models.Resource{
			{ResourceURI: &uri, ResourceContent: base64.StdEncoding.EncodeToString([]byte(content))}}); err != nil {
			t.Fatalf("CreateServiceResources: %v", err)
		}
		r, err := api.ResourcesV1().GetServiceResource("goutils", "dev", "carts", "slo.yaml")
		if err != nil {
			t.Fatalf("GetServiceResource: %v", err)
		}
		if got, _ := base64.StdEncoding.DecodeString(r.ResourceContent); string(got) != content || r.ResourceURI == nil || !strings.HasSuffix(*r.ResourceURI, "slo.yaml") {
			t.Fatalf("GetServiceResource = %q %v", r.ResourceContent, r.ResourceURI)
		}
		all, err := api.ResourcesV1().GetAllServiceResources("goutils", "dev", "carts")
		if err != nil || len(all) != 1 {
			t.Fatalf("GetAllServiceResources = %+v, %v", all, err)
		}
		other := "hooks/x.sh"
		if _, err := api.ResourcesV1().CreateProjectResources("goutils", []*models.Resource{
			{ResourceURI: &other, ResourceContent: base64.StdEncoding.EncodeToString([]byte("echo hi"))}}); err != nil {
			t.Fatalf("CreateProjectResources: %v", err)
		}
		pr, err := api.ResourcesV1().GetProjectResource("goutils", "hooks/x.sh")
		if err != nil {
			t.Fatalf("GetProjectResource: %v", err)
		}
		if got, _ := base64.StdEncoding.DecodeString(pr.ResourceContent); string(got) != "echo hi" {
			t.Fatalf("GetProjectResource = %q", pr.ResourceContent)
		}
		if err := api.ResourcesV1().DeleteProjectResource("goutils", "hooks/x.sh"); err != nil {
			t.Fatalf("DeleteProjectResource: %v", err)
		}
		if _, err := api.ResourcesV1().GetProjectResource("goutils", "hooks/x.sh"); err == nil {
			t.Fatal("resource still there after DeleteProjectResource")
		}
	})

	var kctx string
	t.Run("send event, events by context", func(t *testing.T) {
		id := uuid.NewString()
		ec, err := api.APIV1().SendEvent(models.KeptnContextExtendedCE{
			ID: id, Type: strp("sh.keptn.event.dev.delivery.triggered"), Source: strp("go-utils-test"), Specversion: "1.0",
			Shkeptnspecversion: "0.2.4", Contenttype: "application/json",
			Data: map[string]any{"project": "goutils", "stage": "dev", "service": "carts", "labels": map[string]string{"run": "1"}},
		})
		if err != nil || ec.KeptnContext == nil || *ec.KeptnContext == "" {
			t.Fatalf("SendEvent = %+v, %s", ec, msg(err))
		}
		kctx = *ec.KeptnContext
		var evs []*models.KeptnContextExtendedCE
		eventually(t, "the triggered event in the history", func() bool {
			var gerr *models.Error
			evs, gerr = api.EventsV1().GetEvents(&apiutils.EventFilter{Project: "goutils", KeptnContext: kctx,
				EventType: "sh.keptn.event.dev.delivery.triggered"})
			if gerr != nil {
				t.Logf("GetEvents: %s", msg(gerr))
			}
			return gerr == nil && len(evs) == 1
		})
		if evs[0].ID != id || *evs[0].Source != "go-utils-test" || evs[0].Shkeptncontext != kctx {
			t.Fatalf("GetEvents = %+v", evs[0])
		}
		d, _ := evs[0].Data.(map[string]any)
		if d["service"] != "carts" || fmt.Sprint(d["labels"]) != "map[run:1]" {
			t.Fatalf("event data = %v", evs[0].Data)
		}
		// By context alone: the deployment.triggered the control plane sent.
		eventually(t, "deployment.triggered in the context", func() bool {
			all, gerr := api.EventsV1().GetEvents(&apiutils.EventFilter{KeptnContext: kctx, Project: "goutils"})
			return gerr == nil && slices.ContainsFunc(all, func(e *models.KeptnContextExtendedCE) bool {
				return *e.Type == "sh.keptn.event.deployment.triggered"
			})
		})
		bad, serr := api.APIV1().SendEvent(models.KeptnContextExtendedCE{Type: strp("sh.keptn.event.dev.delivery.triggered"),
			Source: strp("x"), Specversion: "1.0", Data: map[string]any{"project": "goutils", "stage": "prod", "service": "carts"}})
		if serr == nil || serr.Code != 400 || !strings.Contains(serr.GetMessage(), "stage name in event data and in event type does not match") {
			t.Fatalf("SendEvent of an invalid event = %+v, %s", bad, msg(serr))
		}
	})

	// open returns the open .triggered of a task in kctx, polling.
	open := func(t *testing.T, task, kctx string) *models.KeptnContextExtendedCE {
		t.Helper()
		var found *models.KeptnContextExtendedCE
		eventually(t, "open "+task+".triggered", func() bool {
			evs, err := api.ShipyardControlV1().GetOpenTriggeredEvents(apiutils.EventFilter{Project: "goutils",
				EventType: "sh.keptn.event." + task + ".triggered"})
			if err != nil {
				t.Fatalf("GetOpenTriggeredEvents: %v", err)
			}
			for _, e := range evs {
				if e.Shkeptncontext == kctx {
					found = e
					return true
				}
			}
			return false
		})
		return found
	}
	// answer sends .started and .finished as a remote execution plane does.
	answer := func(t *testing.T, trig *models.KeptnContextExtendedCE, result string) {
		t.Helper()
		d, _ := trig.Data.(map[string]any)
		task := strings.TrimSuffix(strings.TrimPrefix(*trig.Type, "sh.keptn.event."), ".triggered")
		for _, kind := range []string{"started", "finished"} {
			data := map[string]any{"project": d["project"], "stage": d["stage"], "service": d["service"], "status": "succeeded"}
			if kind == "finished" {
				data["result"] = result
			}
			if _, err := api.APIV1().SendEvent(models.KeptnContextExtendedCE{ID: uuid.NewString(),
				Type: strp("sh.keptn.event." + task + "." + kind), Source: strp("go-utils-test"), Specversion: "1.0",
				Shkeptncontext: trig.Shkeptncontext, Triggeredid: trig.ID, Data: data}); err != nil {
				t.Fatalf("SendEvent %s.%s: %s", task, kind, msg(err))
			}
		}
	}
	state := func(t *testing.T, kctx string) string {
		var out struct {
			States []struct {
				State string `json:"state"`
			} `json:"states"`
		}
		s.get("/api/controlPlane/v1/sequence/goutils?keptnContext="+kctx, &out)
		if len(out.States) == 0 {
			return ""
		}
		return out.States[0].State
	}

	t.Run("open triggered events, approvals", func(t *testing.T) {
		dep := open(t, "deployment", kctx)
		if d, _ := dep.Data.(map[string]any); d["stage"] != "dev" || dep.ID == "" {
			t.Fatalf("open deployment.triggered = %+v", dep)
		}
		answer(t, dep, "pass")
		answer(t, open(t, "test", kctx), "pass")
		appr := open(t, "approval", kctx)
		if d, _ := appr.Data.(map[string]any); d["stage"] != "prod" {
			t.Fatalf("open approval.triggered = %+v", appr)
		}
		// An approval is answered with approval.finished, as `keptn send
		// event approval.finished` does (cli/cmd/send_event_approvalFinished.go).
		if _, err := api.APIV1().SendEvent(models.KeptnContextExtendedCE{ID: uuid.NewString(),
			Type: strp("sh.keptn.event.approval.finished"), Source: strp("https://github.com/keptn/keptn/cli#sh.keptn.event.approval.finished"),
			Specversion: "1.0", Shkeptncontext: appr.Shkeptncontext, Triggeredid: appr.ID,
			Data: map[string]any{"project": "goutils", "stage": "prod", "service": "carts", "status": "succeeded", "result": "pass"}}); err != nil {
			t.Fatalf("approve: %s", msg(err))
		}
		answer(t, open(t, "release", kctx), "pass")
		eventually(t, "the context finished", func() bool { return state(t, kctx) == "finished" })
		evs, err := api.ShipyardControlV1().GetOpenTriggeredEvents(apiutils.EventFilter{Project: "goutils", EventType: "sh.keptn.event.approval.triggered"})
		if err != nil || len(evs) != 0 {
			t.Fatalf("open approvals after approving = %+v, %v", evs, err)
		}
		// The history is fed by the broker, a moment after the run changed.
		var fin []*models.KeptnContextExtendedCE
		eventually(t, "prod.delivery.finished in the history", func() bool {
			var gerr *models.Error
			fin, gerr = api.EventsV1().GetEvents(&apiutils.EventFilter{Project: "goutils", KeptnContext: kctx, EventType: "sh.keptn.event.prod.delivery.finished"})
			if gerr != nil {
				t.Fatalf("GetEvents: %s", msg(gerr))
			}
			return len(fin) == 1
		})
		if d, _ := fin[0].Data.(map[string]any); d["result"] != "pass" {
			t.Fatalf("prod.delivery.finished data = %v", fin[0].Data)
		}

		// Paging as go-utils does it: nextPageKey is an offset, and
		// NumberOfPages stops once the offset reaches it (Keptn's datastore
		// semantics, which go-utils' EventHandler.getEvents relies on).
		all, gerr := api.EventsV1().GetEvents(&apiutils.EventFilter{Project: "goutils", KeptnContext: kctx, PageSize: "100"})
		if gerr != nil || len(all) < 10 {
			t.Fatalf("GetEvents of the context = %d events, %s", len(all), msg(gerr))
		}
		paged, gerr := api.EventsV1().GetEvents(&apiutils.EventFilter{Project: "goutils", KeptnContext: kctx, PageSize: "2"})
		if gerr != nil || len(paged) != len(all) {
			t.Fatalf("GetEvents in pages of 2 = %d events, %s; want %d", len(paged), msg(gerr), len(all))
		}
		for i := range all {
			if paged[i].ID != all[i].ID {
				t.Fatalf("page order differs at %d: %s vs %s", i, paged[i].ID, all[i].ID)
			}
		}
		three, gerr := api.EventsV1().GetEvents(&apiutils.EventFilter{Project: "goutils", KeptnContext: kctx, PageSize: "1", NumberOfPages: 3})
		if gerr != nil || len(three) != 3 || three[0].ID != all[0].ID || three[2].ID != all[2].ID {
			t.Fatalf("GetEvents, 3 pages of 1 = %d events, %s", len(three), msg(gerr))
		}
	})

	t.Run("sequence control", func(t *testing.T) {
		ec, err := api.APIV1().SendEvent(models.KeptnContextExtendedCE{Type: strp("sh.keptn.event.dev.delivery.triggered"),
			Source: strp("go-utils-test"), Specversion: "1.0", Data: map[string]any{"project": "goutils", "stage": "dev", "service": "carts"}})
		if err != nil {
			t.Fatalf("SendEvent: %s", msg(err))
		}
		c := *ec.KeptnContext
		open(t, "deployment", c)
		for _, step := range []struct{ state, want string }{{"pause", "paused"}, {"resume", "started"}, {"abort", "aborted"}} {
			if err := api.SequencesV1().ControlSequence(apiutils.SequenceControlParams{Project: "goutils", KeptnContext: c, State: step.state}); err != nil {
				t.Fatalf("ControlSequence %s: %v", step.state, err)
			}
			eventually(t, "state "+step.want, func() bool { return state(t, c) == step.want })
		}
		if err := api.SequencesV1().ControlSequence(apiutils.SequenceControlParams{Project: "goutils", KeptnContext: c}); err == nil {
			t.Fatal("ControlSequence without a state: no error")
		}
	})

	t.Run("uniform registration", func(t *testing.T) {
		in := models.Integration{Name: "my-service", MetaData: models.MetaData{Hostname: "node-1", IntegrationVersion: "1.0.0",
			DistributorVersion: "1.0.0", Location: "remote", KubernetesMetaData: models.KubernetesMetaData{Namespace: "keptn", DeploymentName: "my-service"}},
			Subscriptions: []models.EventSubscription{{Event: "sh.keptn.event.deployment.triggered", Filter: models.EventSubscriptionFilter{Projects: []string{"goutils"}}}}}
		id, err := api.UniformV1().RegisterIntegration(in)
		if err != nil || id == "" {
			t.Fatalf("RegisterIntegration = %q, %v", id, err)
		}
		again, err := api.UniformV1().RegisterIntegration(in)
		if err != nil || again != id {
			t.Fatalf("RegisterIntegration again = %q, %v; want %q", again, err, id)
		}
		pinged, err := api.UniformV1().Ping(id)
		if err != nil || pinged.ID != id || pinged.Name != "my-service" || pinged.MetaData.LastSeen.IsZero() {
			t.Fatalf("Ping = %+v, %v", pinged, err)
		}
		sid, err := api.UniformV1().CreateSubscription(id, models.EventSubscription{Event: "sh.keptn.event.test.triggered",
			Filter: models.EventSubscriptionFilter{Projects: []string{"goutils"}, Stages: []string{"dev"}}})
		if err != nil || sid == "" {
			t.Fatalf("CreateSubscription = %q, %v", sid, err)
		}
		regs, err := api.UniformV1().GetRegistrations()
		if err != nil {
			t.Fatalf("GetRegistrations: %v", err)
		}
		i := slices.IndexFunc(regs, func(r *models.Integration) bool { return r.ID == id })
		if i < 0 || len(regs[i].Subscriptions) != 2 || regs[i].MetaData.KubernetesMetaData.Namespace != "keptn" {
			t.Fatalf("GetRegistrations = %+v", regs)
		}
		// Integration logs (the go-sdk's LogForwarder sends through LogsV1).
		api.LogsV1().Log([]models.LogEntry{{IntegrationID: id, Message: "deployed carts", KeptnContext: kctx, Task: "deployment", TriggeredID: "t1"}})
		if err := api.LogsV1().Flush(); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		logs, err := api.LogsV1().GetLogs(models.GetLogsParams{LogFilter: models.LogFilter{IntegrationID: id}})
		if err != nil || len(logs.Logs) != 1 {
			t.Fatalf("GetLogs = %+v, %v", logs, err)
		}
		if l := logs.Logs[0]; l.Message != "deployed carts" || l.KeptnContext != kctx || l.Task != "deployment" || l.Time.IsZero() || logs.TotalCount != 1 {
			t.Fatalf("GetLogs entry = %+v (total %d)", l, logs.TotalCount)
		}
		if err := api.UniformV1().UnregisterIntegration(id); err != nil {
			t.Fatalf("UnregisterIntegration: %v", err)
		}
		if _, err := api.UniformV1().Ping(id); err == nil {
			t.Fatal("Ping after UnregisterIntegration: no error")
		}
	})

	t.Run("secrets", func(t *testing.T) {
		name, scope := "my-token", "keptn-webhook-service"
		sec := models.Secret{Data: map[string]string{"token": "s3cr3t"}, SecretMetadata: models.SecretMetadata{Name: &name, Scope: &scope}}
		if err := api.SecretsV1().CreateSecret(sec); err != nil {
			t.Fatalf("CreateSecret: %v", err)
		}
		if err := api.SecretsV1().CreateSecret(sec); err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("CreateSecret twice: %v", err)
		}
		sec.Data = map[string]string{"token": "n3w", "user": "bot"}
		if err := api.SecretsV1().UpdateSecret(sec); err != nil {
			t.Fatalf("UpdateSecret: %v", err)
		}
		list, err := api.SecretsV1().GetSecrets()
		if err != nil {
			t.Fatalf("GetSecrets: %v", err)
		}
		i := slices.IndexFunc(list.Secrets, func(x models.GetSecretResponseItem) bool { return x.Name != nil && *x.Name == name })
		if i < 0 || list.Secrets[i].Scope == nil || *list.Secrets[i].Scope != scope {
			t.Fatalf("GetSecrets = %+v", list.Secrets)
		}
		keys := slices.Sorted(slices.Values(list.Secrets[i].Keys))
		if !slices.Equal(keys, []string{"token", "user"}) {
			t.Fatalf("secret keys = %v", keys)
		}
		if err := api.SecretsV1().DeleteSecret(name, scope); err != nil {
			t.Fatalf("DeleteSecret: %v", err)
		}
		if list, _ := api.SecretsV1().GetSecrets(); slices.ContainsFunc(list.Secrets, func(x models.GetSecretResponseItem) bool { return *x.Name == name }) {
			t.Fatalf("secret listed after DeleteSecret: %+v", list.Secrets)
		}
	})

	// Handlers whose routes Keptn 1.x's shipyard-controller no longer
	// serves fail here as they failed there; the ones it serves work.
	t.Run("legacy project and stage handlers", func(t *testing.T) {
		if _, err := api.ProjectsV1().CreateProject(models.Project{ProjectName: "legacy"}); err == nil {
			t.Fatal("ProjectsV1().CreateProject without a shipyard: no error")
		}
		if _, err := api.StagesV1().CreateStage("goutils", "extra"); err == nil {
			t.Fatal("StagesV1().CreateStage: no error")
		}
		if _, err := api.ServicesV1().CreateServiceInStage("goutils", "dev", "other"); err == nil {
			t.Fatal("ServicesV1().CreateServiceInStage: no error")
		}
		if _, err := api.APIV1().CreateProject(models.CreateProject{Name: strp("legacy"),
			Shipyard: strp(base64.StdEncoding.EncodeToString([]byte(shipyard)))}); err != nil {
			t.Fatalf("CreateProject legacy: %s", msg(err))
		}
		if _, err := api.ProjectsV1().DeleteProject(models.Project{ProjectName: "legacy"}); err != nil {
			t.Fatalf("ProjectsV1().DeleteProject: %s", msg(err))
		}
		if _, err := api.ProjectsV1().GetProject(models.Project{ProjectName: "legacy"}); err == nil || err.Code != 404 {
			t.Fatalf("GetProject after ProjectsV1().DeleteProject: %s", msg(err))
		}
	})

	t.Run("delete project", func(t *testing.T) {
		if _, err := api.APIV1().DeleteProject(models.Project{ProjectName: "goutils"}); err != nil {
			t.Fatalf("DeleteProject: %s", msg(err))
		}
		if _, err := api.ProjectsV1().GetProject(models.Project{ProjectName: "goutils"}); err == nil || err.Code != 404 {
			t.Fatalf("GetProject after delete: %s", msg(err))
		}
	})
}
