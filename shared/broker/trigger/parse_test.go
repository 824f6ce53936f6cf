package trigger

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadDirs(t *testing.T) {
	ts, err := LoadDirs("testdata/triggers")
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 {
		t.Fatalf("got %d triggers, want 3: %+v", len(ts), ts)
	}
	cp := ts[0]
	if cp.Name != "control-plane-triggered" || cp.Namespace != "slipway" || cp.Broker != "default" {
		t.Fatalf("metadata/broker: %+v", cp)
	}
	if cp.Filter.Attributes["shkeptncontext"] != "" || len(cp.Filter.Filters) != 2 || cp.Filter.Filters[1].Suffix["type"] != ".triggered" {
		t.Fatalf("filter: %+v", cp.Filter)
	}
	if cp.Subscriber.Ref == nil || cp.Subscriber.Ref.Name != "control-plane" || cp.Subscriber.Ref.Kind != "Service" {
		t.Fatalf("subscriber: %+v", cp.Subscriber)
	}
	want := Delivery{Retry: 5, BackoffPolicy: BackoffExponential, BackoffDelay: 500 * time.Millisecond, Timeout: 20 * time.Second}
	d := *cp.Delivery
	if d.DeadLetterSink == nil || d.DeadLetterSink.Ref.Name != "dlq" {
		t.Fatalf("dead letter sink: %+v", d.DeadLetterSink)
	}
	d.DeadLetterSink = nil
	if d != want {
		t.Fatalf("delivery = %+v, want %+v", d, want)
	}
	if !strings.HasSuffix(cp.Source, "control-plane.yaml") {
		t.Fatalf("source = %q", cp.Source)
	}
	fin := ts[1]
	if fin.Delivery != nil || fin.Subscriber.URI != "http://127.0.0.1:9999/events" {
		t.Fatalf("second trigger: %+v", fin)
	}
	ex := ts[2]
	if ex.Name != "executor" || len(ex.Filter.Filters[0].Any) != 2 || ex.Filter.Filters[0].Any[1].Not.Exact["source"] != "executor" {
		t.Fatalf("executor: %+v", ex)
	}
	url, err := ex.Subscriber.Resolve(map[string]string{"executor": "http://127.0.0.1:1234"})
	if err != nil || url != "http://127.0.0.1:1234/tasks" {
		t.Fatalf("resolve = %q, %v", url, err)
	}
}

func TestLoadDirsDuplicate(t *testing.T) {
	dir := t.TempDir()
	doc := "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {name: a}\nspec: {broker: default, subscriber: {uri: 'http://127.0.0.1:1'}}\n"
	for _, f := range []string{"1.yaml", "2.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, err := LoadDirs(dir)
	if err == nil || !strings.Contains(err.Error(), `trigger "a" is also defined in`) {
		t.Fatalf("err = %v", err)
	}
	if _, err := LoadDirs(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing dir: want error")
	}
}

const head = "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: t1\n"

func TestParseInvalid(t *testing.T) {
	tests := map[string]struct {
		yaml    string
		wantErr string
	}{
		"not yaml":          {yaml: "a: [", wantErr: "x.yaml: document 1"},
		"missing kind":      {yaml: "apiVersion: v1\nmetadata: {name: a}\n", wantErr: "missing kind"},
		"old apiVersion":    {yaml: "apiVersion: eventing.knative.dev/v1beta1\nkind: Trigger\nmetadata: {name: a}\nspec: {}\n", wantErr: `trigger "a"): apiVersion "eventing.knative.dev/v1beta1"`},
		"missing name":      {yaml: "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nspec: {}\n", wantErr: "metadata.name is required"},
		"missing spec":      {yaml: head, wantErr: "spec is required"},
		"missing broker":    {yaml: head + "spec:\n  subscriber: {uri: 'http://127.0.0.1:1'}\n", wantErr: "spec.broker is required"},
		"missing subscrib":  {yaml: head + "spec:\n  broker: default\n", wantErr: "spec.subscriber is required"},
		"empty subscriber":  {yaml: head + "spec:\n  broker: default\n  subscriber: {}\n", wantErr: "spec.subscriber: expected exactly one, got neither"},
		"relative uri":      {yaml: head + "spec:\n  broker: default\n  subscriber: {uri: /x}\n", wantErr: "want an absolute http(s) URL"},
		"ref without name":  {yaml: head + "spec:\n  broker: default\n  subscriber: {ref: {kind: Service}}\n", wantErr: "ref.name is required"},
		"unknown field":     {yaml: head + "spec:\n  broker: default\n  filterz: {}\n  subscriber: {uri: 'http://127.0.0.1:1'}\n", wantErr: "field filterz not found"},
		"filters not list":  {yaml: head + "spec:\n  broker: default\n  filters: {exact: {type: a}}\n  subscriber: {uri: 'http://127.0.0.1:1'}\n", wantErr: "spec:"},
		"two dialects":      {yaml: head + "spec:\n  broker: default\n  filters:\n  - exact: {type: a}\n    suffix: {type: b}\n  subscriber: {uri: 'http://127.0.0.1:1'}\n", wantErr: "spec.filters[0]: multiple dialects found"},
		"unknown dialect":   {yaml: head + "spec:\n  broker: default\n  filters:\n  - regex: {type: a}\n  subscriber: {uri: 'http://127.0.0.1:1'}\n", wantErr: "field regex not found"},
		"cesql":             {yaml: head + "spec:\n  broker: default\n  filters:\n  - cesql: \"type = 'a'\"\n  subscriber: {uri: 'http://127.0.0.1:1'}\n", wantErr: "cesql filters are not supported"},
		"bad attr name":     {yaml: head + "spec:\n  broker: default\n  filter: {attributes: {workflow_id: a}}\n  subscriber: {uri: 'http://127.0.0.1:1'}\n", wantErr: "spec.filter.attributes[workflow_id]: invalid attribute name"},
		"negative retry":    {yaml: head + "spec:\n  broker: default\n  subscriber: {uri: 'http://127.0.0.1:1'}\n  delivery: {retry: -1}\n", wantErr: "spec.delivery: retry: must be >= 0"},
		"bad policy":        {yaml: head + "spec:\n  broker: default\n  subscriber: {uri: 'http://127.0.0.1:1'}\n  delivery: {backoffPolicy: fibonacci}\n", wantErr: `backoffPolicy: "fibonacci"`},
		"bad delay":         {yaml: head + "spec:\n  broker: default\n  subscriber: {uri: 'http://127.0.0.1:1'}\n  delivery: {backoffDelay: 200ms}\n", wantErr: "backoffDelay: invalid ISO-8601 duration"},
		"zero timeout":      {yaml: head + "spec:\n  broker: default\n  subscriber: {uri: 'http://127.0.0.1:1'}\n  delivery: {timeout: PT0S}\n", wantErr: "timeout: must be greater than zero"},
		"bad dls":           {yaml: head + "spec:\n  broker: default\n  subscriber: {uri: 'http://127.0.0.1:1'}\n  delivery: {deadLetterSink: {}}\n", wantErr: "deadLetterSink: expected exactly one"},
		"bad format":        {yaml: head + "spec:\n  broker: default\n  subscriber: {uri: 'http://127.0.0.1:1'}\n  delivery: {format: xml}\n", wantErr: `format: "xml"`},
		"broker and ref":    {yaml: head + "spec:\n  broker: default\n  brokerRef: {name: default}\n  subscriber: {uri: 'http://127.0.0.1:1'}\n", wantErr: "broker or brokerRef"},
		"retry not integer": {yaml: head + "spec:\n  broker: default\n  subscriber: {uri: 'http://127.0.0.1:1'}\n  delivery: {retry: many}\n", wantErr: "spec:"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ts, err := Parse(strings.NewReader(tc.yaml), "x.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Parse = %+v, %v; want error containing %q", ts, err, tc.wantErr)
			}
		})
	}
}

func TestParseValidVariants(t *testing.T) {
	tests := map[string]struct {
		yaml  string
		check func(t *testing.T, tr Trigger)
	}{
		"numeric filter value is a string": {
			yaml: head + "spec:\n  broker: default\n  filter: {attributes: {attempt: 3}}\n  subscriber: {uri: 'http://127.0.0.1:1'}\n",
			check: func(t *testing.T, tr Trigger) {
				if tr.Filter.Attributes["attempt"] != "3" {
					t.Fatalf("attributes = %v", tr.Filter.Attributes)
				}
			},
		},
		"empty filter means no attributes": {
			yaml: head + "spec:\n  broker: default\n  filter: {}\n  subscriber: {uri: 'http://127.0.0.1:1'}\n",
			check: func(t *testing.T, tr Trigger) {
				if tr.Filter.Attributes == nil || len(tr.Filter.Attributes) != 0 {
					t.Fatalf("attributes = %#v", tr.Filter.Attributes)
				}
			},
		},
		"brokerRef": {
			yaml: head + "spec:\n  brokerRef: {name: wf}\n  subscriber: {uri: 'http://127.0.0.1:1'}\n",
			check: func(t *testing.T, tr Trigger) {
				if tr.Broker != "wf" {
					t.Fatalf("broker = %q", tr.Broker)
				}
			},
		},
		"partial delivery keeps zero values": {
			yaml: head + "spec:\n  broker: default\n  subscriber: {uri: 'http://127.0.0.1:1'}\n  delivery: {retry: 2, format: json, retryAfterMax: PT1S}\n",
			check: func(t *testing.T, tr Trigger) {
				if *tr.Delivery != (Delivery{Retry: 2, Format: FormatJSON}) {
					t.Fatalf("delivery = %+v", *tr.Delivery)
				}
			},
		},
		"metadata extras ignored": {
			yaml:  "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: t1\n  annotations: {a: b}\n  labels: {c: d}\nspec:\n  broker: default\n  subscriber: {uri: 'http://127.0.0.1:1'}\nstatus: {}\n",
			check: func(t *testing.T, tr Trigger) {},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ts, err := Parse(strings.NewReader(tc.yaml), "x.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if len(ts) != 1 {
				t.Fatalf("got %d triggers", len(ts))
			}
			tc.check(t, ts[0])
		})
	}
}

func TestParseEmpty(t *testing.T) {
	for _, in := range []string{"", "---\n", "# only a comment\n", "---\n---\n"} {
		ts, err := Parse(strings.NewReader(in), "x.yaml")
		if err != nil || len(ts) != 0 {
			t.Fatalf("Parse(%q) = %v, %v", in, ts, err)
		}
	}
}
