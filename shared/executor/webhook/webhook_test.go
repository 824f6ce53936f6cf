package webhook

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/keptn"
	"github.com/slipwayhq/slipway/shared/safehttp"
	"github.com/slipwayhq/slipway/shared/secrets"
)

type recorder struct {
	mu     sync.Mutex
	events []event.Event
}

func (r *recorder) Send(_ context.Context, e event.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) all() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Event(nil), r.events...)
}

func (r *recorder) count(kind string) int {
	n := 0
	for _, e := range r.all() {
		if strings.HasSuffix(e.Type(), "."+kind) {
			n++
		}
	}
	return n
}

func (r *recorder) finished(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range r.all() {
		if strings.HasSuffix(e.Type(), ".finished") {
			_, m, err := keptn.DecodeData(e)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
	}
	return out
}

type server struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
	release  chan struct{}
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{release: make(chan struct{})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization")+" "+string(b))
		s.mu.Unlock()
		switch r.URL.Path {
		case "/json":
			fmt.Fprintf(w, `{"auth":%q,"ok":true}`, r.Header.Get("Authorization"))
		case "/text":
			io.WriteString(w, "plain "+r.Header.Get("Authorization"))
		case "/long":
			// The token straddles a 64-byte limit.
			io.WriteString(w, strings.Repeat(".", 55)+r.Header.Get("Authorization")+strings.Repeat(".", 100))
		case "/fail":
			w.WriteHeader(500)
			io.WriteString(w, "failed with "+r.Header.Get("Authorization"))
		case "/block":
			select {
			case <-r.Context().Done():
			case <-s.release:
			}
		}
	}))
	s.Listener = l
	s.Start()
	t.Cleanup(func() {
		close(s.release)
		s.Close()
	})
	return s
}

func (s *server) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func setup(t *testing.T) (*Executor, *executor.MemResources, *recorder) {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "my-secret"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "my-secret", "token"), []byte("s3cr3t-tok"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := &executor.MemResources{}
	rec := &recorder{}
	x := New(Options{HTTP: safehttp.Options{AllowHosts: []string{"127.0.0.1"}}}, res, secrets.Dir(dir), rec, nil)
	t.Cleanup(x.Wait)
	return x, res, rec
}

func config(hooks string) []byte {
	return []byte("apiVersion: webhookconfig.keptn.sh/v1beta1\nkind: WebhookConfig\nmetadata: {name: c}\nspec:\n  webhooks:\n" + hooks)
}

func hook(typ, extra string, urls ...string) string {
	s := "    - type: " + typ + "\n" + extra + "      envFrom:\n        - {name: token, secretRef: {name: my-secret, key: token}}\n      requests:\n"
	for _, u := range urls {
		s += "        - url: " + u + "\n          method: POST\n          headers:\n            - {key: Authorization, value: 'Bearer {{.env.token}}'}\n          payload: '{\"project\": \"{{.data.project}}\", \"ctx\": \"{{.shkeptncontext}}\"}'\n"
	}
	return s
}

func newEvent(t *testing.T, typ string, sub string) event.Event {
	t.Helper()
	data := map[string]any{"project": "p", "stage": "dev", "service": "svc"}
	if sub != "" {
		data["temporaryData"] = map[string]any{"distributor": map[string]any{"subscriptionID": sub}}
	}
	e, err := keptn.NewEvent(typ, keptn.Meta{ID: fmt.Sprintf("ev-%d", time.Now().UnixNano()), Source: "test", Time: time.Now(), Context: "ctx-1"}, data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func handle(t *testing.T, x *Executor, e event.Event) {
	t.Helper()
	if err := x.Handle(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	x.Wait()
}

func TestSendFinishedSuccess(t *testing.T) {
	s := newServer(t)
	x, res, rec := setup(t)
	res.Put("p", "dev", "svc", URI, config(hook("sh.keptn.event.webhook.triggered", "      sendFinished: true\n", s.URL+"/json", s.URL+"/text")))
	handle(t, x, newEvent(t, "sh.keptn.event.webhook.triggered", ""))
	if rec.count("started") != 1 || rec.count("finished") != 1 {
		t.Fatalf("started %d finished %d", rec.count("started"), rec.count("finished"))
	}
	f := rec.finished(t)[0]
	if f["status"] != "succeeded" || f["result"] != "pass" {
		t.Fatalf("finished %v", f)
	}
	resp := f["webhook"].(map[string]any)["responses"].([]any)
	if obj, ok := resp[0].(map[string]any); !ok || obj["auth"] != "Bearer ***" || obj["ok"] != true {
		t.Fatalf("response 0 %#v", resp[0])
	}
	if resp[1] != "plain Bearer ***" {
		t.Fatalf("response 1 %#v", resp[1])
	}
	got := s.got()
	if len(got) != 2 || got[0] != `POST /json Bearer s3cr3t-tok {"project": "p", "ctx": "ctx-1"}` {
		t.Fatalf("requests %q", got)
	}
}

// TestResponseCutMidSecret: a response echoing the secret is cut by the
// size limit inside it; the part left must be masked too.
func TestResponseCutMidSecret(t *testing.T) {
	s := newServer(t)
	x, res, rec := setup(t)
	x.opt.MaxResponse = 64
	res.Put("p", "dev", "svc", URI, config(hook("sh.keptn.event.webhook.triggered", "      sendFinished: true\n", s.URL+"/long")))
	handle(t, x, newEvent(t, "sh.keptn.event.webhook.triggered", ""))
	f := rec.finished(t)[0]
	resp := f["webhook"].(map[string]any)["responses"].([]any)
	want := strings.Repeat(".", 55) + "Bearer ***\n[... response truncated ...]"
	if resp[0] != want {
		t.Fatalf("response %q, want %q", resp[0], want)
	}
}

func TestSendFinishedFalse(t *testing.T) {
	s := newServer(t)
	x, res, rec := setup(t)
	res.Put("p", "", "", URI, config(hook("sh.keptn.event.webhook.triggered", "", s.URL+"/json", s.URL+"/json")))
	handle(t, x, newEvent(t, "sh.keptn.event.webhook.triggered", ""))
	if rec.count("started") != 2 || rec.count("finished") != 0 {
		t.Fatalf("started %d finished %d; want 2/0", rec.count("started"), rec.count("finished"))
	}
}

func TestErrorBalancesFinished(t *testing.T) {
	s := newServer(t)
	x, res, rec := setup(t)
	res.Put("p", "dev", "", URI, config(hook("sh.keptn.event.webhook.triggered", "", s.URL+"/json", s.URL+"/fail", s.URL+"/json")))
	handle(t, x, newEvent(t, "sh.keptn.event.webhook.triggered", ""))
	if rec.count("started") != 3 || rec.count("finished") != 2 {
		t.Fatalf("started %d finished %d; want 3/2", rec.count("started"), rec.count("finished"))
	}
	for _, f := range rec.finished(t) {
		msg := f["message"].(string)
		if f["result"] != "fail" || !strings.Contains(msg, "HTTP 500") || strings.Contains(msg, "s3cr3t-tok") || !strings.Contains(msg, "***") {
			t.Fatalf("finished %v", f)
		}
	}
	if len(s.got()) != 2 {
		t.Fatalf("requests after the failure must be skipped: %q", s.got())
	}
}

func TestErrorsWithSendFinished(t *testing.T) {
	s := newServer(t)
	tests := map[string]struct {
		url, msg string
		status   string
	}{
		"missing key":   {s.URL + "/json?x={{.data.nope}}", "map has no entry", "errored"},
		"ssrf denied":   {"http://169.254.169.254/latest/meta-data", "denied", "errored"},
		"decimal ip":    {"http://2130706433:1/", "denied", "errored"},
		"http error":    {s.URL + "/fail", "HTTP 500", "succeeded"},
		"templated url": {"http://{{.data.stage}}.internal.invalid/", "", "errored"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			x, res, rec := setup(t)
			if name == "decimal ip" {
				x = New(Options{}, res, secrets.Dir(""), rec, nil)
				res.Put("p", "dev", "svc", URI, config("    - type: sh.keptn.event.webhook.triggered\n      sendFinished: true\n      requests:\n        - {url: '"+tc.url+"', method: GET}\n"))
			} else {
				res.Put("p", "dev", "svc", URI, config(hook("sh.keptn.event.webhook.triggered", "      sendFinished: true\n", tc.url)))
			}
			handle(t, x, newEvent(t, "sh.keptn.event.webhook.triggered", ""))
			fs := rec.finished(t)
			if rec.count("started") != 1 || len(fs) != 1 {
				t.Fatalf("started %d finished %d", rec.count("started"), len(fs))
			}
			if fs[0]["status"] != tc.status || fs[0]["result"] != "fail" || !strings.Contains(fs[0]["message"].(string), tc.msg) {
				t.Fatalf("finished %v", fs[0])
			}
		})
	}
}

func TestLookupAndSubscriptions(t *testing.T) {
	s := newServer(t)
	x, res, rec := setup(t)
	res.Put("p", "dev", "svc", URI, []byte("apiVersion: nope\n"))
	res.Put("p", "dev", "", URI, config(hook("sh.keptn.event.webhook.triggered", "      subscriptionID: sub-1\n      sendFinished: true\n", s.URL+"/json")))
	handle(t, x, newEvent(t, "sh.keptn.event.webhook.triggered", "sub-1"))
	if rec.count("started") != 1 || rec.count("finished") != 1 || rec.finished(t)[0]["result"] != "pass" {
		t.Fatalf("malformed service level must fall through to stage: %d/%d", rec.count("started"), rec.count("finished"))
	}
	handle(t, x, newEvent(t, "sh.keptn.event.webhook.triggered", "sub-other"))
	fs := rec.finished(t)
	if rec.count("started") != 2 || len(fs) != 2 || fs[1]["status"] != "errored" || !strings.Contains(fs[1]["message"].(string), "no valid webhook config") {
		t.Fatalf("unknown subscription: %v", fs)
	}
	handle(t, x, newEvent(t, "sh.keptn.event.deployment.triggered", ""))
	if len(rec.all()) != 4 {
		t.Fatalf("no config and no subscription must emit nothing, got %d events", len(rec.all()))
	}
}

func TestNotificationMode(t *testing.T) {
	s := newServer(t)
	x, res, rec := setup(t)
	res.Put("p", "dev", "svc", URI, config(hook("sh.keptn.event.evaluation.finished", "      sendFinished: true\n", s.URL+"/json")))
	handle(t, x, newEvent(t, "sh.keptn.event.evaluation.finished", ""))
	if len(rec.all()) != 0 || len(s.got()) != 1 {
		t.Fatalf("events %d requests %d; want 0/1", len(rec.all()), len(s.got()))
	}
}

func TestAbortCancelsRequest(t *testing.T) {
	s := newServer(t)
	x, res, rec := setup(t)
	res.Put("p", "dev", "svc", URI, config(hook("sh.keptn.event.webhook.triggered", "", s.URL+"/block", s.URL+"/json")))
	trig := newEvent(t, "sh.keptn.event.webhook.triggered", "")
	if err := x.Handle(context.Background(), trig); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(s.got()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("request not sent")
		}
		time.Sleep(10 * time.Millisecond)
	}
	abort, _ := keptn.NewEvent("sh.keptn.event.webhook.aborted", keptn.Meta{ID: "abort-1", Source: "shipyard-controller", Time: time.Now(), Context: "ctx-1", TriggeredID: trig.ID()}, map[string]any{"project": "p"})
	if err := x.Handle(context.Background(), abort); err != nil {
		t.Fatal(err)
	}
	x.Wait()
	fs := rec.finished(t)
	if rec.count("started") != 2 || len(fs) != 2 {
		t.Fatalf("started %d finished %d; want 2/2", rec.count("started"), len(fs))
	}
	for _, f := range fs {
		if f["status"] != "errored" || f["result"] != "fail" || f["message"] != "aborted" {
			t.Fatalf("finished %v", f)
		}
	}
	if len(s.got()) != 1 {
		t.Fatalf("second request must not run: %q", s.got())
	}
}

// Every secret the executor holds is redacted from webhook results, not
// only the webhook's own (here a held value the target happens to echo).
func TestHeldSecretsRedacted(t *testing.T) {
	s := newServer(t)
	x, res, rec := setup(t)
	x.opt.Secrets = []string{"plain"}
	res.Put("p", "dev", "svc", URI, config(hook("sh.keptn.event.webhook.triggered", "      sendFinished: true\n", s.URL+"/text")))
	handle(t, x, newEvent(t, "sh.keptn.event.webhook.triggered", ""))
	f := rec.finished(t)[0]
	resp := f["webhook"].(map[string]any)["responses"].([]any)
	if resp[0] != "*** Bearer ***" {
		t.Fatalf("response %#v", resp[0])
	}
}
