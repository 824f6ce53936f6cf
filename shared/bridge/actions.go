package bridge

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"

	"go.uber.org/zap"
)

// maxFormBytes bounds an action's form.
const maxFormBytes = 16 << 10

// eventSource is the CloudEvent source of the events the Bridge sends.
const eventSource = "https://github.com/slipwayhq/slipway/bridge"

// action adapts a state-changing handler: read-only mode, the same-origin
// check (Sec-Fetch-Site / Origin, Go's CrossOriginProtection), a small form,
// then POST-redirect-GET back to the sequence with a notice.
func (s *Server) action(fn func(ctx context.Context, r *http.Request, project, kctx string) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.ReadOnly {
			s.errorPage(w, r, http.StatusForbidden, "Read-only Bridge", "This Bridge is read-only (BRIDGE_READ_ONLY); use the API or the CLI.")
			return
		}
		if err := s.cop.Check(r); err != nil {
			s.errorPage(w, r, http.StatusForbidden, "Cross-origin request refused", "Actions are accepted only from the Bridge's own pages.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			s.errorPage(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.")
			return
		}
		name, err := pathName(r, "project")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		kctx, err := pathContext(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		done, err := fn(r.Context(), r, name, kctx)
		if err != nil {
			var ae *apiError
			if errors.As(err, &ae) && ae.Status < 500 {
				s.errorPage(w, r, ae.Status, "The API refused the action", ae.Message)
				return
			}
			s.fail(w, r, err)
			return
		}
		s.log.Info("bridge action", zap.String("project", name), zap.String("keptnContext", kctx), zap.String("done", done))
		back := sequencePath(name, kctx)
		if st := r.PostForm.Get("back"); st != "" && nameRE.MatchString(st) {
			back += "/stage/" + url.PathEscape(st)
		}
		http.Redirect(w, r, back+"?done="+url.QueryEscape(done), http.StatusSeeOther)
	}
}

// flash is the notice after an action; only known values are shown.
func flash(done string) string {
	return map[string]string{
		"abort": "Abort sent.", "pause": "Pause sent.", "resume": "Resume sent.",
		"approve": "Approved.", "decline": "Declined.", "finished": "Finished event sent.",
	}[done]
}

// controlAction: abort, pause or resume the context or one stage
// (POST /api/controlPlane/v1/sequence/{project}/{keptnContext}/control).
func (s *Server) controlAction(ctx context.Context, r *http.Request, project, kctx string) (string, error) {
	state := r.PostForm.Get("state")
	if state != "abort" && state != "pause" && state != "resume" {
		return "", &apiError{Status: http.StatusBadRequest, Message: "state must be abort, pause or resume"}
	}
	body := map[string]string{"state": state}
	if st := r.PostForm.Get("stage"); st != "" {
		if !nameRE.MatchString(st) {
			return "", &apiError{Status: http.StatusBadRequest, Message: "invalid stage name"}
		}
		body["stage"] = st
	}
	err := s.api.do(ctx, http.MethodPost, "/api/controlPlane/v1/sequence/"+url.PathEscape(project)+"/"+url.PathEscape(kctx)+"/control",
		nil, body, nil)
	return state, err
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// taskEvent is what the approval and finish forms name: the open .triggered.
func (s *Server) openTask(ctx context.Context, r *http.Request, project, kctx, task string) (*cloudEvent, error) {
	id := r.PostForm.Get("triggeredid")
	stage := r.PostForm.Get("stage")
	if !idRE.MatchString(id) || !nameRE.MatchString(stage) {
		return nil, &apiError{Status: http.StatusBadRequest, Message: "the form names no open task"}
	}
	if !nameRE.MatchString(task) {
		return nil, &apiError{Status: http.StatusBadRequest, Message: "invalid task name"}
	}
	open, err := s.openEvents(ctx, project, stage, task, kctx)
	if err != nil {
		return nil, err
	}
	for i := range open {
		if open[i].ID == id {
			return &open[i], nil
		}
	}
	return nil, &apiError{Status: http.StatusConflict, Message: "the task is no longer open (it finished or the sequence moved on)"}
}

// sendFinished posts <task>.finished for an open .triggered through POST /api/v1/event.
func (s *Server) sendFinished(ctx context.Context, trig *cloudEvent, task, result, status, message string) error {
	data := map[string]any{"project": trig.Data.Project, "stage": trig.Data.Stage, "service": trig.Data.Service,
		"result": result, "status": status}
	if message != "" {
		data["message"] = message
	}
	ev := map[string]any{"specversion": "1.0", "source": eventSource, "type": "sh.keptn.event." + task + ".finished",
		"shkeptncontext": trig.Shkeptncontext, "triggeredid": trig.ID, "data": data}
	return s.api.do(ctx, http.MethodPost, "/api/v1/event", nil, ev, nil)
}

// approvalAction approves (pass) or declines (fail) an open approval, as
// Keptn's Bridge did: approval.finished with status succeeded.
func (s *Server) approvalAction(ctx context.Context, r *http.Request, project, kctx string) (string, error) {
	decision := r.PostForm.Get("decision")
	result := map[string]string{"approve": "pass", "decline": "fail"}[decision]
	if result == "" {
		return "", &apiError{Status: http.StatusBadRequest, Message: "decision must be approve or decline"}
	}
	trig, err := s.openTask(ctx, r, project, kctx, "approval")
	if err != nil {
		return "", err
	}
	return decision, s.sendFinished(ctx, trig, "approval", result, "succeeded", "")
}

// finishAction sends a .finished for a stuck task (Keptn users' workaround,
// one click here), with the chosen result, status and reason.
func (s *Server) finishAction(ctx context.Context, r *http.Request, project, kctx string) (string, error) {
	f := r.PostForm
	task, result, status, msg := f.Get("task"), f.Get("result"), f.Get("status"), f.Get("message")
	if result != "pass" && result != "warning" && result != "fail" {
		return "", &apiError{Status: http.StatusBadRequest, Message: "result must be pass, warning or fail"}
	}
	if status != "succeeded" && status != "errored" {
		return "", &apiError{Status: http.StatusBadRequest, Message: "status must be succeeded or errored"}
	}
	if len(msg) > 2000 {
		return "", &apiError{Status: http.StatusBadRequest, Message: "the reason is limited to 2000 characters"}
	}
	trig, err := s.openTask(ctx, r, project, kctx, task)
	if err != nil {
		return "", err
	}
	return "finished", s.sendFinished(ctx, trig, task, result, status, msg)
}
