package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/slipwayhq/slipway/shared/keptn"
)

func listen(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// TestEndToEnd wires the service to a fake resource service and a fake
// broker over HTTP.
func TestEndToEnd(t *testing.T) {
	var mu sync.Mutex
	var got []event.Event
	var tokens []string
	broker := listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := binding.ToEvent(r.Context(), cehttp.NewMessageFromHttpRequest(r))
		if err != nil {
			w.WriteHeader(400)
			return
		}
		mu.Lock()
		got = append(got, *e)
		mu.Unlock()
		w.WriteHeader(202)
	}))
	files := map[string]string{
		"/api/resource-service/v1/project/p/stage/dev/service/svc/resource/generic-executor%2Fdeployment.triggered.sh": `echo "{\"project\":\"$PROJECT\"}"`,
	}
	res := listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tokens = append(tokens, r.Header.Get("x-token"))
		mu.Unlock()
		c, ok := files[r.URL.EscapedPath()]
		if !ok {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"resourceURI": "x", "resourceContent": base64.StdEncoding.EncodeToString([]byte(c))})
	}))
	t.Setenv("K_SINK", broker.URL)
	t.Setenv("RESOURCE_SERVICE_URL", res.URL)
	t.Setenv("KEPTN_API_TOKEN", "tok")
	work := t.TempDir() // the script's slot uid must reach it, as /tmp
	for _, d := range []string{work, filepath.Dir(work)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("WORK_DIR", work)
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := keptn.NewEvent("sh.keptn.event.deployment.triggered", keptn.Meta{ID: "t1", Source: "test", Time: time.Now(), Context: "c"}, map[string]any{"project": "p", "stage": "dev", "service": "svc"})
	if err := s.Handle(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0].Type() != "sh.keptn.event.deployment.started" || got[1].Type() != "sh.keptn.event.deployment.finished" {
		t.Fatalf("broker got %v", got)
	}
	_, m, _ := keptn.DecodeData(got[1])
	if dep, _ := m["deployment"].(map[string]any); dep["project"] != "p" || m["result"] != "pass" {
		t.Fatalf("finished data %v", m)
	}
	for _, tok := range tokens {
		if tok != "tok" {
			t.Fatalf("x-token %q", tok)
		}
	}

	bad := event.New()
	bad.SetID("b")
	bad.SetSource("t")
	bad.SetType("sh.keptn.event.deployment.triggered")
	_ = bad.SetData("application/json", []byte("[]"))
	err = s.Handle(context.Background(), bad)
	var r *cehttp.Result
	if !errors.As(err, &r) || r.StatusCode != 400 {
		t.Fatalf("malformed: want 400 result, got %v", err)
	}
}

func TestSecretEnvConfig(t *testing.T) {
	_, err := New(Config{Generic: true, SecretEnv: []string{"bad"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "NAME=secret/key") {
		t.Fatalf("want config error, got %v", err)
	}
}
