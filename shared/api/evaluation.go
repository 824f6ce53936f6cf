package api

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/keptn"
)

// keptnTime is Keptn's timestamp format.
const keptnTime = "2006-01-02T15:04:05.000Z"

// defaultTimeframe is Keptn's evaluation timeframe when none is given.
const defaultTimeframe = 5 * time.Minute

var dayDuration = regexp.MustCompile(`^([0-9]+)d$`)

// parseTimeframe accepts Go durations ("5m", "1h30m") and whole days ("2d").
func parseTimeframe(s string) (time.Duration, error) {
	var d time.Duration
	if m := dayDuration.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 3650 {
			return 0, fmt.Errorf("timeframe %q is out of range", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("timeframe %q is not a duration like 5m or 1h", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("timeframe %q must be positive", s)
	}
	return d, nil
}

// evaluationWindow applies Keptn's rules: not both timeframe and end; start
// needs timeframe or end; end needs start; default: timeframe 5m ending now.
func evaluationWindow(start, end, timeframe string, now time.Time) (time.Time, time.Time, error) {
	switch {
	case timeframe != "" && end != "":
		return time.Time{}, time.Time{}, errors.New("timeframe and end must not be set together")
	case start != "" && timeframe == "" && end == "":
		return time.Time{}, time.Time{}, errors.New("start needs timeframe or end")
	case end != "" && start == "":
		return time.Time{}, time.Time{}, errors.New("end needs start")
	}
	tf := defaultTimeframe
	if timeframe != "" {
		var err error
		if tf, err = parseTimeframe(timeframe); err != nil {
			return time.Time{}, time.Time{}, err
		}
	}
	if start == "" {
		return now.Add(-tf).UTC(), now.UTC(), nil
	}
	s, err := parseTime(start)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("start: %w", err)
	}
	e := s.Add(tf)
	if end != "" {
		if e, err = parseTime(end); err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("end: %w", err)
		}
	}
	if !s.Before(e) {
		return time.Time{}, time.Time{}, errors.New("start must be before end")
	}
	return s, e, nil
}

func (a *api) evaluation(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Labels      map[string]string `json:"labels"`
		Start       string            `json:"start"`
		End         string            `json:"end"`
		Timeframe   string            `json:"timeframe"`
		GitCommitID string            `json:"gitcommitid"`
	}
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req, false); err != nil {
		return err
	}
	project, stage, service := r.PathValue("project"), r.PathValue("stage"), r.PathValue("service")
	_, doc, err := a.loadProject(r.Context(), project)
	var he *httpError
	if errors.As(err, &he) && he.status == http.StatusNotFound {
		return badRequest("project not found")
	}
	if err != nil {
		return err
	}
	st := doc.Stage(stage)
	if st == nil {
		return badRequest("stage not found")
	}
	if st.Service(service) == nil {
		return badRequest("service not found")
	}
	start, end, err := evaluationWindow(req.Start, req.End, req.Timeframe, a.deps.Clock())
	if err != nil {
		return badRequest("%v", err)
	}
	kctx := a.deps.NewID()
	e, err := keptn.NewEvent(keptn.SequenceType(stage, "evaluation", keptn.KindTriggered), keptn.Meta{
		ID: a.deps.NewID(), Source: APISource, Time: a.deps.Clock(), Context: kctx, GitCommitID: req.GitCommitID,
	}, map[string]any{
		"project": project, "stage": stage, "service": service, "labels": req.Labels,
		"evaluation": map[string]string{"start": start.Format(keptnTime), "end": end.Format(keptnTime)},
	})
	if err != nil {
		return err
	}
	if err := a.deps.Publisher.Publish(r.Context(), e); err != nil {
		a.log.Error("publish evaluation", zap.String("keptnContext", kctx), zap.Error(err))
		return errorf(http.StatusInternalServerError, "could not send event")
	}
	writeJSON(w, http.StatusOK, map[string]string{"keptnContext": kctx})
	return nil
}
