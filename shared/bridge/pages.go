package bridge

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
)

// pages holds one template set per page (each with the shared layout).
type pages struct {
	sets map[string]*template.Template
}

var pageNames = []string{"projects", "environment", "sequences", "sequence", "service", "error", "swagger"}

func parsePages() (*pages, error) {
	funcs := template.FuncMap{
		"time": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04:05.000")
		},
		"clock": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("15:04:05")
		},
		"dur":   fmtDur,
		"short": func(s string) string { return s[:min(8, len(s))] },
		"class": resultClass,
		"join":  strings.Join,
		"esc":   url.PathEscape,
		"f1":    func(f float64) string { return fmt.Sprintf("%.1f", f) },
		"mid":   func(x, w float64) float64 { return x + w/2 },
	}
	p := &pages{sets: map[string]*template.Template{}}
	for _, n := range pageNames {
		files := []string{"templates/layout.html", "templates/" + n + ".html"}
		if n == "swagger" { // a page of its own, without the Bridge's layout
			files = files[1:]
		}
		t, err := template.New(n).Funcs(funcs).ParseFS(templateFS, files...)
		if err != nil {
			return nil, fmt.Errorf("bridge templates %s: %w", n, err)
		}
		p.sets[n] = t
	}
	return p, nil
}

// view is what every page template gets.
type view struct {
	Title    string
	Crumbs   []crumb
	Project  string
	ReadOnly bool
	// Live pages poll themselves every PollMS and swap #live.
	Live   bool
	PollMS int64
	Flash  string
	Now    time.Time
	Data   any
}

type crumb struct{ Label, Href string }

// pageError is an error the user caused (400/404), shown as a page.
type pageError struct {
	status        int
	title, detail string
}

func (e *pageError) Error() string { return e.title + ": " + e.detail }

func badInput(format string, a ...any) error {
	return &pageError{http.StatusBadRequest, "Bad request", fmt.Sprintf(format, a...)}
}

func notFound(format string, a ...any) error {
	return &pageError{http.StatusNotFound, "Not found", fmt.Sprintf(format, a...)}
}

// securityHeaders: only the Bridge's own scripts and styles, no framing.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; "+
		"script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

func (s *Server) render(w http.ResponseWriter, status int, name string, v *view) {
	var buf bytes.Buffer
	if err := s.pages.sets[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.Error("render bridge page", zap.String("page", name), zap.Error(err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) errorPage(w http.ResponseWriter, _ *http.Request, status int, title, detail string) {
	s.render(w, status, "error", &view{Title: title, Now: s.now(),
		Data: map[string]any{"Status": status, "Title": title, "Detail": detail}})
}

// page adapts a page function: it fills the common fields and turns errors
// into 400/404/500 pages.
func (s *Server) page(fn func(r *http.Request, v *view) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := &view{ReadOnly: s.cfg.ReadOnly, PollMS: s.cfg.PollInterval.Milliseconds(), Now: s.now()}
		name, err := fn(r, v)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if name == "" { // the function answered itself (a redirect)
			return
		}
		s.render(w, http.StatusOK, name, v)
	}
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var pe *pageError
	var ae *apiError
	var rd *redirect
	switch {
	case errors.As(err, &rd):
		http.Redirect(w, r, rd.to, http.StatusFound)
	case errors.As(err, &pe):
		s.errorPage(w, r, pe.status, pe.title, pe.detail)
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		s.errorPage(w, r, http.StatusNotFound, "Not found", ae.Message)
	case errors.As(err, &ae) && ae.Status == http.StatusBadRequest:
		s.errorPage(w, r, http.StatusBadRequest, "Bad request", ae.Message)
	default:
		s.log.Error("bridge page", zap.String("path", r.URL.Path), zap.Error(err))
		s.errorPage(w, r, http.StatusInternalServerError, "Something went wrong", "The API could not answer; see the server log.")
	}
}

// Path values are checked before they reach the API: names as Keptn allows
// them, contexts as UUIDs.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,199}$`)

func pathName(r *http.Request, key string) (string, error) {
	v := r.PathValue(key)
	if !nameRE.MatchString(v) {
		return "", badInput("%q is not a valid %s name.", v, key)
	}
	return v, nil
}

func pathContext(r *http.Request) (string, error) {
	v := r.PathValue("kctx")
	if _, err := uuid.Parse(v); err != nil || len(v) != 36 {
		return "", badInput("%q is not a keptnContext (a UUID such as 6f2a4c1e-5b0d-4f43-9a53-1c9e8e0b7d21).", v)
	}
	return strings.ToLower(v), nil
}

func projectPath(p string) string { return Prefix + "project/" + url.PathEscape(p) }
func sequencePath(p, kctx string) string {
	return projectPath(p) + "/sequence/" + url.PathEscape(kctx)
}

// Projects.

func (s *Server) projectsPage(r *http.Request, v *view) (string, error) {
	var res struct {
		Projects []project `json:"projects"`
	}
	if err := s.api.get(r.Context(), "/api/controlPlane/v1/project", url.Values{"pageSize": {"0"}}, &res); err != nil {
		return "", err
	}
	type row struct {
		Name               string
		Stages             []string
		Services, Creation string
	}
	var rows []row
	for _, p := range res.Projects {
		rows = append(rows, row{Name: p.ProjectName, Stages: p.stageNames(),
			Services: strings.Join(p.serviceNames(), ", "), Creation: p.CreationDate})
	}
	v.Title, v.Data = "Projects", rows
	return "projects", nil
}

// Environment: stages as columns, each service's last run and image.

type envCard struct {
	Service, Image string
	Last           *execution
	LastState      string
	Result         string
}

// envRuns is how many of a lane's newest runs the environment reads to find
// the last image; older images come from the API's deployedImage.
const envRuns = 5

type envColumn struct {
	Stage string
	Cards []envCard
}

func (s *Server) environmentPage(r *http.Request, v *view) (string, error) {
	name, err := pathName(r, "project")
	if err != nil {
		return "", err
	}
	p, err := s.project(r.Context(), name)
	if err != nil {
		return "", err
	}
	var cols []envColumn
	for _, st := range p.Stages {
		col := envColumn{Stage: st.StageName}
		for _, sv := range st.Services {
			card := envCard{Service: sv.ServiceName, Image: sv.DeployedImage}
			// The newest runs give the last result; the image is the one of
			// the newest run whose trigger carried one (a later evaluation
			// run deploys nothing).
			runs, _, err := s.executions(r.Context(), name, runFilter{Stage: st.StageName, Service: sv.ServiceName}, envRuns, "")
			if err != nil {
				return "", err
			}
			if len(runs) > 0 {
				card.Last = &runs[0]
				card.LastState = runs[0].Status.State
				card.Result = runs[0].Result()
			}
			for i := range runs {
				if img := runs[i].Image(); img != "" {
					card.Image = img
					break
				}
			}
			col.Cards = append(col.Cards, card)
		}
		cols = append(cols, col)
	}
	v.Title, v.Project, v.Live = name, name, true
	v.Crumbs = []crumb{{"Projects", Prefix}, {name, ""}}
	v.Data = cols
	return "environment", nil
}

// Sequence list with filters.

type seqRow struct {
	Run   execution
	State string // the context's view state (waiting, aborted …)
	Href  string
}

type seqList struct {
	Rows                        []seqRow
	Stages, Services, States    []string
	Stage, Service, State, Name string
	Next, First                 string
}

// listPageSize is the sequence list's page.
const listPageSize = 50

var runStates = []string{"triggered", "started", "waitingForApproval", "paused", "finished", "timedOut"}

func (s *Server) sequencesPage(r *http.Request, v *view) (string, error) {
	name, err := pathName(r, "project")
	if err != nil {
		return "", err
	}
	p, err := s.project(r.Context(), name)
	if err != nil {
		return "", err
	}
	q := r.URL.Query()
	l := seqList{Stages: p.stageNames(), Services: p.serviceNames(), States: runStates,
		Stage: q.Get("stage"), Service: q.Get("service"), State: q.Get("state"), Name: q.Get("name")}
	for _, f := range []struct{ key, val string }{{"stage", l.Stage}, {"service", l.Service}, {"name", l.Name}} {
		if f.val != "" && !nameRE.MatchString(f.val) {
			return "", badInput("%q is not a valid %s name.", f.val, f.key)
		}
	}
	if l.State != "" && !contains(runStates, l.State) {
		return "", badInput("state must be one of %s.", strings.Join(runStates, ", "))
	}
	token := q.Get("page")
	if len(token) > 512 {
		return "", badInput("page token too long")
	}
	runs, next, err := s.executions(r.Context(), name, runFilter{Stage: l.Stage, Service: l.Service, Name: l.Name, Status: l.State},
		listPageSize, token)
	if err != nil {
		return "", err
	}
	ctxs := make([]string, 0, len(runs))
	seen := map[string]bool{}
	for _, run := range runs {
		if !seen[run.Scope.KeptnContext] {
			seen[run.Scope.KeptnContext] = true
			ctxs = append(ctxs, run.Scope.KeptnContext)
		}
	}
	views, err := s.states(r.Context(), name, ctxs)
	if err != nil {
		return "", err
	}
	for _, run := range runs {
		st := views[run.Scope.KeptnContext]
		state := run.Status.State
		if ss := st.stage(run.Scope.Stage); ss != nil && ss.State == "aborted" {
			state = "aborted"
		} else if state == "triggered" && st.State == "waiting" {
			state = "waiting"
		}
		l.Rows = append(l.Rows, seqRow{Run: run, State: state,
			Href: sequencePath(name, run.Scope.KeptnContext) + "/stage/" + url.PathEscape(run.Scope.Stage)})
	}
	if next != "" {
		nq := url.Values{}
		for k, val := range map[string]string{"stage": l.Stage, "service": l.Service, "state": l.State, "name": l.Name, "page": next} {
			if val != "" {
				nq.Set(k, val)
			}
		}
		l.Next = "?" + nq.Encode()
	}
	if token != "" {
		fq := url.Values{}
		for k, val := range map[string]string{"stage": l.Stage, "service": l.Service, "state": l.State, "name": l.Name} {
			if val != "" {
				fq.Set(k, val)
			}
		}
		l.First = "?" + fq.Encode()
	}
	v.Title, v.Project, v.Live = name+" · sequences", name, token == ""
	v.Crumbs = []crumb{{"Projects", Prefix}, {name, projectPath(name)}, {"Sequences", ""}}
	v.Data = l
	return "sequences", nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// One sequence (keptnContext): the deep link.

type seqPage struct {
	State    seqState
	Timeline *timeline
	Gantt    gantt
	Focus    string // the stage of .../stage/<s>, "" = all
	Terminal bool
	Base     string
	Results  []string
	Statuses []string
	EventID  string
}

func (s *Server) sequencePage(r *http.Request, v *view) (string, error) {
	name, err := pathName(r, "project")
	if err != nil {
		return "", err
	}
	kctx, err := pathContext(r)
	if err != nil {
		return "", err
	}
	focus := ""
	if r.PathValue("stage") != "" {
		if focus, err = pathName(r, "stage"); err != nil {
			return "", err
		}
	}
	ctx := r.Context()
	// The context's runs first: the API answers 404 for an unknown project
	// here, without the project view's history scan.
	runs, _, err := s.executions(ctx, name, runFilter{KeptnContext: kctx}, 0, "")
	if err != nil {
		return "", err
	}
	views, err := s.states(ctx, name, []string{kctx})
	if err != nil {
		return "", err
	}
	st, ok := views[kctx]
	if !ok {
		return "", notFound("Project %s has no sequence with keptnContext %s.", name, kctx)
	}
	if focus != "" && st.stage(focus) == nil {
		return "", notFound("Sequence %s has not run in stage %s.", kctx, focus)
	}
	events, err := s.history(ctx, name, kctx)
	if err != nil {
		return "", err
	}
	var order []string
	for _, ss := range st.Stages {
		order = append(order, ss.Name)
	}
	now := s.now()
	tl := buildTimeline(events, order, now)
	sortRunsOldestFirst(runs) // a stage that ran twice keeps its newest run
	for _, line := range tl.Stages {
		line.View = st.stage(line.Name)
		for i := range runs {
			if runs[i].Scope.Stage == line.Name {
				line.Run = &runs[i]
			}
		}
		if line.Run == nil || terminal(line.Run.Status.State) {
			continue
		}
		if ct := line.Run.Status.CurrentTask; ct != nil {
			for _, tk := range line.Tasks {
				if tk.TriggeredID == ct.TriggeredID && tk.Running() {
					tk.Open = true
				}
			}
			if ct.Name == "approval" {
				open, err := s.openEvents(ctx, name, line.Name, "approval", kctx)
				if err != nil {
					return "", err
				}
				if len(open) > 0 {
					ev := newEventView(open[0])
					line.Approval = &ev
				}
			}
		}
		if line.Run.Status.State == "triggered" {
			if line.Queue, err = s.queue(r, line.Run); err != nil {
				return "", err
			}
		}
	}
	base := sequencePath(name, kctx)
	page := seqPage{State: st, Timeline: tl, Focus: focus, Base: base,
		Terminal: st.State == "finished" || st.State == "aborted" || st.State == "timedOut",
		Results:  []string{"pass", "warning", "fail"}, Statuses: []string{"succeeded", "errored"}}
	page.Gantt = ganttOf(tl, now, func(stage string) string { return base + "/stage/" + url.PathEscape(stage) })
	v.Title, v.Project = st.Name+" "+short(kctx), name
	v.Live = !page.Terminal
	v.Flash = flash(r.URL.Query().Get("done"))
	v.Crumbs = []crumb{{"Projects", Prefix}, {name, projectPath(name)}, {"Sequences", projectPath(name) + "/sequence"}, {short(kctx), ""}}
	if focus != "" {
		v.Crumbs[len(v.Crumbs)-1].Href = base
		v.Crumbs = append(v.Crumbs, crumb{focus, ""})
	}
	v.Data = page
	return "sequence", nil
}

func short(s string) string { return s[:min(8, len(s))] }

// queue finds a waiting run's place in its lane and the run holding the lane.
func (s *Server) queue(r *http.Request, run *execution) (*queueInfo, error) {
	lane := runFilter{Stage: run.Scope.Stage, Service: run.Scope.Service}
	lane.Status = "triggered"
	waiting, _, err := s.executions(r.Context(), run.Scope.Project, lane, 0, "")
	if err != nil {
		return nil, err
	}
	sortRunsOldestFirst(waiting)
	q := &queueInfo{Length: len(waiting)}
	for i := range waiting {
		if waiting[i].ID == run.ID {
			q.Position = i + 1
		}
	}
	lane.Status = "started"
	holders, _, err := s.executions(r.Context(), run.Scope.Project, lane, 1, "")
	if err != nil {
		return nil, err
	}
	if len(holders) > 0 {
		q.Blocker = &holders[0]
	}
	if q.Position == 0 && q.Blocker == nil {
		return nil, nil
	}
	return q, nil
}

// eventLink is Keptn's .../sequence/<ctx>/event/<id> deep link: the sequence
// page with that event opened.
func (s *Server) eventLink(r *http.Request, v *view) (string, error) {
	id := r.PathValue("eventID")
	if !idRE.MatchString(id) {
		return "", badInput("%q is not an event id.", id)
	}
	tmpl, err := s.sequencePage(r, v) // checks the project and the context
	if err != nil {
		return "", err
	}
	page := v.Data.(seqPage)
	page.EventID = id
	v.Data = page
	return tmpl, nil
}

// Service: its runs per stage and the duration/result chart.

type servicePage struct {
	Service string
	Chart   durationChart
	Stages  []serviceStage
	N       int
}

type serviceStage struct {
	Stage string
	Rows  []seqRow
}

// chartRuns is how many of a service's newest runs the chart shows.
const chartRuns = 30

func (s *Server) servicePage(r *http.Request, v *view) (string, error) {
	name, err := pathName(r, "project")
	if err != nil {
		return "", err
	}
	svc, err := pathName(r, "service")
	if err != nil {
		return "", err
	}
	ctx := r.Context()
	p, err := s.project(ctx, name)
	if err != nil {
		return "", err
	}
	if !contains(p.serviceNames(), svc) {
		return "", notFound("Project %s has no service %s.", name, svc)
	}
	recent, _, err := s.executions(ctx, name, runFilter{Service: svc}, chartRuns, "")
	if err != nil {
		return "", err
	}
	var ctxs []string
	for _, run := range recent {
		if !contains(ctxs, run.Scope.KeptnContext) {
			ctxs = append(ctxs, run.Scope.KeptnContext)
		}
	}
	views, err := s.states(ctx, name, ctxs)
	if err != nil {
		return "", err
	}
	sortRunsOldestFirst(recent)
	now := s.now()
	var points []runPoint
	for _, run := range recent {
		st := views[run.Scope.KeptnContext]
		ss := st.stage(run.Scope.Stage)
		end := now
		cls := resultClass(run.Result(), "", !terminal(run.Status.State))
		if terminal(run.Status.State) && ss != nil && ss.LatestEvent != nil {
			end = ss.LatestEvent.Time
		}
		if ss != nil && ss.State == "aborted" {
			cls = "aborted"
		}
		points = append(points, runPoint{
			Label: fmt.Sprintf("%s %s in %s, %s (%s)", run.Sequence.Name, short(run.Scope.KeptnContext), run.Scope.Stage, cls,
				run.TriggeredAt.UTC().Format("15:04:05")),
			Href:     sequencePath(name, run.Scope.KeptnContext) + "/stage/" + url.PathEscape(run.Scope.Stage),
			Duration: end.Sub(run.TriggeredAt), Class: cls, Stage: run.Scope.Stage})
	}
	page := servicePage{Service: svc, Chart: chartOf(points), N: len(points)}
	for _, stage := range p.stageNames() {
		runs, _, err := s.executions(ctx, name, runFilter{Stage: stage, Service: svc}, 20, "")
		if err != nil {
			return "", err
		}
		ss := serviceStage{Stage: stage}
		for _, run := range runs {
			ss.Rows = append(ss.Rows, seqRow{Run: run, State: run.Status.State,
				Href: sequencePath(name, run.Scope.KeptnContext) + "/stage/" + url.PathEscape(stage)})
		}
		page.Stages = append(page.Stages, ss)
	}
	v.Title, v.Project, v.Live = name+" · "+svc, name, true
	v.Crumbs = []crumb{{"Projects", Prefix}, {name, projectPath(name)}, {svc, ""}}
	v.Data = page
	return "service", nil
}

// The API page.

func (s *Server) swaggerIndex(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := s.pages.sets["swagger"].ExecuteTemplate(&buf, "swagger", nil); err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	// Swagger UI sets inline styles and shows data: images.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "+
		"script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// serviceContextLink redirects Keptn's service-view link of a run to the
// sequence deep link.
func (s *Server) serviceContextLink(r *http.Request, _ *view) (string, error) {
	name, err := pathName(r, "project")
	if err != nil {
		return "", err
	}
	kctx, err := pathContext(r)
	if err != nil {
		return "", err
	}
	return "", s.redirectToSequence(r, name, kctx)
}

// traceLink finds a keptnContext's project from its events (Keptn's
// /bridge/trace/<keptnContext> of notifications) and redirects there.
func (s *Server) traceLink(r *http.Request, _ *view) (string, error) {
	kctx, err := pathContext(r)
	if err != nil {
		return "", err
	}
	var res struct {
		Events []cloudEvent `json:"events"`
	}
	if err := s.api.get(r.Context(), "/api/mongodb-datastore/event", url.Values{"keptnContext": {kctx}, "pageSize": {"1"}}, &res); err != nil {
		return "", err
	}
	if len(res.Events) == 0 || !nameRE.MatchString(res.Events[0].Data.Project) {
		return "", notFound("No sequence has keptnContext %s.", kctx)
	}
	return "", s.redirectToSequence(r, res.Events[0].Data.Project, kctx)
}

// redirectToSequence answers with a redirect; it is carried as an error so
// the page adapter writes it.
func (s *Server) redirectToSequence(r *http.Request, project, kctx string) error {
	to := sequencePath(project, kctx)
	if st := r.PathValue("stage"); st != "" {
		if !nameRE.MatchString(st) {
			return badInput("%q is not a valid stage name.", st)
		}
		to += "/stage/" + url.PathEscape(st)
	}
	return &redirect{to}
}

type redirect struct{ to string }

func (r *redirect) Error() string { return "redirect to " + r.to }
