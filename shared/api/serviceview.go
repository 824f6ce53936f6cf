package api

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/store"
)

// A service's deployedImage and lastEventTypes, which Keptn kept in its
// projects view and updated on every task event, are derived from the event
// history when a service is shown: Slipway keeps no per-service document that
// every event would have to rewrite (one project document for all services
// would serialise a project's events on it).
//
//   - lastEventTypes: for each task event type (…​.triggered, .started,
//     .finished, …) the newest event of the service's stage and service, found
//     in its newest activityScan history events (older types are left out).
//   - deployedImage: data.configurationChange.values.image of the
//     deployment.triggered event answered by the service's newest
//     deployment.finished, as Keptn took it from the sequence's input.

// activityScan bounds the history events read per service.
const activityScan = 500

// activityWorkers bounds the services read at once for one answer.
const activityWorkers = 8

var typeDeploymentFinished = keptn.TaskType("deployment", keptn.KindFinished)

func (a *api) serviceActivity(ctx context.Context, project, stage string, s *expandedService) error {
	q := store.EventQuery{Project: project, Stage: stage, Service: s.ServiceName}
	page := store.Page{Size: maxPageSize}
	for scanned := 0; scanned < activityScan; {
		evs, next, err := a.deps.Store.ListEvents(ctx, q, page)
		if err != nil {
			return fmt.Errorf("service %s history: %w", s.ServiceName, err)
		}
		for _, e := range evs {
			scanned++
			if _, seen := s.LastEventTypes[e.Type]; seen {
				continue
			}
			if t, err := keptn.ParseType(e.Type); err != nil || !t.IsTask() {
				continue
			}
			s.LastEventTypes[e.Type] = eventContext{EventID: e.ID, KeptnContext: e.KeptnContext, Time: nanos(e.Time)}
		}
		if next == "" {
			break
		}
		page.Token = next
	}

	q.Type = typeDeploymentFinished
	fin, _, err := a.deps.Store.ListEvents(ctx, q, store.Page{Size: 1})
	if err != nil {
		return fmt.Errorf("service %s deployments: %w", s.ServiceName, err)
	}
	if len(fin) == 0 || fin[0].TriggeredID == "" {
		return nil
	}
	trig, _, err := a.deps.Store.ListEvents(ctx, store.EventQuery{Project: project, ID: fin[0].TriggeredID}, store.Page{Size: 1})
	if err != nil {
		return fmt.Errorf("service %s deployment trigger: %w", s.ServiceName, err)
	}
	if len(trig) == 1 {
		var ev struct {
			Data struct {
				ConfigurationChange struct {
					Values map[string]any `json:"values"`
				} `json:"configurationChange"`
			} `json:"data"`
		}
		if json.Unmarshal(trig[0].Body, &ev) == nil {
			if img, ok := ev.Data.ConfigurationChange.Values["image"].(string); ok {
				s.DeployedImage = img
			}
		}
	}
	return nil
}

// fillActivity fills the services of the stages of one project.
func (a *api) fillActivity(ctx context.Context, project string, stages []expandedStage) error {
	type job struct {
		stage string
		svc   *expandedService
	}
	var jobs []job
	for i := range stages {
		for j := range stages[i].Services {
			jobs = append(jobs, job{stages[i].StageName, &stages[i].Services[j]})
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan job)
	)
	for range min(activityWorkers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				if err := a.serviceActivity(ctx, project, j.stage, j.svc); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	return first
}
