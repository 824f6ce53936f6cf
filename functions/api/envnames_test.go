package function

import (
	"testing"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// The documented variable names reach the nested store and engine settings
// without a prefix (they must match the control-plane function's).
func TestEnvNames(t *testing.T) {
	t.Setenv("K_SINK", "http://broker")
	t.Setenv("FIRESTORE_PROJECT", "p1")
	t.Setenv("TASK_STARTED_WAIT_DURATION", "3s")
	var e Env
	if err := envconfig.Process("", &e); err != nil {
		t.Fatal(err)
	}
	if e.Store.FirestoreProject != "p1" || e.Engine.StartedTimeout != 3*time.Second || e.Engine.OutboxRetry != 30*time.Second {
		t.Fatalf("env = %+v", e)
	}
}
