package localrt

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/protocol"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

func post(t *testing.T, ctx context.Context, url, id, body string, structured bool) (int, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if structured {
		req.Header.Set("Content-Type", "application/cloudevents+json")
	} else {
		req.Header.Set("Ce-Specversion", "1.0")
		req.Header.Set("Ce-Id", id)
		req.Header.Set("Ce-Type", "t")
		req.Header.Set("Ce-Source", "s")
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

func TestCEHandlerStatus(t *testing.T) {
	for _, tc := range []struct {
		name       string
		result     error
		body       string
		structured bool
		want       int
	}{
		{"nil", nil, `{}`, false, 200},
		{"ack result", protocol.ResultACK, `{}`, false, 200},
		{"http 202", cehttp.NewResult(202, "ok"), `{}`, false, 202},
		{"http 400", cehttp.NewResult(400, "bad"), `{}`, false, 400},
		{"http 503", cehttp.NewResult(503, "busy"), `{}`, false, 503},
		{"plain error", errors.New("boom"), `{}`, false, 500},
		{"structured", nil, `{"specversion":"1.0","id":"1","type":"t","source":"s"}`, true, 200},
		{"structured without id", nil, `{"specversion":"1.0","type":"t","source":"s"}`, true, 400},
		{"structured garbage", nil, `{`, true, 400},
		{"too large", nil, `"` + strings.Repeat("x", 2<<20) + `"`, false, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got event.Event
			srv := httptest.NewServer(CEHandler(func(_ context.Context, e event.Event) error {
				got = e
				return tc.result
			}))
			defer srv.Close()
			code, err := post(t, t.Context(), srv.URL, "e1", tc.body, tc.structured)
			if err != nil {
				t.Fatal(err)
			}
			if code != tc.want {
				t.Fatalf("status = %d, want %d", code, tc.want)
			}
			if code < 300 && got.Type() != "t" {
				t.Fatalf("handler got %v", got)
			}
		})
	}
	srv := httptest.NewServer(CEHandler(func(context.Context, event.Event) error { return nil }))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET = %d", res.StatusCode)
	}
}

// TestCEHandlerCancelledRequests is the regression behind the handler: with
// sdk-go's NewHTTPReceiveHandler, requests cancelled while the function was
// busy left later requests waiting forever. Here every request after the
// cancelled ones is answered, and each handler call sees its own event.
func TestCEHandlerCancelledRequests(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	seen := map[string]bool{}
	srv := httptest.NewServer(CEHandler(func(ctx context.Context, e event.Event) error {
		if strings.HasPrefix(e.ID(), "slow") {
			select { // busy past the caller's deadline
			case <-release:
			case <-time.After(3 * time.Millisecond):
			}
		}
		mu.Lock()
		seen[e.ID()] = true
		mu.Unlock()
		return nil
	}))
	defer srv.Close()

	// Requests whose functions outlive their deadline, many at once: the
	// shape of broker deliveries timing out under load.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range 400 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(t.Context(), time.Duration(1+i%7)*time.Millisecond)
			defer cancel()
			_, _ = post(t, ctx, srv.URL, fmt.Sprintf("slow%d", i), `{}`, false)
		}()
	}
	wg.Wait()
	close(release)

	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			id := fmt.Sprintf("fast%d", i)
			code, err := post(t, ctx, srv.URL, id, `{}`, false)
			if err != nil || code != http.StatusOK {
				t.Errorf("%s: status %d, %v", id, code, err)
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for i := range 50 {
		if !seen[fmt.Sprintf("fast%d", i)] {
			t.Errorf("fast%d never reached the function", i)
		}
	}
}

// The handler hands fn the event sdk-go would have decoded, and refuses what
// sdk-go refuses.
func TestCEHandlerDecodes(t *testing.T) {
	var got event.Event
	srv := httptest.NewServer(CEHandler(func(_ context.Context, e event.Event) error {
		got = e
		return nil
	}))
	defer srv.Close()
	send := func(h http.Header, body string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = h
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	binary := func() http.Header {
		return http.Header{
			"Ce-Specversion":      {"1.0"},
			"Ce-Id":               {"e1"},
			"Ce-Source":           {"shipyard-controller"},
			"Ce-Type":             {"sh.keptn.event.test.triggered"},
			"Ce-Time":             {"2025-01-02T03:04:05.000000006Z"},
			"Ce-Shkeptncontext":   {"ctx-1"},
			"Ce-Knativebrokerttl": {"255"},
			"Content-Type":        {"application/json"},
		}
	}
	if code := send(binary(), `{"project":"p"}`); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if got.ID() != "e1" || got.Source() != "shipyard-controller" || got.DataContentType() != "application/json" ||
		string(got.Data()) != `{"project":"p"}` || got.Time().Nanosecond() != 6 {
		t.Fatalf("got %v", got)
	}
	if x := got.Extensions(); len(x) != 2 || x["shkeptncontext"] != "ctx-1" || x["knativebrokerttl"] != "255" {
		t.Fatalf("extensions %#v", x)
	}

	for name, edit := range map[string]func(http.Header){
		"bad time":        func(h http.Header) { h.Set("Ce-Time", "yesterday") },
		"no source":       func(h http.Header) { h.Del("Ce-Source") },
		"bad specversion": func(h http.Header) { h.Set("Ce-Specversion", "2.0") },
		"bad extension":   func(h http.Header) { h.Set("Ce-Not-Alnum", "x") },
		"batch": func(h http.Header) {
			h.Set("Content-Type", "application/cloudevents-batch+json")
		},
	} {
		h := binary()
		edit(h)
		if code := send(h, `[]`); code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, code)
		}
	}
}
