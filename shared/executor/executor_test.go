package executor

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
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

func TestResourceClient(t *testing.T) {
	var seen []string
	s := listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.RequestURI()+" "+r.Header.Get("x-token"))
		switch {
		case strings.Contains(r.URL.Path, "missing"):
			http.NotFound(w, r)
		case strings.Contains(r.URL.Path, "broken"):
			w.WriteHeader(500)
		default:
			json.NewEncoder(w).Encode(map[string]string{"resourceURI": "x", "resourceContent": base64.StdEncoding.EncodeToString([]byte("content"))})
		}
	}))
	c := &ResourceClient{BaseURL: s.URL + "/", Token: "tok"}
	b, err := c.Get(context.Background(), "p", "dev", "svc", "generic-executor/x.sh", "abc")
	if err != nil || string(b) != "content" {
		t.Fatalf("Get = %q, %v", b, err)
	}
	if want := "/api/resource-service/v1/project/p/stage/dev/service/svc/resource/generic-executor%2Fx.sh?gitCommitID=abc tok"; seen[0] != want {
		t.Fatalf("request %q, want %q", seen[0], want)
	}
	if _, err := c.Get(context.Background(), "p", "", "", "missing", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("404: %v", err)
	}
	if _, err := c.Get(context.Background(), "p", "dev", "", "broken", ""); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("500: %v", err)
	}
	if seen[1] != "/api/resource-service/v1/project/p/resource/missing tok" || seen[2] != "/api/resource-service/v1/project/p/stage/dev/resource/broken tok" {
		t.Fatalf("requests %q", seen)
	}
	// Find stops at a real error instead of treating it as missing.
	if _, err := Find(context.Background(), c, Scope{Project: "p", Stage: "dev"}, []string{"broken"}); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Find: %v", err)
	}
}

func TestRegistry(t *testing.T) {
	r := NewRegistry(time.Hour, 3)
	ctx, done, ok := r.Begin(context.Background(), "t1")
	if !ok || !r.Running("t1") {
		t.Fatal("Begin")
	}
	if !r.Abort("t1") || !Aborted(ctx) {
		t.Fatal("Abort must cancel with ErrAborted")
	}
	done()
	if r.Running("t1") {
		t.Fatal("done must unregister")
	}
	if _, _, ok := r.Begin(context.Background(), "t1"); ok {
		t.Fatal("an aborted task must not begin again")
	}
	if r.Abort("nope") {
		t.Fatal("nothing running")
	}
	if !r.FirstDelivery("e1") || r.FirstDelivery("e1") {
		t.Fatal("dedup")
	}
	r.Forget("e1")
	if !r.FirstDelivery("e1") {
		t.Fatal("Forget")
	}
	for _, id := range []string{"a", "b", "c", "d"} {
		r.FirstDelivery(id)
	}
	if len(r.seen) > 3 {
		t.Fatalf("bounded: %d", len(r.seen))
	}
}

func TestHTTPSender(t *testing.T) {
	var calls atomic.Int32
	s := listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(503)
			return
		}
		e, err := binding.ToEvent(r.Context(), cehttp.NewMessageFromHttpRequest(r))
		if err != nil || e.Type() != "sh.keptn.event.x.started" || keptn.Context(*e) != "c" {
			w.WriteHeader(400)
			return
		}
		w.WriteHeader(202)
	}))
	e, _ := keptn.NewEvent("sh.keptn.event.x.started", keptn.Meta{ID: "1", Source: "s", Time: time.Now(), Context: "c"}, map[string]any{})
	snd := &HTTPSender{URL: s.URL, Backoff: time.Millisecond}
	if err := snd.Send(context.Background(), e); err != nil || calls.Load() != 2 {
		t.Fatalf("Send: %v after %d calls", err, calls.Load())
	}
	e.SetType("sh.keptn.event.other.started")
	if err := snd.Send(context.Background(), e); err == nil || calls.Load() != 3 {
		t.Fatalf("4xx must not be retried: %v after %d calls", err, calls.Load())
	}
}

func TestResult(t *testing.T) {
	if Result(nil) != nil {
		t.Fatal("nil")
	}
	var r *cehttp.Result
	if err := Result(Malformed("x")); !errors.As(err, &r) || r.StatusCode != 400 {
		t.Fatalf("malformed: %v", err)
	}
	if err := Result(errors.New("x")); !errors.As(err, &r) || r.StatusCode != 500 {
		t.Fatalf("other: %v", err)
	}
}

func TestTruncateMessage(t *testing.T) {
	if got := TruncateMessage("héllo", 2); !strings.HasPrefix(got, "h\n[... truncated: 5 bytes") {
		t.Fatalf("%q", got)
	}
	if TruncateMessage("abc", 3) != "abc" {
		t.Fatal("no-op")
	}
}

func TestFinishedExtra(t *testing.T) {
	trig, _ := keptn.NewEvent("sh.keptn.event.get-action.triggered", keptn.Meta{ID: "t", Source: "s", Time: time.Now(), Context: "c"}, map[string]any{"project": "p", "stage": "s", "labels": map[string]string{"a": "b"}})
	e, err := Responder{Source: "me"}.FinishedEvent(trig, Outcome{Payload: map[string]any{"actionIndex": 1}, Extra: map[string]any{"action": "x", "project": "evil"}})
	if err != nil {
		t.Fatal(err)
	}
	d, m, _ := keptn.DecodeData(e)
	if d.Project != "p" || d.Status != keptn.StatusSucceeded || d.Result != keptn.ResultPass || m["action"] != "x" || d.Labels["a"] != "b" || keptn.TriggeredID(e) != "t" {
		t.Fatalf("finished %v", m)
	}
}
