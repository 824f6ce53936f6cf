package webhook

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/slipwayhq/slipway/shared/executor"
	"github.com/slipwayhq/slipway/shared/safehttp"
	"github.com/slipwayhq/slipway/shared/secrets"
)

// sharedClaims stands for the claims the API keeps in the run.
type sharedClaims struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (c *sharedClaims) Claim(_ context.Context, project, triggeredID, worker string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := project + "/" + triggeredID + "/" + worker
	if c.seen[k] {
		return false, nil
	}
	c.seen[k] = true
	return true, nil
}

// TestClaimAcrossInstances: the same .triggered delivered to two webhook
// executor instances (or to one before and after a restart) calls the
// webhooks once.
func TestClaimAcrossInstances(t *testing.T) {
	s := newServer(t)
	claims := &sharedClaims{seen: map[string]bool{}}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "my-secret"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "my-secret", "token"), []byte("s3cr3t-tok"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := &executor.MemResources{}
	res.Put("p", "dev", "svc", URI, config(hook("sh.keptn.event.webhook.triggered", "      sendFinished: true\n", s.URL+"/json")))
	e := newEvent(t, "sh.keptn.event.webhook.triggered", "")
	for i := range 2 {
		rec := &recorder{}
		x := New(Options{HTTP: safehttp.Options{AllowHosts: []string{"127.0.0.1"}}, Claims: claims}, res, secrets.Dir(dir), rec, nil)
		handle(t, x, e)
		if want := 1 - i; rec.count("finished") != want {
			t.Fatalf("instance %d sent %d .finished, want %d", i, rec.count("finished"), want)
		}
	}
	if n := len(s.got()); n != 1 {
		t.Fatalf("the webhook was called %d times, want 1", n)
	}
}
