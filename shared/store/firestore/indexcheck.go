package firestore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
)

// QueryShape is one kind of query the driver sends to Firestore, runnable
// against a Store through the driver's real code path.
type QueryShape struct {
	Name string
	// Query is what the driver sends, in Firestore terms.
	Query string
	Run   func(ctx context.Context, s *Driver) error
}

// QueryShapes lists the query shapes the driver issues, for checking
// firestore.indexes.json: run them all against an emulator store
// (RunQueryShapes), then read the emulator's indexUsage report
// (fstest.IndexUsage), which names the composite indexes they need.
//
// ListRuns, ListOpen and ListEvents accept any subset of their equality
// filters; the list covers each filter alone, each with project, and the
// combinations the Keptn API and the engine use. Other combinations are valid
// queries that production serves by merging the per-field composite indexes
// (Firestore index merging), or rejects with FailedPrecondition naming the
// missing index. Point lookups (Get/Create/Set/Delete by id) need no index.
func QueryShapes() []QueryShape {
	now := time.Now()
	shapes := []QueryShape{
		{
			Name:  "Tx.RunByTask",
			Query: "runs where project == ? and taskTriggeredId == ? limit n",
			Run: func(ctx context.Context, s *Driver) error {
				return s.Update(ctx, func(tx store.Tx) error {
					_, err := tx.RunByTask("p", "t")
					return ignoreNotFound(err)
				})
			},
		},
		{
			Name:  "Tx.RunsByContext",
			Query: "runs where project == ? and keptnContext == ? order by triggeredAt asc, __name__ asc",
			Run: func(ctx context.Context, s *Driver) error {
				return s.Update(ctx, func(tx store.Tx) error {
					_, err := tx.RunsByContext("p", "c")
					return err
				})
			},
		},
		{
			Name:  "DueRuns",
			Query: "runs where due <= ? order by due asc, __name__ asc select () limit n",
			Run: func(ctx context.Context, s *Driver) error {
				_, err := s.DueRuns(ctx, now, 10)
				return err
			},
		},
		{
			Name:  "ListProjects",
			Query: "projects order by name asc, __name__ asc",
			Run: func(ctx context.Context, s *Driver) error {
				_, _, err := s.ListProjects(ctx, store.Page{Size: 10})
				return err
			},
		},
		{
			Name:  "ListResources",
			Query: "resources where project == ? and stage == ? and service == ? order by uri asc, __name__ asc",
			Run: func(ctx context.Context, s *Driver) error {
				_, _, err := s.ListResources(ctx, "p", "s", "x", store.Page{Size: 10})
				return err
			},
		},
		{
			Name:  "DeleteProject",
			Query: "runs|lanes|contexts|events|resources where project == ? select () limit n",
			Run: func(ctx context.Context, s *Driver) error {
				// The cascade only runs for an existing project.
				if err := s.CreateProject(ctx, &store.Project{Name: "indexcheck-delete"}); err != nil && !errors.Is(err, store.ErrAlreadyExists) {
					return err
				}
				return s.DeleteProject(ctx, "indexcheck-delete")
			},
		},
	}

	runQueries := map[string]store.RunQuery{
		"project":                  {Project: "p"},
		"stage":                    {Stage: "s"},
		"service":                  {Service: "x"},
		"sequence":                 {Sequence: "q"},
		"state":                    {State: "started"},
		"keptnContext":             {KeptnContext: "c"},
		"project,stage":            {Project: "p", Stage: "s"},
		"project,service":          {Project: "p", Service: "x"},
		"project,sequence":         {Project: "p", Sequence: "q"},
		"project,state":            {Project: "p", State: "started"},
		"project,keptnContext":     {Project: "p", KeptnContext: "c"},
		"project,stage,service":    {Project: "p", Stage: "s", Service: "x"},
		"project,sequence,state":   {Project: "p", Sequence: "q", State: "started"},
		"project,stage,sequence":   {Project: "p", Stage: "s", Sequence: "q"},
		"project,stage,service,st": {Project: "p", Stage: "s", Service: "x", State: "started"},
		"all":                      {Project: "p", Stage: "s", Service: "x", Sequence: "q", State: "started", KeptnContext: "c"},
	}
	shapes = append(shapes, QueryShape{
		Name:  "ListRuns()",
		Query: "runs order by triggeredAt desc, __name__ desc",
		Run: func(ctx context.Context, s *Driver) error {
			_, _, err := s.ListRuns(ctx, store.RunQuery{}, store.Page{Size: 10})
			return err
		},
	})
	for name, q := range runQueries {
		shapes = append(shapes, QueryShape{
			Name:  "ListRuns(" + name + ")",
			Query: "runs where <" + name + "> == ? order by triggeredAt desc, __name__ desc",
			Run: func(ctx context.Context, s *Driver) error {
				_, _, err := s.ListRuns(ctx, q, store.Page{Size: 10})
				return err
			},
		})
	}

	const typ = "sh.keptn.event.deployment.triggered"
	openQueries := map[string]store.OpenQuery{
		"":                        {},
		"project":                 {Project: "p"},
		"stage":                   {Stage: "s"},
		"service":                 {Service: "x"},
		"taskTriggeredId":         {TaskTriggeredID: "t"},
		"project,stage":           {Project: "p", Stage: "s"},
		"project,stage,service":   {Project: "p", Stage: "s", Service: "x"},
		"project,taskTriggeredId": {Project: "p", TaskTriggeredID: "t"},
	}
	for name, q := range openQueries {
		q.Type = typ
		for _, until := range []bool{false, true} {
			q := q // each shape keeps its own query
			label, ineq := name, ""
			if until {
				q.Until = now
				label, ineq = name+",until", " and openSince <= ?"
			}
			shapes = append(shapes, QueryShape{
				Name:  "ListOpen(openType," + label + ")",
				Query: "runs where openType == ? <" + name + "> == ?" + ineq + " order by openSince desc, __name__ desc",
				Run: func(ctx context.Context, s *Driver) error {
					_, _, err := s.ListOpen(ctx, q, store.Page{Size: 10})
					return err
				},
			})
		}
	}

	eventQueries := map[string]store.EventQuery{
		"":                                {},
		"project":                         {Project: "p"},
		"keptnContext":                    {KeptnContext: "c"},
		"type":                            {Type: typ},
		"stage":                           {Stage: "s"},
		"service":                         {Service: "x"},
		"services(in)":                    {Services: []string{"x", "y"}},
		"source":                          {Source: "src"},
		"triggeredId":                     {TriggeredID: "t"},
		"project,keptnContext":            {Project: "p", KeptnContext: "c"},
		"project,type":                    {Project: "p", Type: typ},
		"project,stage":                   {Project: "p", Stage: "s"},
		"project,service":                 {Project: "p", Service: "x"},
		"project,source":                  {Project: "p", Source: "src"},
		"project,stage,service":           {Project: "p", Stage: "s", Service: "x"},
		"project,stage,services(in)":      {Project: "p", Stage: "s", Services: []string{"x", "y"}},
		"project,keptnContext,type":       {Project: "p", KeptnContext: "c", Type: typ},
		"keptnContext,type":               {KeptnContext: "c", Type: typ},
		"triggeredId,type":                {TriggeredID: "t", Type: typ},
		"project,stage,service,type":      {Project: "p", Stage: "s", Service: "x", Type: typ},
		"project,keptnContext,stage,type": {Project: "p", KeptnContext: "c", Stage: "s", Type: typ},
	}
	for name, q := range eventQueries {
		for _, bounds := range []string{"", "from", "before", "from,before"} {
			q := q // each shape keeps its own query
			label, ineq := name, ""
			switch bounds {
			case "from":
				q.From = now.Add(-time.Hour)
				ineq = " and time > ?"
			case "before":
				q.Before = now
				ineq = " and time < ?"
			case "from,before":
				q.From, q.Before = now.Add(-time.Hour), now
				ineq = " and time > ? and time < ?"
			}
			if bounds != "" {
				label += "," + bounds
			}
			shapes = append(shapes, QueryShape{
				Name:  "ListEvents(" + label + ")",
				Query: "events where <" + name + "> == ?" + ineq + " order by time desc, __name__ desc",
				Run: func(ctx context.Context, s *Driver) error {
					_, _, err := s.ListEvents(ctx, q, store.Page{Size: 10})
					return err
				},
			})
		}
	}
	slices.SortFunc(shapes, func(a, b QueryShape) int { return strings.Compare(a.Name, b.Name) })
	return shapes
}

// RunQueryShapes runs every shape of QueryShapes once against s.
func RunQueryShapes(ctx context.Context, s *Driver) error {
	for _, shape := range QueryShapes() {
		if err := shape.Run(ctx, s); err != nil {
			return fmt.Errorf("query shape %s: %w", shape.Name, err)
		}
	}
	return nil
}

func ignoreNotFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}
