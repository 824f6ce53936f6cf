package ceio

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
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
	b.Run("ceio", func(b *testing.B) {
		r, body, data := incoming(b)
		b.ReportAllocs()
		for b.Loop() {
			body.Reset(data)
			if _, err := ReadRequest(r, 1<<20); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk", func(b *testing.B) { // CEHandler before ceio
		r, body, data := incoming(b)
		b.ReportAllocs()
		for b.Loop() {
			body.Reset(data)
			msg := cehttp.NewMessage(r.Header, http.MaxBytesReader(nil, body, 1<<20))
			e, err := binding.ToEvent(r.Context(), msg)
			if err == nil {
				err = e.Validate()
			}
			if err != nil {
				b.Fatal(err)
			}
			_ = msg.Finish(nil)
		}
	})
}

func BenchmarkNewRequest(b *testing.B) {
	e := keptnEvent(b)
	ctx := context.Background()
	b.Run("ceio", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := NewRequest(ctx, target, e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk", func(b *testing.B) { // what sdk-go's client.Send did before the round trip
		u, _ := url.Parse(target)
		b.ReportAllocs()
		for b.Loop() {
			ev := e
			if err := ev.Validate(); err != nil {
				b.Fatal(err)
			}
			req := (&http.Request{Method: http.MethodPost, URL: u, Header: cehttp.HeaderFrom(ctx)}).WithContext(ctx)
			if err := cehttp.WriteRequest(ctx, binding.ToMessage(&ev), req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
