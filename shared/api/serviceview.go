package api

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/store"
)

// A service's deployedImage and lastEventTypes, which Keptn kept in its
// projects view and updated on every task event, are derived from the event
// history when services are shown: Slipway keeps no per-service document
// that every event would have to rewrite (one project document for all
// services would serialise a project's events on it).
//
// One answer reads the project's newest activityScan history events once,
// for all the services it shows (a single service's answer reads only that
// service's events):
//
//   - lastEventTypes: for each task event type (.triggered, .started,
//     .finished, ...) the newest event of the stage's service in that window;
//   - deployedImage: data.configurationChange.values.image of the
//     deployment.triggered answered by the newest deployment.finished of the
//     stage's service in that window, as Keptn took it from the sequence's
//     input on every deployment.finished.

// activityScan bounds the history events read for one answer.
const activityScan = 5000

var typeDeploymentFinished = keptn.TaskType("deployment", keptn.KindFinished)

type stageService struct{ stage, service string }

// fillActivity fills the services of the stages of one project.
func (a *api) fillActivity(ctx context.Context, project string, stages []expandedStage) error {
	want := map[stageService]*expandedService{}
	var one stageService
	for i := range stages {
		for j := range stages[i].Services {
			s := &stages[i].Services[j]
			one = stageService{stages[i].StageName, s.ServiceName}
			want[one] = s
		}
	}
	if len(want) == 0 {
		return nil
	}
	q := store.EventQuery{Project: project}
	if len(want) == 1 {
		q.Stage, q.Service = one.stage, one.service
	}
	deployed := map[stageService]string{} // the newest deployment.finished's triggeredid
	page := store.Page{Size: maxPageSize}
	for scanned := 0; scanned < activityScan; {
		evs, next, err := a.deps.Store.ListEvents(ctx, q, page)
		if err != nil {
			return fmt.Errorf("services' history: %w", err)
		}
		for _, e := range evs {
			scanned++
			k := stageService{e.Stage, e.Service}
			s, ok := want[k]
			if !ok {
				continue
			}
			if _, seen := s.LastEventTypes[e.Type]; !seen {
				if t, err := keptn.ParseType(e.Type); err == nil && t.IsTask() {
					s.LastEventTypes[e.Type] = eventContext{EventID: e.ID, KeptnContext: e.KeptnContext, Time: nanos(e.Time)}
				}
			}
			if _, seen := deployed[k]; !seen && e.Type == typeDeploymentFinished {
				deployed[k] = e.TriggeredID
			}
		}
		if next == "" {
			break
		}
		page.Token = next
	}
	for k, tid := range deployed {
		if tid == "" {
			continue
		}
		trig, _, err := a.deps.Store.ListEvents(ctx, store.EventQuery{Project: project, ID: tid}, store.Page{Size: 1})
		if err != nil {
			return fmt.Errorf("deployment trigger %s: %w", tid, err)
		}
		if len(trig) == 1 {
			want[k].DeployedImage = imageOf(trig[0].Body)
		}
	}
	return nil
}

// imageOf reads data.configurationChange.values.image of a stored event.
func imageOf(body []byte) string {
	var ev struct {
		Data struct {
			ConfigurationChange struct {
				Values map[string]any `json:"values"`
			} `json:"configurationChange"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &ev) != nil {
		return ""
	}
	img, _ := ev.Data.ConfigurationChange.Values["image"].(string)
	return img
}
