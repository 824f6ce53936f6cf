package function

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHandleBeforeStart(t *testing.T) {
	w := httptest.NewRecorder()
	New().Handle(w, httptest.NewRequest("GET", "/health", nil))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"code":503`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

func TestStartRequiresToken(t *testing.T) {
	t.Setenv("K_SINK", "http://127.0.0.1:1")
	t.Setenv("SLIPWAY_STORE_PATH", filepath.Join(t.TempDir(), "s.db"))
	t.Setenv("API_TOKENS", "")
	t.Setenv("SECRET_TOKEN", "")
	if err := New().Start(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("err = %v", err)
	}
}

// TestServeOverLoopback runs the function behind a real listener and sends
// an event through it to a fake broker.
func TestServeOverLoopback(t *testing.T) {
	var mu sync.Mutex
	var got []string
	broker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Ce-Type"))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer broker.Close()
	t.Setenv("K_SINK", broker.URL)
	t.Setenv("SLIPWAY_STORE_PATH", filepath.Join(t.TempDir(), "s.db"))
	t.Setenv("API_TOKENS", "t1,t2")
	t.Setenv("FIRESTORE_PROJECT", "")

	f := New()
	if err := f.Start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := f.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	srv := httptest.NewServer(http.HandlerFunc(f.Handle))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("listener not on loopback: %s", srv.URL)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/event", strings.NewReader(
		`{"type":"sh.keptn.event.dev.delivery.triggered","source":"ci","data":{"project":"p","stage":"dev","service":"s"}}`))
	req.Header.Set("x-token", "t2")
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var out map[string]string
	if err := json.Unmarshal(body, &out); err != nil || out["keptnContext"] == "" {
		t.Fatalf("body %s", body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "sh.keptn.event.dev.delivery.triggered" {
		t.Fatalf("broker got %v", got)
	}
}
