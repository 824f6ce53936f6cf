package watch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Doer is the API call the source needs (client.Client implements it).
type Doer interface {
	Do(ctx context.Context, method, path string, query url.Values, body, out any) error
}

// APISource builds snapshots from three API reads: the context's sequence
// state (overall state), its sequence executions (tasks and results) and
// its event history (task times).
type APISource struct {
	API     Doer
	Project string
	Context string
}

type stateView struct {
	Name           string    `json:"name"`
	Service        string    `json:"service"`
	Project        string    `json:"project"`
	Time           time.Time `json:"time"`
	ShKeptnContext string    `json:"shkeptncontext"`
	State          string    `json:"state"`
}

type execution struct {
	Sequence struct {
		Name  string `json:"name"`
		Tasks []struct {
			Name string `json:"name"`
		} `json:"tasks"`
	} `json:"sequence"`
	Status struct {
		State         string     `json:"state"`
		PreviousTasks []prevTask `json:"previousTasks"`
		CurrentTask   *struct {
			Name        string    `json:"name"`
			TriggeredID string    `json:"triggeredID"`
			SentAt      time.Time `json:"sentAt"`
		} `json:"currentTask"`
	} `json:"status"`
	Scope struct {
		Stage string `json:"stage"`
	} `json:"scope"`
	TriggeredAt time.Time `json:"triggeredAt"`
}

type prevTask struct {
	Name        string `json:"name"`
	TriggeredID string `json:"triggeredID"`
	Result      string `json:"result"`
}

type histEvent struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	Time        time.Time `json:"time"`
	Triggeredid string    `json:"triggeredid"`
	Data        struct {
		Stage  string `json:"stage"`
		Result string `json:"result"`
	} `json:"data"`
}

// Snapshot reads the context's current state.
func (s *APISource) Snapshot(ctx context.Context) (Snapshot, error) {
	snap := Snapshot{Project: s.Project, Context: s.Context}
	var states struct {
		States []stateView `json:"states"`
	}
	if err := s.API.Do(ctx, http.MethodGet, "/controlPlane/v1/sequence/"+url.PathEscape(s.Project),
		url.Values{"keptnContext": {s.Context}}, nil, &states); err != nil {
		return snap, err
	}
	if len(states.States) == 0 {
		return snap, nil
	}
	st := states.States[0]
	snap.Found, snap.Sequence, snap.Service, snap.State, snap.Started = true, st.Name, st.Service, st.State, st.Time

	var execs struct {
		SequenceExecutions []execution `json:"sequenceExecutions"`
	}
	if err := s.API.Do(ctx, http.MethodGet, "/controlPlane/v1/sequence-execution",
		url.Values{"project": {s.Project}, "keptnContext": {s.Context}}, nil, &execs); err != nil {
		return snap, err
	}
	hist, err := s.history(ctx)
	if err != nil {
		return snap, err
	}
	byID := map[string]histEvent{}
	finishedOf := map[string]histEvent{} // triggeredid -> .finished
	for _, e := range hist {
		byID[e.ID] = e
		if strings.HasSuffix(e.Type, ".finished") && e.Triggeredid != "" {
			if old, ok := finishedOf[e.Triggeredid]; !ok || e.Time.After(old.Time) {
				finishedOf[e.Triggeredid] = e
			}
		}
	}
	// Oldest first: the stages in the order they ran.
	for i := len(execs.SequenceExecutions) - 1; i >= 0; i-- {
		x := execs.SequenceExecutions[i]
		r := Run{Stage: x.Scope.Stage, Sequence: x.Sequence.Name, State: x.Status.State, Started: x.TriggeredAt}
		prev := x.Status.PreviousTasks
		seen := map[string]int{}
		for _, t := range x.Sequence.Tasks {
			task := Task{Name: t.Name, Status: Pending}
			// A task name may repeat in a sequence: match its n-th result.
			n := seen[t.Name]
			seen[t.Name]++
			if k := nth(prev, t.Name, n); k >= 0 {
				p := prev[k]
				task.Status, task.Result = Done, normResult(p.Result)
				if tr, ok := byID[p.TriggeredID]; ok {
					task.Started = tr.Time
				}
				if f, ok := finishedOf[p.TriggeredID]; ok {
					task.Ended = f.Time
				}
				r.Result = worse(orPass(r.Result), p.Result)
			} else if ct := x.Status.CurrentTask; ct != nil && ct.Name == t.Name && task.Status == Pending && !hasRunning(r.Tasks) {
				task.Status, task.Started = Running, ct.SentAt
			}
			r.Tasks = append(r.Tasks, task)
		}
		if r.State == "finished" || r.State == "timedOut" {
			// The run's own .finished carries the engine's result.
			for _, e := range hist {
				if e.Type == "sh.keptn.event."+r.Stage+"."+r.Sequence+".finished" {
					if e.Data.Result != "" {
						r.Result = normResult(e.Data.Result)
					}
					r.Ended = e.Time
					break
				}
			}
			if r.Result == "" {
				r.Result = "pass"
			}
		}
		if r.Ended.After(snap.Ended) {
			snap.Ended = r.Ended
		}
		snap.Runs = append(snap.Runs, r)
	}
	if !snap.Over() {
		snap.Ended = time.Time{}
	}
	return snap, nil
}

func orPass(r string) string {
	if r == "" {
		return "pass"
	}
	return r
}

func hasRunning(ts []Task) bool {
	for _, t := range ts {
		if t.Status == Running {
			return true
		}
	}
	return false
}

// nth returns the index of the n-th (0-based) previous task named name.
func nth(prev []prevTask, name string, n int) int {
	for i, p := range prev {
		if p.Name == name {
			if n == 0 {
				return i
			}
			n--
		}
	}
	return -1
}

// history reads the context's events (newest first), up to 1000.
func (s *APISource) history(ctx context.Context) ([]histEvent, error) {
	var all []histEvent
	q := url.Values{"project": {s.Project}, "keptnContext": {s.Context}, "pageSize": {"100"}}
	for range 10 {
		var page struct {
			Events      []histEvent     `json:"events"`
			NextPageKey json.RawMessage `json:"nextPageKey"`
		}
		if err := s.API.Do(ctx, http.MethodGet, "/mongodb-datastore/event", q, nil, &page); err != nil {
			return nil, fmt.Errorf("event history: %w", err)
		}
		all = append(all, page.Events...)
		next := strings.Trim(string(page.NextPageKey), `"`)
		if next == "" || next == "0" || len(page.Events) == 0 {
			break
		}
		q.Set("nextPageKey", next)
	}
	return all, nil
}
