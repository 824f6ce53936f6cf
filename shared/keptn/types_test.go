package keptn

import (
	"testing"
	"time"
)

func TestParseType(t *testing.T) {
	tests := map[string]struct {
		in   string
		want Type
		err  bool
	}{
		"task triggered": {in: "sh.keptn.event.deployment.triggered", want: Type{Task: "deployment", Kind: KindTriggered}},
		"task finished":  {in: "sh.keptn.event.get-action.finished", want: Type{Task: "get-action", Kind: KindFinished}},
		"status.changed": {in: "sh.keptn.event.test.status.changed", want: Type{Task: "test", Kind: KindStatusChanged}},
		"sequence":       {in: "sh.keptn.event.dev.delivery.triggered", want: Type{Stage: "dev", Sequence: "delivery", Kind: KindTriggered}},
		"project.create": {in: "sh.keptn.event.project.create.finished", want: Type{Stage: "project", Sequence: "create", Kind: KindFinished}},
		"aborted":        {in: "sh.keptn.event.test.aborted", want: Type{Task: "test", Kind: KindAborted}},
		"not keptn":      {in: "dev.knative.sources.ping", err: true},
		"too short":      {in: "sh.keptn.event.x", err: true},
		"too long":       {in: "sh.keptn.event.a.b.c.d", err: true},
		"empty segment":  {in: "sh.keptn.event..triggered", err: true},
		"legacy problem": {in: "sh.keptn.events.problem", err: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseType(tc.in)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v", err)
			}
			if err == nil && (got != tc.want || got.String() != tc.in) {
				t.Fatalf("got %+v (%s)", got, got.String())
			}
		})
	}
}

func TestRespondKeepsLabelsAndCorrelation(t *testing.T) {
	trig, err := NewEvent(TaskType("test", KindTriggered), Meta{ID: "t", Source: "sc", Time: time.Now(), Context: "c", GitCommitID: "g"},
		map[string]any{"project": "p", "stage": "s", "service": "x", "labels": map[string]any{"a": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	fin, err := Respond(trig, KindFinished, Meta{ID: "f", Source: "ex", Time: time.Now()},
		Data{Status: StatusSucceeded, Result: ResultPass, Labels: map[string]string{"a": "changed", "b": "2"}}, map[string]any{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	d, m, _ := DecodeData(fin)
	if TriggeredID(fin) != "t" || Context(fin) != "c" || GitCommitID(fin) != "g" || fin.Type() != "sh.keptn.event.test.finished" {
		t.Fatalf("correlation lost: %v", fin)
	}
	if d.Labels["a"] != "1" || d.Labels["b"] != "2" || d.Project != "p" || m["test"] == nil {
		t.Fatalf("data = %+v %v", d, m)
	}
}

func FuzzParseType(f *testing.F) {
	for _, s := range []string{"sh.keptn.event.a.triggered", "sh.keptn.event.a.b.finished", "sh.keptn.event.t.status.changed", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ty, err := ParseType(s)
		if err != nil {
			return
		}
		if ty.String() != s {
			t.Fatalf("round trip %q -> %q", s, ty.String())
		}
		if ty.IsTask() == ty.IsSequence() {
			t.Fatalf("%q is both or neither task and sequence", s)
		}
	})
}

func TestDecodeData(t *testing.T) {
	mk := func(data string) (Data, map[string]any, error) {
		e, _ := NewEvent("sh.keptn.event.a.finished", Meta{ID: "x", Source: "s", Time: time.Now()}, nil)
		_ = e.SetData("application/json", []byte(data))
		return DecodeData(e)
	}
	d, m, err := mk(`{"project":"p","stage":"s","service":"x","labels":{"a":"1"},"status":"succeeded","result":"pass","message":"m","a":{"k":1}}`)
	if err != nil || d.Project != "p" || d.Stage != "s" || d.Service != "x" || d.Labels["a"] != "1" ||
		d.Status != StatusSucceeded || d.Result != ResultPass || d.Message != "m" || m["a"] == nil {
		t.Fatalf("decoded %+v %v %v", d, m, err)
	}
	for _, bad := range []string{`[1]`, `{"project":1}`, `{"labels":{"a":1}}`, `{"labels":"x"}`, `{`} {
		if _, _, err := mk(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if d, m, err := mk(`{}`); err != nil || d.Project != "" || len(m) != 0 {
		t.Fatalf("empty: %+v %v %v", d, m, err)
	}
}

func TestDecodeScope(t *testing.T) {
	tests := map[string]struct {
		data    string
		want    Scope
		wantErr bool
	}{
		"full payload":     {data: `{"project":"p","stage":"s","service":"x","labels":{"a":"1"},"a":{"k":[1,2]}}`, want: Scope{"p", "s", "x"}},
		"empty object":     {data: `{}`},
		"no data":          {data: ``},
		"null":             {data: `null`},
		"Keptn SDK casing": {data: `{"Project":"p"}`, want: Scope{Project: "p"}},
		"not an object":    {data: `[1]`, wantErr: true},
		"number project":   {data: `{"project":1}`, wantErr: true},
		"truncated":        {data: `{"project":"p"`, wantErr: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			e, _ := NewEvent("sh.keptn.event.a.finished", Meta{ID: "x", Source: "s", Time: time.Now()}, nil)
			if tt.data != "" {
				_ = e.SetData("application/json", []byte(tt.data))
			} else {
				e.DataEncoded = nil
			}
			got, err := DecodeScope(e)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("DecodeScope(%s) = %+v, %v", tt.data, got, err)
			}
		})
	}
}
