package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/shared/api/projectdoc"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/shipyard"
	"github.com/slipwayhq/slipway/shared/store"
)

// Keptn lifecycle event types the project endpoints emit.
const (
	typeProjectCreateStarted  = "sh.keptn.event.project.create.started"
	typeProjectCreateFinished = "sh.keptn.event.project.create.finished"
	typeProjectDeleteFinished = "sh.keptn.event.project.delete.finished"
	typeServiceCreateStarted  = "sh.keptn.event.service.create.started"
	typeServiceCreateFinished = "sh.keptn.event.service.create.finished"
	typeServiceDeleteStarted  = "sh.keptn.event.service.delete.started"
	typeServiceDeleteFinished = "sh.keptn.event.service.delete.finished"
)

const defaultPageSize = 20

// gitCredentialsIn is Keptn's gitCredentials request member. Slipway keeps
// configuration in its store and has no git upstream: the credentials are
// validated as Keptn does so clients see the same errors, and only the
// remote URL, user and insecureSkipTLS are kept (shown by GET).
type gitCredentialsIn struct {
	RemoteURL string `json:"remoteURL"`
	User      string `json:"user"`
	HTTPS     *struct {
		Token           string `json:"token"`
		Certificate     string `json:"certificate"`
		InsecureSkipTLS bool   `json:"insecureSkipTLS"`
		Proxy           *struct {
			URL      string `json:"url"`
			Scheme   string `json:"scheme"`
			User     string `json:"user"`
			Password string `json:"password"`
		} `json:"proxy"`
	} `json:"https"`
	SSH *struct {
		PrivateKey     string `json:"privateKey"`
		PrivateKeyPass string `json:"privateKeyPass"`
	} `json:"ssh"`
}

func (g *gitCredentialsIn) validate() error {
	if g == nil {
		return nil
	}
	if g.RemoteURL != "" && !strings.HasPrefix(g.RemoteURL, "http://") &&
		!strings.HasPrefix(g.RemoteURL, "https://") && !strings.HasPrefix(g.RemoteURL, "ssh://") {
		return errors.New("remoteURL must start with http://, https:// or ssh://")
	}
	if g.HTTPS != nil && g.SSH != nil {
		return errors.New("https and ssh credentials are mutually exclusive")
	}
	if g.HTTPS != nil && g.HTTPS.Certificate != "" {
		if _, err := base64.StdEncoding.DecodeString(g.HTTPS.Certificate); err != nil {
			return errors.New("https.certificate must be base64")
		}
	}
	if g.HTTPS != nil && g.HTTPS.Proxy != nil && g.HTTPS.Proxy.Scheme != "" &&
		g.HTTPS.Proxy.Scheme != "http" && g.HTTPS.Proxy.Scheme != "https" {
		return errors.New("https.proxy.scheme must be http or https")
	}
	if g.SSH != nil {
		if _, err := base64.StdEncoding.DecodeString(g.SSH.PrivateKey); err != nil || g.SSH.PrivateKey == "" {
			return errors.New("ssh.privateKey must be base64")
		}
	}
	return nil
}

func (g *gitCredentialsIn) public() *projectdoc.GitCredentials {
	if g == nil {
		return nil
	}
	out := &projectdoc.GitCredentials{RemoteURL: g.RemoteURL, User: g.User}
	if g.HTTPS != nil {
		out.HTTPS = &projectdoc.HTTPSInfo{InsecureSkipTLS: g.HTTPS.InsecureSkipTLS}
	}
	return out
}

type projectRequest struct {
	Name           string            `json:"name"`
	Shipyard       string            `json:"shipyard"`
	GitCredentials *gitCredentialsIn `json:"gitCredentials"`
}

func invalidPayload(err error) error {
	return badRequest("Could not validate payload: %v", err)
}

// decodeShipyard decodes and validates a base64 shipyard.
func decodeShipyard(b64 string) ([]byte, *shipyard.Shipyard, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, nil, errors.New("shipyard must be base64 encoded")
	}
	sy, err := shipyard.Parse(raw)
	if err != nil {
		return nil, nil, err
	}
	return raw, sy, nil
}

func (a *api) validateProjectName(name string) error {
	if name == "" {
		return errors.New("project name must not be empty")
	}
	if len(name) > a.cfg.ProjectNameMaxSize {
		return fmt.Errorf("project name must not exceed %d characters", a.cfg.ProjectNameMaxSize)
	}
	if err := shipyard.ValidateEntityName(name); err != nil {
		return fmt.Errorf("project name: %w", err)
	}
	return nil
}

// stagesFor lays out the stages of sy, keeping the services of old stages.
func stagesFor(sy *shipyard.Shipyard, old []projectdoc.Stage) []projectdoc.Stage {
	prev := map[string][]projectdoc.Service{}
	for _, s := range old {
		prev[s.Name] = s.Services
	}
	seen := map[string]bool{}
	var out []projectdoc.Stage
	for _, s := range sy.Spec.Stages {
		if seen[s.Name] { // duplicate stage names: the first wins, as in Keptn
			continue
		}
		seen[s.Name] = true
		svcs := prev[s.Name]
		if svcs == nil {
			svcs = []projectdoc.Service{}
		}
		out = append(out, projectdoc.Stage{Name: s.Name, Services: svcs})
	}
	return out
}

func (a *api) createProject(w http.ResponseWriter, r *http.Request) error {
	var req projectRequest
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req, true); err != nil {
		var he *httpError
		if errors.As(err, &he) && he.status == http.StatusBadRequest {
			return badRequest("Could not validate payload: %s", strings.TrimPrefix(he.msg, "invalid request body: "))
		}
		return err
	}
	if err := a.validateProjectName(req.Name); err != nil {
		return invalidPayload(err)
	}
	if req.Shipyard == "" {
		return invalidPayload(errors.New("shipyard must not be empty"))
	}
	raw, sy, err := decodeShipyard(req.Shipyard)
	if err != nil {
		return invalidPayload(err)
	}
	if err := req.GitCredentials.validate(); err != nil {
		return invalidPayload(err)
	}
	doc := &projectdoc.Doc{Shipyard: string(raw), ShipyardVersion: sy.APIVersion,
		GitCredentials: req.GitCredentials.public(), Stages: stagesFor(sy, nil)}
	body, err := doc.Encode()
	if err != nil {
		return err
	}
	ctx := r.Context()
	now := a.deps.Clock().UTC()
	if err := a.deps.Store.CreateProject(ctx, &store.Project{Name: req.Name, CreatedAt: now, Body: body}); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return errorf(http.StatusConflict, "Project %s already exists", req.Name)
		}
		return fmt.Errorf("create project %s: %w", req.Name, err)
	}
	a.emit(r, typeProjectCreateStarted, keptn.Data{Project: req.Name})
	if err := a.deps.Store.PutResource(ctx, &store.Resource{Project: req.Name, URI: projectdoc.ShipyardURI,
		Content: raw, UpdatedAt: now}); err != nil {
		if derr := a.deps.Store.DeleteProject(context.WithoutCancel(ctx), req.Name); derr != nil {
			err = errors.Join(err, derr)
		}
		a.emit(r, typeProjectCreateFinished, keptn.Data{Project: req.Name, Status: keptn.StatusErrored,
			Result: keptn.ResultFail, Message: "could not store shipyard"})
		return fmt.Errorf("store shipyard of %s: %w", req.Name, err)
	}
	remote := ""
	if req.GitCredentials != nil {
		remote = req.GitCredentials.RemoteURL
	}
	a.emit(r, typeProjectCreateFinished, map[string]any{
		"project": req.Name, "status": keptn.StatusSucceeded, "result": keptn.ResultPass,
		"createdProject": map[string]string{"projectName": req.Name, "shipyard": req.Shipyard, "gitRemoteURL": remote},
	})
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (a *api) updateProject(w http.ResponseWriter, r *http.Request) error {
	var req projectRequest
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req, true); err != nil {
		var he *httpError
		if errors.As(err, &he) && he.status == http.StatusBadRequest {
			return badRequest("Could not validate payload: %s", strings.TrimPrefix(he.msg, "invalid request body: "))
		}
		return err
	}
	if err := a.validateProjectName(req.Name); err != nil {
		return invalidPayload(err)
	}
	if err := req.GitCredentials.validate(); err != nil {
		return invalidPayload(err)
	}
	var raw []byte
	if req.Shipyard != "" {
		var err error
		if raw, _, err = decodeShipyard(req.Shipyard); err != nil {
			return invalidPayload(err)
		}
	}
	return a.changeProject(r.Context(), w, req.Name, raw, req.GitCredentials)
}

// changeProject replaces the shipyard (raw != nil) and/or the credentials of
// a project, then rewrites the shipyard resource. Used by PUT project and by
// writes of the project-level shipyard.yaml resource.
func (a *api) changeProject(ctx context.Context, w http.ResponseWriter, name string, raw []byte, creds *gitCredentialsIn) error {
	var sy *shipyard.Shipyard
	if raw != nil {
		var err error
		if sy, err = shipyard.Parse(raw); err != nil {
			return invalidPayload(err)
		}
	}
	err := a.deps.Store.UpdateProject(ctx, name, func(p *store.Project) error {
		doc, err := projectdoc.Decode(p)
		if err != nil {
			return err
		}
		if sy != nil {
			old, err := shipyard.Parse([]byte(doc.Shipyard))
			if err != nil {
				return fmt.Errorf("stored shipyard of %s: %w", name, err)
			}
			if err := shipyard.ValidateUpdate(old, sy); err != nil {
				return invalidPayload(err)
			}
			doc.Shipyard, doc.ShipyardVersion = string(raw), sy.APIVersion
			doc.Stages = stagesFor(sy, doc.Stages)
		}
		if creds != nil {
			doc.GitCredentials = creds.public()
		}
		p.Body, err = doc.Encode()
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("Project not found: %s", name)
	}
	if err != nil {
		return err
	}
	if raw != nil {
		if err := a.deps.Store.PutResource(ctx, &store.Resource{Project: name, URI: projectdoc.ShipyardURI,
			Content: raw, UpdatedAt: a.deps.Clock().UTC()}); err != nil {
			return fmt.Errorf("store shipyard of %s: %w", name, err)
		}
	}
	if w != nil {
		w.WriteHeader(http.StatusCreated)
	}
	return nil
}

// loadProject reads a project and its body; 404 when it does not exist.
func (a *api) loadProject(ctx context.Context, name string) (*store.Project, *projectdoc.Doc, error) {
	p, err := a.deps.Store.GetProject(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, notFound("Project not found: %s", name)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load project %s: %w", name, err)
	}
	doc, err := projectdoc.Decode(p)
	if err != nil {
		return nil, nil, err
	}
	return p, doc, nil
}

// Keptn's ExpandedProject/Stage/Service JSON.
type expandedProject struct {
	ProjectName               string                     `json:"projectName"`
	CreationDate              string                     `json:"creationDate"`
	Shipyard                  string                     `json:"shipyard"`
	ShipyardVersion           string                     `json:"shipyardVersion"`
	GitCredentials            *projectdoc.GitCredentials `json:"gitCredentials,omitempty"`
	IsUpstreamAutoProvisioned bool                       `json:"isUpstreamAutoProvisioned"`
	Stages                    []expandedStage            `json:"stages"`
}

type expandedStage struct {
	StageName    string            `json:"stageName"`
	ParentStages []string          `json:"parentStages"`
	Services     []expandedService `json:"services"`
}

type expandedService struct {
	ServiceName      string                  `json:"serviceName"`
	CreationDate     string                  `json:"creationDate"`
	DeployedImage    string                  `json:"deployedImage,omitempty"`
	LastEventTypes   map[string]eventContext `json:"lastEventTypes"`
	OpenRemediations []any                   `json:"openRemediations"`
}

type eventContext struct {
	EventID      string `json:"eventId"`
	KeptnContext string `json:"keptnContext"`
	Time         string `json:"time"`
}

func nanos(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

func expandService(s projectdoc.Service) expandedService {
	out := expandedService{ServiceName: s.Name, CreationDate: nanos(s.CreatedAt),
		DeployedImage: s.DeployedImage, LastEventTypes: map[string]eventContext{}}
	for k, v := range s.LastEventTypes {
		out.LastEventTypes[k] = eventContext{EventID: v.EventID, KeptnContext: v.KeptnContext, Time: nanos(v.Time)}
	}
	return out
}

// parentStages maps each stage to the stages whose sequences trigger it.
func parentStages(doc *projectdoc.Doc) map[string][]string {
	out := map[string][]string{}
	sy, err := shipyard.Parse([]byte(doc.Shipyard))
	if err != nil {
		return out
	}
	for _, st := range sy.Spec.Stages {
		seen := map[string]bool{}
		for _, seq := range st.Sequences {
			for _, t := range seq.TriggeredOn {
				parent, _, _ := strings.Cut(t.Event, ".")
				if parent != "" && parent != st.Name && !seen[parent] {
					seen[parent] = true
					out[st.Name] = append(out[st.Name], parent)
				}
			}
		}
	}
	return out
}

func expandStage(s projectdoc.Stage, parents map[string][]string) expandedStage {
	out := expandedStage{StageName: s.Name, ParentStages: parents[s.Name], Services: []expandedService{}}
	if out.ParentStages == nil {
		out.ParentStages = []string{}
	}
	for _, svc := range s.Services {
		out.Services = append(out.Services, expandService(svc))
	}
	return out
}

func expandProject(p *store.Project, doc *projectdoc.Doc) expandedProject {
	out := expandedProject{ProjectName: p.Name, CreationDate: nanos(p.CreatedAt), Shipyard: doc.Shipyard,
		ShipyardVersion: doc.ShipyardVersion, GitCredentials: doc.GitCredentials, Stages: []expandedStage{}}
	// /api/v1/metadata says automaticprovisioning: a project created without
	// a remote is shown as Keptn showed an auto-provisioned one.
	out.IsUpstreamAutoProvisioned = doc.GitCredentials == nil || doc.GitCredentials.RemoteURL == ""
	parents := parentStages(doc)
	for _, s := range doc.Stages {
		out.Stages = append(out.Stages, expandStage(s, parents))
	}
	return out
}

// maxScan bounds listings that are read whole to page them by offset.
const maxScan = 10000

func (a *api) allProjects(ctx context.Context) ([]*store.Project, error) {
	var all []*store.Project
	page := store.Page{Size: 100}
	for {
		ps, next, err := a.deps.Store.ListProjects(ctx, page)
		if err != nil {
			return nil, fmt.Errorf("list projects: %w", err)
		}
		all = append(all, ps...)
		if next == "" || len(all) >= maxScan {
			break
		}
		page.Token = next
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all, nil
}

func (a *api) listProjects(w http.ResponseWriter, r *http.Request) error {
	size, err := pageSizeParam(r, "pageSize", defaultPageSize, 0)
	if err != nil {
		return err
	}
	size = min(size, maxPageSize) // a page decodes each project's shipyard: bound it
	off, err := offsetParam(r, "nextPageKey")
	if err != nil {
		return err
	}
	all, err := a.allProjects(r.Context())
	if err != nil {
		return err
	}
	lo, hi, next := paginate(len(all), off, size)
	out := []expandedProject{}
	for _, p := range all[lo:hi] {
		doc, err := projectdoc.Decode(p)
		if err != nil {
			return err
		}
		ep := expandProject(p, doc)
		if err := a.fillActivity(r.Context(), p.Name, ep.Stages); err != nil {
			return err
		}
		out = append(out, ep)
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": out, "nextPageKey": next, "totalCount": len(all)})
	return nil
}

func (a *api) getProject(w http.ResponseWriter, r *http.Request) error {
	p, doc, err := a.loadProject(r.Context(), r.PathValue("project"))
	if err != nil {
		return err
	}
	ep := expandProject(p, doc)
	if err := a.fillActivity(r.Context(), p.Name, ep.Stages); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ep)
	return nil
}

func (a *api) deleteProject(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("project")
	if _, _, err := a.loadProject(r.Context(), name); err != nil {
		return err
	}
	if err := a.deps.Store.DeleteProject(r.Context(), name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete project %s: %w", name, err)
	}
	if a.deps.Secrets != nil {
		// A project created later under the same name must not inherit them.
		if err := a.deps.Secrets.DeleteProject(r.Context(), name); err != nil {
			return fmt.Errorf("delete secrets of project %s: %w", name, err)
		}
	}
	a.emit(r, typeProjectDeleteFinished, keptn.Data{Project: name, Status: keptn.StatusSucceeded, Result: keptn.ResultPass})
	writeJSON(w, http.StatusOK, map[string]string{"message": "Project " + name + " deleted; Slipway keeps no git upstream, so nothing else to clean up"})
	return nil
}

func (a *api) stageOf(doc *projectdoc.Doc, name string) (*projectdoc.Stage, error) {
	st := doc.Stage(name)
	if st == nil {
		return nil, notFound("Stage not found: %s", name)
	}
	return st, nil
}

func (a *api) listStages(w http.ResponseWriter, r *http.Request) error {
	size, err := pageSizeParam(r, "pageSize", defaultPageSize, 0)
	if err != nil {
		return err
	}
	off, err := offsetParam(r, "nextPageKey")
	if err != nil {
		return err
	}
	p, doc, err := a.loadProject(r.Context(), r.PathValue("project"))
	if err != nil {
		return err
	}
	parents := parentStages(doc)
	lo, hi, next := paginate(len(doc.Stages), off, size)
	out := []expandedStage{}
	for _, s := range doc.Stages[lo:hi] {
		out = append(out, expandStage(s, parents))
	}
	if err := a.fillActivity(r.Context(), p.Name, out); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"stages": out, "nextPageKey": next, "totalCount": len(doc.Stages)})
	return nil
}

func (a *api) getStage(w http.ResponseWriter, r *http.Request) error {
	p, doc, err := a.loadProject(r.Context(), r.PathValue("project"))
	if err != nil {
		return err
	}
	st, err := a.stageOf(doc, r.PathValue("stage"))
	if err != nil {
		return err
	}
	es := []expandedStage{expandStage(*st, parentStages(doc))}
	if err := a.fillActivity(r.Context(), p.Name, es); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, es[0])
	return nil
}

func (a *api) listServices(w http.ResponseWriter, r *http.Request) error {
	size, err := pageSizeParam(r, "pageSize", defaultPageSize, 0)
	if err != nil {
		return err
	}
	off, err := offsetParam(r, "nextPageKey")
	if err != nil {
		return err
	}
	p, doc, err := a.loadProject(r.Context(), r.PathValue("project"))
	if err != nil {
		return err
	}
	st, err := a.stageOf(doc, r.PathValue("stage"))
	if err != nil {
		return err
	}
	lo, hi, next := paginate(len(st.Services), off, size)
	es := []expandedStage{{StageName: st.Name, Services: []expandedService{}}}
	for _, s := range st.Services[lo:hi] {
		es[0].Services = append(es[0].Services, expandService(s))
	}
	if err := a.fillActivity(r.Context(), p.Name, es); err != nil {
		return err
	}
	out := es[0].Services
	writeJSON(w, http.StatusOK, map[string]any{"services": out, "nextPageKey": next, "totalCount": len(st.Services)})
	return nil
}

func (a *api) getService(w http.ResponseWriter, r *http.Request) error {
	p, doc, err := a.loadProject(r.Context(), r.PathValue("project"))
	if err != nil {
		return err
	}
	st, err := a.stageOf(doc, r.PathValue("stage"))
	if err != nil {
		return err
	}
	svc := st.Service(r.PathValue("service"))
	if svc == nil {
		return notFound("Service not found: %s", r.PathValue("service"))
	}
	es := []expandedStage{{StageName: st.Name, Services: []expandedService{expandService(*svc)}}}
	if err := a.fillActivity(r.Context(), p.Name, es); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, es[0].Services[0])
	return nil
}

// validateServiceName applies Keptn's name rule (keptn.ValidateName) and
// the length limit: service names reach script environments, file paths
// and resource URIs.
func (a *api) validateServiceName(name string) error {
	if len(name) > a.cfg.ServiceNameMaxSize {
		return fmt.Errorf("service name must not exceed %d characters", a.cfg.ServiceNameMaxSize)
	}
	if err := keptn.ValidateName(name); err != nil {
		return fmt.Errorf("service name %w", err)
	}
	return nil
}

func (a *api) createService(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		ServiceName string `json:"serviceName"`
	}
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req, false); err != nil {
		return err
	}
	project := r.PathValue("project")
	if err := a.validateServiceName(req.ServiceName); err != nil {
		return badRequest("%v", err)
	}
	now := a.deps.Clock().UTC()
	err := a.deps.Store.UpdateProject(r.Context(), project, func(p *store.Project) error {
		doc, err := projectdoc.Decode(p)
		if err != nil {
			return err
		}
		for i := range doc.Stages {
			if !doc.Stages[i].AddService(projectdoc.Service{Name: req.ServiceName, CreatedAt: now}) {
				return errorf(http.StatusConflict, "Service %s already exists in project %s", req.ServiceName, project)
			}
		}
		p.Body, err = doc.Encode()
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("Project not found: %s", project)
	}
	if err != nil {
		return err
	}
	a.emit(r, typeServiceCreateStarted, keptn.Data{Project: project, Service: req.ServiceName})
	a.emit(r, typeServiceCreateFinished, keptn.Data{Project: project, Service: req.ServiceName,
		Status: keptn.StatusSucceeded, Result: keptn.ResultPass})
	writeJSON(w, http.StatusOK, map[string]string{"message": ""})
	return nil
}

func (a *api) deleteService(w http.ResponseWriter, r *http.Request) error {
	project, service := r.PathValue("project"), r.PathValue("service")
	ctx := r.Context()
	_, doc, err := a.loadProject(ctx, project)
	if err != nil {
		return err
	}
	found := false
	for i := range doc.Stages {
		found = found || doc.Stages[i].Service(service) != nil
	}
	if !found {
		return notFound("Service not found: %s", service)
	}
	a.emit(r, typeServiceDeleteStarted, keptn.Data{Project: project, Service: service})
	err = a.deps.Store.UpdateProject(ctx, project, func(p *store.Project) error {
		doc, err := projectdoc.Decode(p)
		if err != nil {
			return err
		}
		for i := range doc.Stages {
			doc.Stages[i].RemoveService(service)
		}
		p.Body, err = doc.Encode()
		return err
	})
	if err != nil {
		return fmt.Errorf("delete service %s/%s: %w", project, service, err)
	}
	for _, st := range doc.Stages {
		if err := a.deleteAllResources(ctx, project, st.Name, service); err != nil {
			return err
		}
	}
	a.emit(r, typeServiceDeleteFinished, keptn.Data{Project: project, Service: service,
		Status: keptn.StatusSucceeded, Result: keptn.ResultPass})
	writeJSON(w, http.StatusOK, map[string]string{"message": ""})
	return nil
}

func (a *api) deleteAllResources(ctx context.Context, project, stage, service string) error {
	for {
		res, _, err := a.deps.Store.ListResources(ctx, project, stage, service, store.Page{Size: 100})
		if err != nil {
			return fmt.Errorf("list resources of %s/%s/%s: %w", project, stage, service, err)
		}
		if len(res) == 0 {
			return nil
		}
		for _, x := range res {
			if err := a.deps.Store.DeleteResource(ctx, project, stage, service, x.URI); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("delete resource %s: %w", x.URI, err)
			}
		}
	}
}
