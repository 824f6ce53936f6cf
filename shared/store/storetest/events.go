package storetest

// The event history.

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/slipwayhq/slipway/shared/store"
)

func eventFixture() []*store.Event {
	var events []*store.Event
	for i := 0; i < 20; i++ {
		events = append(events, &store.Event{
			ID:           fmt.Sprintf("ev-%02d", i),
			Project:      []string{"p1", "p2", ""}[i%3],
			KeptnContext: []string{"c1", "c2"}[(i/2)%2],
			Type:         []string{"sh.keptn.event.deployment.triggered", "sh.keptn.event.deployment.finished"}[(i/3)%2],
			Stage:        []string{"dev", "prod"}[(i/4)%2],
			Service:      []string{"carts", "orders", "payment"}[(i/5)%3],
			Source:       []string{"shipyard-controller", "helm-service"}[(i/6)%2],
			TriggeredID:  []string{"", "trig-1", "trig-2"}[(i/7)%3],
			Time:         at(i),
			Body:         []byte(fmt.Sprintf(`{"id":"ev-%02d"}`, i)),
		})
	}
	tie := *events[10]
	tie.ID = "ev-10-tie"
	return append(events, &tie)
}

func testEvents(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	events := eventFixture()
	for _, e := range events {
		must(t, "append "+e.ID, s.AppendEvent(t.Context(), e))
	}
	// Appending an ID again keeps the first version.
	dup := *events[3]
	dup.Body, dup.Project, dup.Time = []byte("second"), "p2", at(100)
	must(t, "append duplicate", s.AppendEvent(t.Context(), &dup))

	byID := map[string]*store.Event{}
	for _, e := range events {
		byID[e.ID] = e
	}
	tests := map[string]store.EventQuery{
		"all":                    {},
		"project":                {Project: "p1"},
		"keptnContext":           {KeptnContext: "c2"},
		"type":                   {Type: "sh.keptn.event.deployment.finished"},
		"stage":                  {Stage: "prod"},
		"service":                {Service: "orders"},
		"source":                 {Source: "helm-service"},
		"id":                     {ID: "ev-03"},
		"id and mismatch":        {ID: "ev-03", Project: "p2"},
		"unknown id":             {ID: "nope"},
		"triggeredID":            {TriggeredID: "trig-1"},
		"services any of":        {Services: []string{"carts", "payment"}},
		"services and service":   {Services: []string{"carts", "payment"}, Service: "carts"},
		"services and other":     {Services: []string{"carts"}, Service: "orders"},
		"from exclusive":         {From: at(10)},
		"before exclusive":       {Before: at(10)},
		"from and before":        {From: at(4), Before: at(15)},
		"project+context+type":   {Project: "p1", KeptnContext: "c1", Type: "sh.keptn.event.deployment.triggered"},
		"project+stage+services": {Project: "p2", Stage: "dev", Services: []string{"carts", "orders"}, From: at(0)},
		"no match":               {Project: "nope"},
	}
	for name, q := range tests {
		t.Run(name, func(t *testing.T) {
			var match []*store.Event
			for _, e := range events {
				if (q.Project == "" || e.Project == q.Project) && (q.KeptnContext == "" || e.KeptnContext == q.KeptnContext) &&
					(q.Type == "" || e.Type == q.Type) && (q.Stage == "" || e.Stage == q.Stage) &&
					(q.Service == "" || e.Service == q.Service) && (q.Source == "" || e.Source == q.Source) &&
					(q.ID == "" || e.ID == q.ID) && (q.TriggeredID == "" || e.TriggeredID == q.TriggeredID) &&
					(len(q.Services) == 0 || slices.Contains(q.Services, e.Service)) &&
					(q.From.IsZero() || e.Time.After(q.From)) && (q.Before.IsZero() || e.Time.Before(q.Before)) {
					match = append(match, e)
				}
			}
			slices.SortFunc(match, func(a, b *store.Event) int {
				if c := b.Time.Compare(a.Time); c != 0 {
					return c
				}
				return compareStrings(b.ID, a.ID)
			})
			var want []string
			for _, e := range match {
				want = append(want, e.ID)
			}
			for _, size := range pageSizes {
				got := collect(t, size, func(p store.Page) ([]*store.Event, string, error) {
					return s.ListEvents(t.Context(), q, p)
				})
				var ids []string
				for _, e := range got {
					ids = append(ids, e.ID)
					w := byID[e.ID]
					g := *e
					g.Time, g.Body = normTime(g.Time), normBytes(g.Body)
					if !reflect.DeepEqual(g, *w) {
						t.Errorf("listed event:\n got %+v\nwant %+v", g, *w)
					}
				}
				checkIDs(t, fmt.Sprintf("size %d", size), ids, want)
			}
		})
	}
}
