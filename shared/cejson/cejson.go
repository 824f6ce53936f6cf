// Package cejson writes CloudEvents in structured JSON mode with sdk-go's
// encoder, in a package without HTTP code, so that the engine (which
// encodes every event it emits into the run's outbox) does not import the
// transport.
//
// Until 2026-12-04 it wrote Keptn events by hand in one buffer; the load
// harness showed no difference beyond its noise, so sdk-go's
// Event.MarshalJSON does it now (docs/benchmarks.md, "Giving back to
// libraries").
package cejson

import (
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Marshal encodes e in structured mode as sdk-go's Event.MarshalJSON does,
// except that each byte of invalid UTF-8 becomes U+FFFD, as encoding/json
// writes it: sdk-go copies such bytes as they are, which is not valid JSON,
// and an attribute or extension read from an HTTP header may carry them
// into the history or a run's outbox.
func Marshal(e event.Event) ([]byte, error) {
	b, err := e.MarshalJSON()
	if err != nil || utf8.Valid(b) {
		return b, err
	}
	return validUTF8(b), nil
}

// validUTF8 returns b with each byte that does not start a valid UTF-8
// sequence replaced by U+FFFD (bytes.ToValidUTF8 would replace a run of
// them with one, and json.Unmarshal reads each as one).
func validUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}
