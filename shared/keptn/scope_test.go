package keptn

import (
	"strings"
	"testing"
)

func TestScanScope(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Scope
		ok   bool // scanScope settles it itself
	}{
		{`{"project":"p","stage":"s","service":"v"}`, Scope{"p", "s", "v"}, true},
		{` { "x" : [1, -2.5e+3, {"a":null,"b":[true,false]}], "service" : "v" , "project":"p"} `, Scope{Project: "p", Service: "v"}, true},
		{`{}`, Scope{}, true},
		{`{"project":"a","project":null}`, Scope{Project: "a"}, true},
		{`{"project":"a","project":"b"}`, Scope{Project: "b"}, true},
		{`{"x":"\u00e9\n\"","stage":"s"}`, Scope{Stage: "s"}, true},
		{`{"Project":"p"}`, Scope{Project: "p"}, false},            // encoding/json folds case
		{`{"project":"caf\u00e9"}`, Scope{Project: "café"}, false}, // escapes are decoded by encoding/json
		{`{"pro\u006aect":"p"}`, Scope{Project: "p"}, false},
		{`{"project":1}`, Scope{}, false},
		{`{"project":"p"} x`, Scope{}, false},
		{`{"x":01}`, Scope{}, false},
		{`{"x":"a` + "\x01" + `"}`, Scope{}, false},
		{`[]`, Scope{}, false},
		{`null`, Scope{}, false},
		{strings.Repeat("[", 100), Scope{}, false},
	} {
		got, ok := scanScope([]byte(tc.in))
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("scanScope(%s) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzScanScope holds scanScope to encoding/json: whatever it settles,
// json.Unmarshal into Scope accepts with the same result.
func FuzzScanScope(f *testing.F) {
	for _, s := range []string{
		`{"project":"p","stage":"s","service":"v","labels":{"a":"b"},"n":[1.5e-3,null,true]}`,
		`{"PROJECT":"p"}`, `{"service":null}`, `{"a":"\ud83d\ude00"}`, `{"x":-0.0E+1}`, ` {} `, `{"a":[[]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := scanScope(raw)
		if !ok {
			return
		}
		want, err := decodeScopeJSON(raw)
		if err != nil {
			t.Fatalf("scanScope took %q, encoding/json: %v", raw, err)
		}
		if got != want {
			t.Fatalf("scanScope(%q) = %+v, encoding/json %+v", raw, got, want)
		}
	})
}

func BenchmarkDecodeScope(b *testing.B) {
	raw := []byte(`{"project":"load","stage":"dev","service":"svc8","labels":{"owner":"team-a"},"status":"succeeded","result":"pass",` +
		`"deployment":{"deploymentURIsPublic":["http://svc8.dev.example.com"],"deploymentNames":["svc8"],"gitCommit":"0123456789abcdef"},` +
		`"configurationChange":{"values":{"image":"registry.example.com/svc8:1.2.3","replicas":3}},"message":""}`)
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			if _, ok := scanScope(raw); !ok {
				b.Fatal("not settled")
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			_, _ = decodeScopeJSON(raw)
		}
	})
}
