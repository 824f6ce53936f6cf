package trigger

import (
	"bytes"
	"os"
	"testing"

	"github.com/slipwayhq/slipway/shared/broker/filter"
)

// FuzzParse: the parser never panics, and whatever it accepts compiles and
// carries a name, a broker and a subscriber.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/triggers/control-plane.yaml", "testdata/triggers/executor.yml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(head + "spec:\n  broker: default\n  filters:\n  - not: {any: [{exact: {type: a}}, {prefix: {source: b}}]}\n  subscriber: {uri: 'http://127.0.0.1:1'}\n  delivery: {backoffDelay: PT1.5S, backoffPolicy: linear}\n"))
	f.Add([]byte("kind: Trigger\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := Parse(bytes.NewReader(data), "fuzz.yaml")
		if err != nil {
			return
		}
		for _, tr := range ts {
			if tr.Name == "" || tr.Broker == "" || (tr.Subscriber.Ref == nil && tr.Subscriber.URI == "") {
				t.Fatalf("accepted incomplete trigger %+v", tr)
			}
			if _, err := filter.Compile(tr.Filter); err != nil {
				t.Fatalf("accepted trigger whose filter does not compile: %v", err)
			}
		}
	})
}

// FuzzParseDuration: never panics, never returns a negative duration.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"PT0.2S", "P1DT2H3M4.5S", "P1W", "PT", "P1Y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseDuration(s); err == nil && d < 0 {
			t.Fatalf("ParseDuration(%q) = %v", s, d)
		}
	})
}
