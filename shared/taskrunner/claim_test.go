package taskrunner

import (
	"context"
	"sync"
	"testing"

	"github.com/slipwayhq/slipway/shared/executor"
)

// claimStore stands for the claims the API keeps in the run, shared by
// every runner instance and kept across their restarts.
type claimStore struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (c *claimStore) Claim(_ context.Context, project, triggeredID, worker string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := project + "/" + triggeredID + "/" + worker
	if c.seen[k] {
		return false, nil
	}
	c.seen[k] = true
	return true, nil
}

var _ executor.Claimer = (*claimStore)(nil)

// TestClaimAcrossInstances: a .triggered redelivered to a second runner
// (another instance, or this one after a restart) does not run the task
// again.
func TestClaimAcrossInstances(t *testing.T) {
	claims := &claimStore{seen: map[string]bool{}}
	files := map[string]string{"//task-definitions/deploy.yaml": def("deploy", okPy)}
	withClaims := func(_ *Config, d *Deps) { d.Claims = claims }
	a := newHarness(t, files, withClaims)
	e := triggered(t, "deploy", nil)
	a.run(e) // .started and .finished
	b := newHarness(t, files, withClaims)
	if err := b.runner.Handle(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	b.runner.Wait()
	if n := len(b.sent.list()); n != 0 {
		t.Fatalf("the second instance sent %d events: it ran the claimed task again", n)
	}
}
