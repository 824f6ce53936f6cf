package ceio

import (
	"bytes"
	"context"
	"net/http"
	"testing"
)

// rewindBody is a request body the benchmarks can reread.
type rewindBody struct{ bytes.Reader }

func (*rewindBody) Close() error { return nil }

// incoming is a Keptn event as a subscriber receives it.
func incoming(b *testing.B) (*http.Request, *rewindBody, []byte) {
	e := keptnEvent(b)
	req, err := NewRequest(context.Background(), target, e)
	if err != nil {
		b.Fatal(err)
	}
	body := &rewindBody{}
	in := request(req.Header, nil)
	in.Body, in.ContentLength = body, int64(len(e.Data()))
	return in, body, e.Data()
}

func BenchmarkReadRequest(b *testing.B) {
	r, body, data := incoming(b)
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(data)
		if _, err := ReadRequest(r, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewRequest(b *testing.B) {
	e := keptnEvent(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewRequest(ctx, target, e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalJSON(b *testing.B) {
	e := keptnEvent(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MarshalJSON(e); err != nil {
			b.Fatal(err)
		}
	}
}
