package generic

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// memClaims is the claim store the API keeps in the run: shared by every
// executor instance (and surviving their restarts).
type memClaims struct {
	mu   sync.Mutex
	seen map[string]bool
	down bool
}

func (m *memClaims) Claim(_ context.Context, project, triggeredID, worker string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return false, errors.New("API unavailable")
	}
	k := project + "/" + triggeredID + "/" + worker
	if m.seen[k] {
		return false, nil
	}
	m.seen[k] = true
	return true, nil
}

// TestClaimAcrossInstances: a .triggered redelivered to another executor
// instance (or to this one after a restart: a fresh in-memory registry)
// does not run its script again; a failed claim is retried by redelivery.
func TestClaimAcrossInstances(t *testing.T) {
	claims := &memClaims{seen: map[string]bool{}}
	a, resA, recA := setup(t, Config{Claims: claims})
	b, resB, recB := setup(t, Config{Claims: claims})
	for _, res := range []interface {
		Put(p, s, svc, uri string, b []byte)
	}{resA, resB} {
		res.Put("p", "dev", "svc", Dir+"deployment.triggered.sh", []byte("echo hi"))
	}
	e := newEvent(t, "sh.keptn.event.deployment.triggered", baseData(), nil)
	if got := run(t, a, recA, e); len(got) != 2 {
		t.Fatalf("first delivery: %d events, want .started and .finished", len(got))
	}
	if got := run(t, b, recB, e); len(got) != 0 {
		t.Fatalf("the other instance ran the claimed task again: %d events", len(got))
	}

	// The API is down: the delivery fails (redelivered), nothing runs;
	// once it is back the redelivery runs the task once.
	e2 := newEvent(t, "sh.keptn.event.deployment.triggered", baseData(), nil)
	claims.mu.Lock()
	claims.down = true
	claims.mu.Unlock()
	if err := b.Handle(context.Background(), e2); err == nil {
		t.Fatal("a failed claim must answer an error so the broker redelivers")
	}
	claims.mu.Lock()
	claims.down = false
	claims.mu.Unlock()
	if got := run(t, b, recB, e2); len(got) != 2 {
		t.Fatalf("redelivery after the API came back: %d events, want 2", len(got))
	}
}
