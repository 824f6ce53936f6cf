package engine

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/slipwayhq/slipway/shared/jsonstr"
	"github.com/slipwayhq/slipway/shared/shipyard"
)

// AppendJSON appends the run's document to dst: the bytes json.Marshal
// writes, without its reflection and its second pass over every
// time.Time. Encoding the run was the largest single cost of a transition
// in the store's writer; FuzzRunJSON holds the two encodings equal.
func (r *Run) AppendJSON(dst []byte) ([]byte, error) {
	e := encoder{b: dst}
	e.raw(`{"id":`)
	e.str(r.ID)
	e.raw(`,"sequence":{"name":`)
	e.str(r.Sequence.Name)
	e.raw(`,"tasks":`)
	e.tasks(r.Sequence.Tasks)
	if r.Sequence.Timeout != "" {
		e.raw(`,"timeout":`)
		e.str(r.Sequence.Timeout)
	}
	e.raw(`},"status":{"state":`)
	e.str(string(r.Status.State))
	if r.Status.StateBeforePause != "" {
		e.raw(`,"stateBeforePause":`)
		e.str(string(r.Status.StateBeforePause))
	}
	e.raw(`,"previousTasks":`)
	e.results(r.Status.PreviousTasks)
	if ct := r.Status.CurrentTask; ct != nil {
		e.raw(`,"currentTask":`)
		e.current(ct)
	}
	e.raw(`},"scope":`)
	e.scope(&r.Scope)
	if len(r.InputProperties) > 0 {
		e.raw(`,"inputProperties":`)
		e.object(r.InputProperties)
	}
	e.raw(`,"triggeredAt":`)
	e.time(r.TriggeredAt)
	e.optTime(`,"startedAt":`, r.StartedAt)
	e.optTime(`,"nextTaskAt":`, r.NextTaskAt)
	e.optTime(`,"pausedAt":`, r.PausedAt)
	if r.Queued {
		e.raw(`,"queued":true`)
	}
	if len(r.FollowUps) > 0 {
		e.raw(`,"followUps":[`)
		for i := range r.FollowUps {
			f := &r.FollowUps[i]
			e.comma(i)
			e.raw(`{"stage":`)
			e.str(f.Stage)
			e.raw(`,"sequence":`)
			e.str(f.Sequence)
			if len(f.Match) > 0 {
				e.raw(`,"match":`)
				e.strings(f.Match)
			}
			e.raw(`}`)
		}
		e.raw(`]`)
	}
	e.optStr(`,"result":`, r.Result)
	e.optStr(`,"outcome":`, r.Outcome)
	e.optStr(`,"message":`, r.Message)
	if r.Aborted {
		e.raw(`,"aborted":true`)
	}
	e.optStr(`,"controlView":`, r.ControlView)
	if r.ContextPaused {
		e.raw(`,"contextPaused":true`)
	}
	e.optTime(`,"finishedAt":`, r.FinishedAt)
	e.ref(`,"latestEvent":`, r.Latest)
	e.ref(`,"latestFailedEvent":`, r.LatestFail)
	if s := r.Evaluation; s != nil {
		e.raw(`,"latestEvaluation":{"result":`)
		e.str(s.Result)
		e.raw(`,"score":`)
		e.float(s.Score)
		e.raw(`}`)
	}
	if len(r.Applied) > 0 {
		e.raw(`,"applied":[`)
		for i, id := range r.Applied {
			e.comma(i)
			e.str(id)
		}
		e.raw(`]`)
	}
	if len(r.Outbox) > 0 {
		e.raw(`,"outbox":[`)
		for i := range r.Outbox {
			o := &r.Outbox[i]
			e.comma(i)
			e.raw(`{"seq":`)
			e.b = strconv.AppendInt(e.b, o.Seq, 10)
			e.raw(`,"id":`)
			e.str(o.ID)
			e.raw(`,"at":`)
			e.time(o.At)
			e.raw(`,"event":`)
			e.bytes(o.Event)
			e.raw(`}`)
		}
		e.raw(`]`)
	}
	if r.OutboxSeq != 0 {
		e.raw(`,"outboxSeq":`)
		e.b = strconv.AppendInt(e.b, r.OutboxSeq, 10)
	}
	e.raw(`}`)
	return e.b, e.err
}

// AppendJSON appends the lane's document to dst, as json.Marshal would.
func (l *Lane) AppendJSON(dst []byte) ([]byte, error) {
	e := encoder{b: dst}
	e.raw(`{`)
	sep := ""
	if l.Holder != "" {
		e.raw(`"holder":`)
		e.str(l.Holder)
		sep = ","
	}
	if len(l.Waiting) > 0 {
		e.raw(sep)
		e.raw(`"waiting":[`)
		for i := range l.Waiting {
			e.comma(i)
			e.raw(`{"runId":`)
			e.str(l.Waiting[i].RunID)
			e.raw(`,"triggeredAt":`)
			e.time(l.Waiting[i].TriggeredAt)
			e.raw(`}`)
		}
		e.raw(`]`)
	}
	e.raw(`}`)
	return e.b, e.err
}

// encoder writes JSON the way encoding/json does (HTML-safe strings, sorted
// map keys, its float format); the first error sticks.
type encoder struct {
	b   []byte
	err error
}

func (e *encoder) raw(s string) { e.b = append(e.b, s...) }

func (e *encoder) comma(i int) {
	if i > 0 {
		e.b = append(e.b, ',')
	}
}

func (e *encoder) optStr(key, s string) {
	if s != "" {
		e.raw(key)
		e.str(s)
	}
}

func (e *encoder) optTime(key string, t time.Time) {
	if !t.IsZero() {
		e.raw(key)
		e.time(t)
	}
}

func (e *encoder) ref(key string, r *EventRef) {
	if r == nil {
		return
	}
	e.raw(key)
	e.raw(`{"type":`)
	e.str(r.Type)
	e.raw(`,"id":`)
	e.str(r.ID)
	e.raw(`,"time":`)
	e.time(r.Time)
	e.raw(`}`)
}

func (e *encoder) scope(s *Scope) {
	e.raw(`{"project":`)
	e.str(s.Project)
	e.raw(`,"stage":`)
	e.str(s.Stage)
	e.raw(`,"service":`)
	e.str(s.Service)
	if len(s.Labels) > 0 {
		e.raw(`,"labels":`)
		e.strings(s.Labels)
	}
	e.raw(`,"keptnContext":`)
	e.str(s.KeptnContext)
	e.raw(`,"triggeredId":`)
	e.str(s.TriggeredID)
	e.optStr(`,"gitcommitid":`, s.GitCommitID)
	e.raw(`,"eventType":`)
	e.str(s.EventType)
	e.raw(`}`)
}

func (e *encoder) tasks(ts []shipyard.Task) {
	if ts == nil {
		e.raw(`null`)
		return
	}
	e.raw(`[`)
	for i := range ts {
		t := &ts[i]
		e.comma(i)
		e.raw(`{"name":`)
		e.str(t.Name)
		e.optStr(`,"triggeredAfter":`, t.TriggeredAfter)
		if len(t.Properties) > 0 {
			e.raw(`,"properties":`)
			e.object(t.Properties)
		}
		e.optStr(`,"timeout":`, t.Timeout)
		e.raw(`}`)
	}
	e.raw(`]`)
}

func (e *encoder) results(rs []TaskResult) {
	if rs == nil {
		e.raw(`null`)
		return
	}
	e.raw(`[`)
	for i := range rs {
		t := &rs[i]
		e.comma(i)
		e.raw(`{"name":`)
		e.str(t.Name)
		e.raw(`,"triggeredID":`)
		e.str(t.TriggeredID)
		e.raw(`,"result":`)
		e.str(t.Result)
		e.raw(`,"status":`)
		e.str(t.Status)
		e.optStr(`,"message":`, t.Message)
		if len(t.Properties) > 0 {
			e.raw(`,"properties":`)
			e.object(t.Properties)
		}
		e.raw(`}`)
	}
	e.raw(`]`)
}

func (e *encoder) current(ct *CurrentTask) {
	e.raw(`{"name":`)
	e.str(ct.Name)
	e.raw(`,"index":`)
	e.b = strconv.AppendInt(e.b, int64(ct.Index), 10)
	e.raw(`,"triggeredID":`)
	e.str(ct.TriggeredID)
	e.raw(`,"sentAt":`)
	e.time(ct.SentAt)
	e.raw(`,"events":`)
	if ct.Events == nil {
		e.raw(`null`)
	} else {
		e.raw(`[`)
		for i := range ct.Events {
			te := &ct.Events[i]
			e.comma(i)
			e.raw(`{"id":`)
			e.str(te.ID)
			e.raw(`,"eventType":`)
			e.str(te.EventType)
			e.raw(`,"source":`)
			e.str(te.Source)
			e.raw(`,"result":`)
			e.str(te.Result)
			e.raw(`,"status":`)
			e.str(te.Status)
			e.optStr(`,"message":`, te.Message)
			e.raw(`,"time":`)
			e.time(te.Time)
			if len(te.Properties) > 0 {
				e.raw(`,"properties":`)
				e.object(te.Properties)
			}
			e.raw(`}`)
		}
		e.raw(`]`)
	}
	if ct.Paused != 0 {
		e.raw(`,"paused":`)
		e.b = strconv.AppendInt(e.b, int64(ct.Paused), 10)
	}
	if len(ct.Claims) > 0 {
		e.raw(`,"claims":[`)
		for i, c := range ct.Claims {
			e.comma(i)
			e.str(c)
		}
		e.raw(`]`)
	}
	e.raw(`}`)
}

// time writes t as time.Time.MarshalJSON does (RFC 3339 with nanoseconds,
// an error outside years 0-9999).
func (e *encoder) time(t time.Time) {
	e.b = append(e.b, '"')
	b, err := t.AppendText(e.b)
	if err != nil {
		e.fail(fmt.Errorf("json: error calling MarshalJSON for type time.Time: %w", err))
		return
	}
	e.b = append(b, '"')
}

// bytes writes b as base64, null for nil, as encoding/json does.
func (e *encoder) bytes(b []byte) {
	if b == nil {
		e.raw(`null`)
		return
	}
	e.b = append(e.b, '"')
	e.b = base64.StdEncoding.AppendEncode(e.b, b)
	e.b = append(e.b, '"')
}

func (e *encoder) strings(m map[string]string) { writeMap(e, m, e.str) }

func (e *encoder) object(m map[string]any) {
	if m == nil {
		e.raw(`null`)
		return
	}
	writeMap(e, m, e.value)
}

// writeMap writes m with its keys sorted, as encoding/json does.
func writeMap[V any](e *encoder, m map[string]V, value func(V)) {
	var buf [16]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	e.raw(`{`)
	for i, k := range keys {
		e.comma(i)
		e.str(k)
		e.b = append(e.b, ':')
		value(m[k])
	}
	e.raw(`}`)
}

// value writes the types JSON decodes into natively; anything else (values
// a shipyard or an engine caller put in) goes through json.Marshal.
func (e *encoder) value(v any) {
	switch v := v.(type) {
	case nil:
		e.raw(`null`)
	case string:
		e.str(v)
	case bool:
		if v {
			e.raw(`true`)
		} else {
			e.raw(`false`)
		}
	case float64:
		e.float(v)
	case map[string]any:
		e.object(v)
	case []any:
		if v == nil {
			e.raw(`null`)
			return
		}
		e.raw(`[`)
		for i, x := range v {
			e.comma(i)
			e.value(x)
		}
		e.raw(`]`)
	default:
		raw, err := json.Marshal(v)
		if err != nil {
			e.fail(err)
			return
		}
		e.b = append(e.b, raw...)
	}
}

// float writes f in encoding/json's format: shortest decimal, exponent form
// below 1e-6 and from 1e21, an error for NaN and infinities.
func (e *encoder) float(f float64) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		e.fail(&json.UnsupportedValueError{Str: strconv.FormatFloat(f, 'g', -1, 64)})
		return
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	start := len(e.b)
	e.b = strconv.AppendFloat(e.b, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9, as encoding/json writes it.
		n := len(e.b) - start
		if n >= 4 && e.b[len(e.b)-4] == 'e' && e.b[len(e.b)-3] == '-' && e.b[len(e.b)-2] == '0' {
			e.b[len(e.b)-2] = e.b[len(e.b)-1]
			e.b = e.b[:len(e.b)-1]
		}
	}
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// str writes s as json.Marshal does (HTML-safe).
func (e *encoder) str(s string) { e.b = jsonstr.Append(e.b, s, true) }
