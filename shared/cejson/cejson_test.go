package cejson

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
)

func TestMarshal(t *testing.T) {
	for name, tc := range map[string]struct {
		id, ext string
		wantID  string
		wantExt string
	}{
		"valid":                   {id: "id-1", ext: "✓ \"q\"", wantID: "id-1", wantExt: "✓ \"q\""},
		"one invalid byte":        {id: "a\xffb", ext: "x", wantID: "a\ufffdb", wantExt: "x"},
		"a run of invalid bytes":  {id: "a\xff\xfe\x80b", ext: "x", wantID: "a\ufffd\ufffd\ufffdb", wantExt: "x"},
		"truncated sequence":      {id: "ok", ext: "\xe2\x9c", wantID: "ok", wantExt: "\ufffd\ufffd"},
		"valid multi-byte kept":   {id: "日本", ext: "\u2028", wantID: "日本", wantExt: "\u2028"},
		"invalid in an extension": {id: "i", ext: "v\xc0", wantID: "i", wantExt: "v\ufffd"},
	} {
		t.Run(name, func(t *testing.T) {
			e := event.New()
			e.SetID(tc.id)
			e.SetSource("shipyard-controller")
			e.SetType("sh.keptn.event.deployment.triggered")
			e.SetExtension("labels", tc.ext)
			if err := e.SetData(event.ApplicationJSON, map[string]any{"project": "p"}); err != nil {
				t.Fatal(err)
			}
			b, err := Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			if !utf8.Valid(b) || !json.Valid(b) {
				t.Fatalf("not valid UTF-8 JSON: %q", b)
			}
			var back event.Event
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.ID() != tc.wantID || back.Extensions()["labels"] != tc.wantExt || string(back.Data()) != `{"project":"p"}` {
				t.Fatalf("read back id %q labels %q data %s", back.ID(), back.Extensions()["labels"], back.Data())
			}
		})
	}
}
