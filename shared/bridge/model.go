package bridge

import (
	"context"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/shared/engine"
)

// The API's JSON, decoded only as far as the pages need it.

type project struct {
	ProjectName  string `json:"projectName"`
	CreationDate string `json:"creationDate"`
	Stages       []struct {
		StageName string `json:"stageName"`
		Services  []struct {
			ServiceName   string `json:"serviceName"`
			DeployedImage string `json:"deployedImage"`
		} `json:"services"`
	} `json:"stages"`
}

func (p *project) stageNames() []string {
	var out []string
	for _, s := range p.Stages {
		out = append(out, s.StageName)
	}
	return out
}

// serviceNames lists every service once, in first-seen order.
func (p *project) serviceNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, st := range p.Stages {
		for _, sv := range st.Services {
			if !seen[sv.ServiceName] {
				seen[sv.ServiceName] = true
				out = append(out, sv.ServiceName)
			}
		}
	}
	return out
}

type eventRef struct {
	Type string    `json:"type"`
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
}

type stageState struct {
	Name              string    `json:"name"`
	Image             string    `json:"image"`
	State             string    `json:"state"`
	LatestEvent       *eventRef `json:"latestEvent"`
	LatestFailedEvent *eventRef `json:"latestFailedEvent"`
	LatestEvaluation  *struct {
		Result string  `json:"result"`
		Score  float64 `json:"score"`
	} `json:"latestEvaluation"`
}

type seqState struct {
	Name           string       `json:"name"`
	Service        string       `json:"service"`
	Project        string       `json:"project"`
	Time           time.Time    `json:"time"`
	ShKeptnContext string       `json:"shkeptncontext"`
	State          string       `json:"state"`
	ProblemTitle   string       `json:"problemTitle"`
	Stages         []stageState `json:"stages"`
}

func (s *seqState) stage(name string) *stageState {
	for i := range s.Stages {
		if s.Stages[i].Name == name {
			return &s.Stages[i]
		}
	}
	return nil
}

type taskResult struct {
	Name        string `json:"name"`
	TriggeredID string `json:"triggeredID"`
	Result      string `json:"result"`
	Status      string `json:"status"`
	Message     string `json:"message"`
}

type execution struct {
	ID       string `json:"_id"`
	Sequence struct {
		Name  string `json:"name"`
		Tasks []struct {
			Name string `json:"name"`
		} `json:"tasks"`
	} `json:"sequence"`
	Status struct {
		State         string       `json:"state"`
		PreviousTasks []taskResult `json:"previousTasks"`
		CurrentTask   *struct {
			Name        string `json:"name"`
			TriggeredID string `json:"triggeredID"`
		} `json:"currentTask"`
	} `json:"status"`
	Scope struct {
		Project      string `json:"project"`
		Stage        string `json:"stage"`
		Service      string `json:"service"`
		KeptnContext string `json:"keptnContext"`
	} `json:"scope"`
	InputProperties map[string]any `json:"inputProperties"`
	TriggeredAt     time.Time      `json:"triggeredAt"`
}

// image is the configurationChange.values.image of the run's trigger.
func (e *execution) Image() string {
	cc, _ := e.InputProperties["configurationChange"].(map[string]any)
	vals, _ := cc["values"].(map[string]any)
	img, _ := vals["image"].(string)
	return img
}

// Result is the run's result by the engine's rule (the worst result of its
// completed tasks), "" while none completed.
func (e *execution) Result() string {
	if len(e.Status.PreviousTasks) == 0 {
		return ""
	}
	tasks := make([]engine.TaskResult, len(e.Status.PreviousTasks))
	for i, t := range e.Status.PreviousTasks {
		tasks[i] = engine.TaskResult{Result: t.Result, Status: t.Status}
	}
	result, _ := engine.Worst(tasks)
	return result
}

// terminal reports whether a run state ends the run.
func terminal(state string) bool { return state == "finished" || state == "timedOut" }

// cloudEvent is a history event: its decoded head and its raw JSON.
type cloudEvent struct {
	ID             string          `json:"id"`
	Type           string          `json:"type"`
	Source         string          `json:"source"`
	Time           time.Time       `json:"time"`
	Shkeptncontext string          `json:"shkeptncontext"`
	Triggeredid    string          `json:"triggeredid"`
	Data           eventData       `json:"data"`
	Raw            json.RawMessage `json:"-"`
}

type eventData struct {
	Project string `json:"project"`
	Stage   string `json:"stage"`
	Service string `json:"service"`
	Result  string `json:"result"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

// API reads.

func (s *Server) project(ctx context.Context, name string) (*project, error) {
	var p project
	if err := s.api.get(ctx, "/api/controlPlane/v1/project/"+url.PathEscape(name), nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// states returns the context views of the given contexts (one API call).
func (s *Server) states(ctx context.Context, projectName string, contexts []string) (map[string]seqState, error) {
	out := map[string]seqState{}
	if len(contexts) == 0 {
		return out, nil
	}
	var res struct {
		States []seqState `json:"states"`
	}
	q := url.Values{"keptnContext": {strings.Join(contexts, ",")}}
	if err := s.api.get(ctx, "/api/controlPlane/v1/sequence/"+url.PathEscape(projectName), q, &res); err != nil {
		return nil, err
	}
	for _, st := range res.States {
		out[st.ShKeptnContext] = st
	}
	return out, nil
}

// runFilter selects sequence executions.
type runFilter struct {
	Stage, Service, Name, Status, KeptnContext string
}

// executions lists runs newest first; size 0 = all (the API caps at 1000).
func (s *Server) executions(ctx context.Context, projectName string, f runFilter, size int, token string) ([]execution, string, error) {
	q := url.Values{"project": {projectName}, "pageSize": {strconv.Itoa(size)}}
	for k, v := range map[string]string{"stage": f.Stage, "service": f.Service, "name": f.Name,
		"status": f.Status, "keptnContext": f.KeptnContext, "nextPageKey": token} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var res struct {
		SequenceExecutions []execution `json:"sequenceExecutions"`
		NextPageKey        string      `json:"nextPageKey"`
	}
	if err := s.api.get(ctx, "/api/controlPlane/v1/sequence-execution", q, &res); err != nil {
		return nil, "", err
	}
	return res.SequenceExecutions, res.NextPageKey, nil
}

// maxHistory bounds the events one sequence page reads (a 50-task sequence
// over several stages has a few hundred).
const maxHistory = 2000

// history returns a context's events, oldest first.
func (s *Server) history(ctx context.Context, projectName, kctx string) ([]cloudEvent, error) {
	var all []cloudEvent
	next := ""
	for len(all) < maxHistory {
		q := url.Values{"project": {projectName}, "keptnContext": {kctx}, "pageSize": {"100"}}
		if next != "" {
			q.Set("nextPageKey", next)
		}
		var res struct {
			Events      []json.RawMessage `json:"events"`
			NextPageKey string            `json:"nextPageKey"`
		}
		if err := s.api.get(ctx, "/api/mongodb-datastore/event", q, &res); err != nil {
			return nil, err
		}
		for _, raw := range res.Events {
			var e cloudEvent
			if json.Unmarshal(raw, &e) != nil {
				continue
			}
			e.Raw = raw
			all = append(all, e)
		}
		if res.NextPageKey == "" || res.NextPageKey == "0" || len(res.Events) == 0 {
			break
		}
		next = res.NextPageKey
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	return all, nil
}

// openEvents lists the open .triggered events of a task type in a context.
func (s *Server) openEvents(ctx context.Context, projectName, stage, task, kctx string) ([]cloudEvent, error) {
	q := url.Values{"project": {projectName}, "pageSize": {"100"}}
	if stage != "" {
		q.Set("stage", stage)
	}
	var res struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := s.api.get(ctx, "/api/controlPlane/v1/event/triggered/sh.keptn.event."+task+".triggered", q, &res); err != nil {
		return nil, err
	}
	var out []cloudEvent
	for _, raw := range res.Events {
		var e cloudEvent
		if json.Unmarshal(raw, &e) == nil && e.Shkeptncontext == kctx {
			e.Raw = raw
			out = append(out, e)
		}
	}
	return out, nil
}
