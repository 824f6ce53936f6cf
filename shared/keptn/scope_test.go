package keptn

import (
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

func TestDecodeScopeFollowsEncodingJSON(t *testing.T) {
	for name, tc := range map[string]struct {
		in      string
		want    Scope
		wantErr bool
	}{
		"plain":             {in: `{"project":"p","stage":"s","service":"v"}`, want: Scope{"p", "s", "v"}},
		"nested and spaces": {in: ` { "x" : [1, -2.5e+3, {"a":null}], "service" : "v" , "project":"p"} `, want: Scope{Project: "p", Service: "v"}},
		"empty object":      {in: `{}`},
		"null keeps":        {in: `{"project":"a","project":null}`, want: Scope{Project: "a"}},
		"last wins":         {in: `{"project":"a","project":"b"}`, want: Scope{Project: "b"}},
		"case folded":       {in: `{"Project":"p"}`, want: Scope{Project: "p"}},
		"escapes decoded":   {in: `{"project":"caf\u00e9"}`, want: Scope{Project: "café"}},
		"not a string":      {in: `{"project":1}`, wantErr: true},
		"trailing data":     {in: `{"project":"p"} x`, wantErr: true},
		"not an object":     {in: `[]`, wantErr: true},
	} {
		t.Run(name, func(t *testing.T) {
			e := event.New()
			e.SetID("id")
			e.SetSource("s")
			e.SetType("sh.keptn.event.deploy.finished")
			e.SetTime(time.Unix(0, 0))
			e.DataEncoded = []byte(tc.in)
			got, err := DecodeScope(e)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && got != tc.want {
				t.Fatalf("%+v, want %+v", got, tc.want)
			}
		})
	}
}
