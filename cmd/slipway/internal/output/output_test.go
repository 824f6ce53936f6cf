package output

import (
	"bytes"
	"testing"
)

func TestRaw(t *testing.T) {
	in := []byte(`{"projects":[{"projectName":"demo","creationDate":"1655819957000000000","stages":[{"stageName":"dev"}]}],"totalCount":1}`)
	for name, tc := range map[string]struct {
		format, want string
	}{
		"json": {JSON, "{\n  \"projects\": [\n    {\n      \"projectName\": \"demo\",\n      \"creationDate\": \"1655819957000000000\",\n      \"stages\": [\n        {\n          \"stageName\": \"dev\"\n        }\n      ]\n    }\n  ],\n  \"totalCount\": 1\n}\n"},
		// Key order stays the API's; a numeric-looking string stays a string.
		"yaml": {YAML, "projects:\n  - projectName: demo\n    creationDate: \"1655819957000000000\"\n    stages:\n      - stageName: dev\ntotalCount: 1\n"},
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Raw(&b, tc.format, in); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", b.String(), tc.want)
			}
		})
	}
	if err := Raw(&bytes.Buffer{}, "xml", in); err == nil {
		t.Fatal("xml accepted")
	}
}

func TestRows(t *testing.T) {
	var b bytes.Buffer
	if err := Rows(&b, []string{"NAME", "STAGES"}, [][]string{{"demo", "dev,prod"}, {"x", ""}}); err != nil {
		t.Fatal(err)
	}
	want := "NAME  STAGES\ndemo  dev,prod\nx     -\n"
	if b.String() != want {
		t.Fatalf("got %q want %q", b.String(), want)
	}
}
