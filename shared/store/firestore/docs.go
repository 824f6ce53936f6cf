package firestore

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/shared/store"
)

// Document layouts. The field names are part of the deployment contract:
// firestore.indexes.json refers to them, so they must not change casually.
// body/content hold opaque bytes that are never queried; production should
// exempt them from single-field indexing (fieldOverrides with no indexes).

// runDoc is a document of <prefix>runs; the document id is the run id.
type runDoc struct {
	Project         string    `firestore:"project"`
	Stage           string    `firestore:"stage"`
	Service         string    `firestore:"service"`
	Sequence        string    `firestore:"sequence"`
	KeptnContext    string    `firestore:"keptnContext"`
	State           string    `firestore:"state"`
	TriggeredAt     time.Time `firestore:"triggeredAt"`
	TaskTriggeredID string    `firestore:"taskTriggeredId"`
	OpenType        string    `firestore:"openType"`
	OpenSince       time.Time `firestore:"openSince"`
	// Due is null when nothing is pending, so the sweeper's range query
	// (due <= now) never sees those runs.
	Due *time.Time `firestore:"due"`
	// AckedSeq is written alone by AckOutbox (a field update, no transaction).
	AckedSeq int64  `firestore:"ackedSeq"`
	Body     []byte `firestore:"body"`
}

func toRunDoc(r *store.Run) *runDoc {
	d := &runDoc{
		Project: r.Project, Stage: r.Stage, Service: r.Service, Sequence: r.Sequence,
		KeptnContext: r.KeptnContext, State: r.State, TriggeredAt: r.TriggeredAt,
		TaskTriggeredID: r.TaskTriggeredID, OpenType: r.OpenType, OpenSince: r.OpenSince, AckedSeq: r.AckedSeq, Body: r.Body,
	}
	if !r.Due.IsZero() {
		due := r.Due
		d.Due = &due
	}
	return d
}

func (d *runDoc) run(id string) *store.Run {
	r := &store.Run{
		ID: id, Project: d.Project, Stage: d.Stage, Service: d.Service, Sequence: d.Sequence,
		KeptnContext: d.KeptnContext, State: d.State, TriggeredAt: utc(d.TriggeredAt),
		TaskTriggeredID: d.TaskTriggeredID, OpenType: d.OpenType, OpenSince: utc(d.OpenSince), AckedSeq: d.AckedSeq, Body: d.Body,
	}
	if d.Due != nil {
		r.Due = utc(*d.Due)
	}
	return r
}

// laneDoc is a document of <prefix>lanes, id docID(project, stage, service).
type laneDoc struct {
	Project string `firestore:"project"`
	Stage   string `firestore:"stage"`
	Service string `firestore:"service"`
	Body    []byte `firestore:"body"`
}

// contextDoc is a document of <prefix>contexts, id docID(project, keptnContext).
type contextDoc struct {
	Project      string `firestore:"project"`
	KeptnContext string `firestore:"keptnContext"`
	Body         []byte `firestore:"body"`
}

// projectDoc is a document of <prefix>projects, id docID(name).
type projectDoc struct {
	Name      string    `firestore:"name"`
	CreatedAt time.Time `firestore:"createdAt"`
	Body      []byte    `firestore:"body"`
}

// eventDoc is a document of <prefix>events; the document id is the event id.
type eventDoc struct {
	Project      string    `firestore:"project"`
	KeptnContext string    `firestore:"keptnContext"`
	Type         string    `firestore:"type"`
	Stage        string    `firestore:"stage"`
	Service      string    `firestore:"service"`
	Source       string    `firestore:"source"`
	TriggeredID  string    `firestore:"triggeredId"`
	Time         time.Time `firestore:"time"`
	Body         []byte    `firestore:"body"`
}

func toEventDoc(e *store.Event) *eventDoc {
	return &eventDoc{Project: e.Project, KeptnContext: e.KeptnContext, Type: e.Type, Stage: e.Stage,
		Service: e.Service, Source: e.Source, TriggeredID: e.TriggeredID, Time: e.Time, Body: e.Body}
}

func (d *eventDoc) event(id string) *store.Event {
	return &store.Event{ID: id, Project: d.Project, KeptnContext: d.KeptnContext, Type: d.Type, Stage: d.Stage,
		Service: d.Service, Source: d.Source, TriggeredID: d.TriggeredID, Time: utc(d.Time), Body: d.Body}
}

// resourceDoc is a document of <prefix>resources, id docID(project, stage, service, uri).
type resourceDoc struct {
	Project   string    `firestore:"project"`
	Stage     string    `firestore:"stage"`
	Service   string    `firestore:"service"`
	URI       string    `firestore:"uri"`
	Content   []byte    `firestore:"content"`
	UpdatedAt time.Time `firestore:"updatedAt"`
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// Firestore keeps microseconds; values held in a transaction's write buffer
// are truncated the same way so reads inside and after the transaction agree.
func trunc(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

// docID builds a document id from key parts. Parts are escaped so that '/'
// (a path separator in Firestore) and the '|' joining parts cannot occur in
// them, which also keeps ("a|b","c") and ("a","b|c") apart; ids Firestore
// reserves ("", ".", "..", "__x__") get their first byte escaped.
func docID(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('|')
		}
		for j := 0; j < len(p); j++ {
			switch c := p[j]; c {
			case '%', '/', '|':
				fmt.Fprintf(&b, "%%%02X", c)
			default:
				b.WriteByte(c)
			}
		}
	}
	id := b.String()
	switch {
	case id == "":
		return "%00"
	case id == "." || id == ".." || (strings.HasPrefix(id, "__") && strings.HasSuffix(id, "__")):
		return fmt.Sprintf("%%%02X", id[0]) + id[1:]
	}
	return id
}

// parseID inverts docID for single-part ids (runs, events).
func parseID(id string) (string, error) {
	if id == "%00" {
		return "", nil
	}
	s, err := url.PathUnescape(id)
	if err != nil {
		return "", fmt.Errorf("document id %q: %w", id, err)
	}
	return s, nil
}
