package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/slipwayhq/slipway/shared/keptn"
)

// incoming is a Keptn event as clients post it (KeptnContextExtendedCE).
type incoming struct {
	ID, Source, Type string
	KeptnContext     string
	TriggeredID      string
	GitCommitID      string
	KeptnSpecVersion string
	Data             json.RawMessage // nil when absent
	Extensions       map[string]any
	dataObj          map[string]any
}

// Top-level members that are not passed through as extensions.
var envelopeFields = map[string]bool{
	"specversion": true, "id": true, "source": true, "type": true, "time": true,
	"datacontenttype": true, "contenttype": true, "dataschema": true, "subject": true,
	"data": true, "data_base64": true, "extensions": true,
	keptn.ExtContext: true, keptn.ExtTriggeredID: true, keptn.ExtGitCommitID: true, keptn.ExtSpecVersion: true,
}

var extName = regexp.MustCompile(`^[a-z0-9]{1,20}$`)

// parseIncoming decodes a structured event body. It checks the envelope
// (JSON object, string attributes, type present, data an object) whatever
// the validation setting.
func parseIncoming(body []byte) (*incoming, error) {
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("body is not a JSON object: %v", err)
	}
	if dec.More() {
		return nil, errors.New("body has trailing data")
	}
	in := &incoming{Extensions: map[string]any{}}
	str := func(name string) (string, error) {
		raw, ok := top[name]
		if !ok || string(raw) == "null" {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("%s must be a string", name)
		}
		return s, nil
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"id", &in.ID}, {"source", &in.Source}, {"type", &in.Type},
		{keptn.ExtContext, &in.KeptnContext}, {keptn.ExtTriggeredID, &in.TriggeredID},
		{keptn.ExtGitCommitID, &in.GitCommitID}, {keptn.ExtSpecVersion, &in.KeptnSpecVersion},
	} {
		s, err := str(f.name)
		if err != nil {
			return nil, err
		}
		*f.dst = strings.TrimSpace(s)
	}
	if in.Type == "" {
		return nil, errors.New("type is required")
	}
	if raw, ok := top["data"]; ok && string(raw) != "null" {
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, errors.New("data must be a JSON object")
		}
		in.Data, in.dataObj = raw, obj
	}
	for k, raw := range top {
		if envelopeFields[k] || !extName.MatchString(k) {
			continue
		}
		var v any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			continue
		}
		switch x := v.(type) {
		case string, bool:
			in.Extensions[k] = x
		case json.Number:
			in.Extensions[k] = x.String()
		}
	}
	return in, nil
}

// validateEvent applies Keptn's api-service event checks
// (EVENT_VALIDATION_ENABLED), plus: status.changed is accepted like started.
func validateEvent(in *incoming) error {
	if in.dataObj == nil {
		return errors.New("data is required")
	}
	switch in.Type {
	case "sh.keptn.log.error", "sh.keptn.events.problem":
		return nil
	case "sh.keptn.event.monitoring.configure":
		if dataString(in.dataObj, "project") == "" || dataString(in.dataObj, "type") == "" {
			return errors.New("monitoring.configure needs data.project and data.type")
		}
		return nil
	}
	t, err := keptn.ParseType(in.Type)
	if err != nil {
		return errors.New("unknown event type")
	}
	scope := func() error {
		for _, f := range []string{"project", "stage", "service"} {
			if dataString(in.dataObj, f) == "" {
				return fmt.Errorf("data.%s is required", f)
			}
		}
		return nil
	}
	if t.IsSequence() {
		if t.Kind != keptn.KindTriggered {
			return errors.New("unknown event type")
		}
		if err := scope(); err != nil {
			return err
		}
		if dataString(in.dataObj, "stage") != t.Stage {
			return errors.New("stage name in event data and in event type does not match")
		}
		return nil
	}
	switch t.Kind {
	case keptn.KindInvalidated:
		return nil
	case keptn.KindStarted, keptn.KindStatusChanged, keptn.KindFinished:
		if err := scope(); err != nil {
			return err
		}
		if in.TriggeredID == "" {
			return errors.New("triggeredid is required")
		}
		if t.Kind == keptn.KindFinished {
			if dataString(in.dataObj, "result") == "" || dataString(in.dataObj, "status") == "" {
				return errors.New("data.result and data.status are required")
			}
		}
		return nil
	}
	return errors.New("unknown event type")
}

func dataString(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return strings.TrimSpace(s)
}

// keptnContextFor keeps a UUID context, derives a deterministic UUID from
// any other string exactly as Keptn does (the string, right-padded to 16
// bytes, is the random source of a v4 UUID) and makes a new one when empty.
func keptnContextFor(s string, newID func() string) string {
	if s == "" {
		return newID()
	}
	if _, err := uuid.Parse(s); err == nil {
		return s
	}
	if len(s) < 16 {
		s = fmt.Sprintf("%-16v", s)
	}
	u, err := uuid.NewRandomFromReader(strings.NewReader(s))
	if err != nil { // cannot happen: the reader has at least 16 bytes
		return newID()
	}
	return u.String()
}

// buildEvent turns an accepted request into the event to publish.
func (a *api) buildEvent(in *incoming) (event.Event, error) {
	e := event.New()
	id := in.ID
	if _, err := uuid.Parse(id); err != nil || id == "" {
		id = a.deps.NewID()
	}
	e.SetID(id)
	e.SetType(in.Type)
	src := in.Source
	if src == "" {
		src = APISource
	}
	e.SetSource(src)
	e.SetTime(a.deps.Clock().UTC())
	for k, v := range in.Extensions {
		e.SetExtension(k, v)
	}
	e.SetExtension(keptn.ExtContext, keptnContextFor(in.KeptnContext, a.deps.NewID))
	spec := in.KeptnSpecVersion
	if spec == "" {
		spec = keptn.SpecVersion
	}
	e.SetExtension(keptn.ExtSpecVersion, spec)
	if in.TriggeredID != "" {
		e.SetExtension(keptn.ExtTriggeredID, in.TriggeredID)
	}
	if in.GitCommitID != "" {
		e.SetExtension(keptn.ExtGitCommitID, in.GitCommitID)
	}
	data := []byte(in.Data)
	if data == nil {
		data = []byte("{}")
	}
	if err := e.SetData(event.ApplicationJSON, data); err != nil {
		return event.Event{}, err
	}
	if err := e.Validate(); err != nil {
		return event.Event{}, err
	}
	return e, nil
}

func (a *api) postEvent(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r, a.cfg.eventLimit())
	if err != nil {
		return err
	}
	in, err := parseIncoming(body)
	if err != nil {
		return badRequest("invalid event: %v", err)
	}
	if !a.cfg.SkipEventValidation {
		if err := validateEvent(in); err != nil {
			return badRequest("%v", err)
		}
	}
	// Names reach scripts' environments and file paths: Keptn's name rule
	// holds with or without the event validation.
	if in.dataObj != nil {
		sc := keptn.Scope{}
		sc.Project, _ = in.dataObj["project"].(string)
		sc.Stage, _ = in.dataObj["stage"].(string)
		sc.Service, _ = in.dataObj["service"].(string)
		if err := sc.Validate(); err != nil {
			return badRequest("invalid event: %v", err)
		}
	}
	e, err := a.buildEvent(in)
	if err != nil {
		return badRequest("invalid event: %v", err)
	}
	if err := a.deps.Publisher.Publish(r.Context(), e); err != nil {
		a.log.Error("publish event", zap.String("type", e.Type()), zap.String("id", e.ID()), zap.Error(err))
		return errorf(http.StatusInternalServerError, "could not send event")
	}
	a.log.Info("event accepted", zap.String("type", e.Type()), zap.String("id", e.ID()),
		zap.String("keptnContext", keptn.Context(e)))
	writeJSON(w, http.StatusOK, map[string]string{"keptnContext": keptn.Context(e)})
	return nil
}

func (a *api) metadata(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{
		"namespace":             a.cfg.Namespace,
		"keptnlabel":            "keptn",
		"keptnversion":          a.cfg.KeptnVersion,
		"shipyardversion":       "0.2.4",
		"bridgeversion":         "",
		"keptnservices":         map[string]any{},
		"automaticprovisioning": true, // no git upstream: the CLI must not ask for one
		"product":               "slipway",
	})
	return nil
}

// emit publishes a control-plane lifecycle event (project/service create and
// delete) with a fresh context. These are informational: a broker failure is
// logged, not returned, because the change they report has already happened.
func (a *api) emit(r *http.Request, typ string, data any) {
	e, err := keptn.NewEvent(typ, keptn.Meta{
		ID: a.deps.NewID(), Source: keptn.ControlPlaneSource, Time: a.deps.Clock(), Context: a.deps.NewID(),
	}, data)
	if err == nil {
		err = a.deps.Publisher.Publish(r.Context(), e)
	}
	if err != nil {
		a.log.Warn("publish lifecycle event", zap.String("type", typ), zap.Error(err))
	}
}
