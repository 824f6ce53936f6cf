// Package fstest runs tests against the Firestore emulator: a TestMain helper
// that finds or starts the emulator, and a client constructor that gives each
// test a clean Firestore project.
//
// Usage, in any package whose tests need Firestore:
//
//	func TestMain(m *testing.M) { os.Exit(fstest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		client := fstest.Client(t, "slipway-mypackage") // one project id per package
//		...
//	}
//
// The emulator keeps one dataset per project id and `go test ./...` runs
// packages in parallel, so every package must use its own project id;
// Client clears that project, not the others.
package fstest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
)

// EnvHost is the variable the Firestore client reads to dial the emulator.
const EnvHost = "FIRESTORE_EMULATOR_HOST"

// startTimeout bounds the emulator's cold start (~15 s on a developer machine).
const startTimeout = 90 * time.Second

// Main prepares the emulator and runs the tests; use it as
// `os.Exit(fstest.Main(m))` in TestMain.
//
//   - FIRESTORE_EMULATOR_HOST set: use that emulator (hack/test.sh and CI
//     start one with hack/emulator.sh).
//   - Otherwise, in CI (CI set): fail. Firestore tests never skip in CI.
//   - Otherwise: start an emulator with gcloud for this test binary and stop
//     it afterwards.
func Main(m *testing.M) int {
	if host := os.Getenv(EnvHost); host != "" {
		if err := ping(host); err != nil {
			fmt.Fprintf(os.Stderr, "fstest: %s=%s does not answer: %v\n", EnvHost, host, err)
			return 1
		}
		return m.Run()
	}
	if os.Getenv("CI") != "" {
		fmt.Fprintf(os.Stderr, "fstest: %s is not set; in CI the Firestore tests must run against an emulator "+
			"(eval \"$(hack/emulator.sh start)\")\n", EnvHost)
		return 1
	}
	emu, err := start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "fstest: %v\n", err)
		return 1
	}
	os.Setenv(EnvHost, emu.host)
	defer os.Unsetenv(EnvHost)
	code := m.Run()
	if err := emu.stop(); err != nil {
		fmt.Fprintf(os.Stderr, "fstest: stop emulator: %v\n", err)
	}
	return code
}

// Host returns the emulator's host:port, failing the test if there is none.
func Host(t testing.TB) string {
	t.Helper()
	host := os.Getenv(EnvHost)
	if host == "" {
		t.Fatalf("fstest: %s is not set; call fstest.Main from TestMain", EnvHost)
	}
	return host
}

// Client returns a client for projectID on the emulator after deleting every
// document of that project. The client is closed when the test ends.
func Client(t testing.TB, projectID string) *firestore.Client {
	t.Helper()
	host := Host(t)
	ctx := context.Background()
	if err := Clear(ctx, host, projectID); err != nil {
		t.Fatalf("fstest: %v", err)
	}
	client, err := firestore.NewClient(ctx, projectID)
	if err != nil {
		t.Fatalf("fstest: firestore client for %s: %v", projectID, err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// Clear deletes every document of projectID on the emulator at host (an
// emulator-only endpoint; other projects are untouched).
func Clear(ctx context.Context, host, projectID string) error {
	u := fmt.Sprintf("http://%s/emulator/v1/projects/%s/databases/(default)/documents", host, url.PathEscape(projectID))
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u, nil)
	if err != nil {
		return fmt.Errorf("clear project %s: %w", projectID, err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("clear project %s: %w", projectID, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<10))
		return fmt.Errorf("clear project %s: %s: %s", projectID, res.Status, body)
	}
	return nil
}

// IndexUsage returns the emulator's report (JSON) of the composite indexes the
// queries run so far against projectID would need in production. The emulator
// itself never enforces indexes, so this is how tests check
// firestore.indexes.json.
func IndexUsage(ctx context.Context, host, projectID string) ([]byte, error) {
	p := url.PathEscape(projectID)
	u := fmt.Sprintf("http://%s/emulator/v1/projects/%s:indexUsage?database=projects/%s/databases/(default)", host, p, p)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("index usage of %s: %w", projectID, err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("index usage of %s: %w", projectID, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("index usage of %s: %w", projectID, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("index usage of %s: %s: %s", projectID, res.Status, body)
	}
	return body, nil
}

// ping checks that the emulator at host serves requests (its root says "Ok").
func ping(host string) error {
	c := http.Client{Timeout: 2 * time.Second}
	res, err := c.Get("http://" + host + "/")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64))
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "Ok") {
		return fmt.Errorf("unexpected answer %s %q", res.Status, body)
	}
	return nil
}

type emulator struct {
	host string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{} // closed when the process has exited
}

// start launches `gcloud emulators firestore start` on a free loopback port
// and waits until it answers.
func start() (*emulator, error) {
	gcloud, err := exec.LookPath("gcloud")
	if err != nil {
		return nil, fmt.Errorf("%s is not set and gcloud is not installed: install the Cloud SDK "+
			"(with the cloud-firestore-emulator component) or start an emulator and set %s", EnvHost, EnvHost)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	log, err := os.CreateTemp("", "firestore-emulator-*.log")
	if err != nil {
		return nil, fmt.Errorf("emulator log: %w", err)
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(gcloud, "emulators", "firestore", "start", "--host-port="+host)
	cmd.Stdout, cmd.Stderr = log, log
	// gcloud starts a Java child; its own process group lets stop end both.
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	e := &emulator{host: host, cmd: cmd, log: log, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(e.done) }()
	fmt.Fprintf(os.Stderr, "fstest: starting Firestore emulator on %s (log %s)\n", host, log.Name())

	deadline := time.Now().Add(startTimeout)
	for ping(host) != nil {
		select {
		case <-e.done:
			return nil, fmt.Errorf("emulator exited before answering:\n%s", e.logTail())
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tail := e.logTail()
			_ = e.stop()
			return nil, fmt.Errorf("emulator did not answer within %s:\n%s", startTimeout, tail)
		}
	}
	return e, nil
}

func (e *emulator) logTail() string {
	b, _ := os.ReadFile(e.log.Name())
	if len(b) > 4<<10 {
		b = b[len(b)-4<<10:]
	}
	return string(b)
}

// stop asks the emulator to shut down, then ends its process group if it has
// not gone within a few seconds.
func (e *emulator) stop() error {
	defer os.Remove(e.log.Name())
	defer e.log.Close()
	c := http.Client{Timeout: 5 * time.Second}
	if res, err := c.Post("http://"+e.host+"/shutdown", "text/plain", nil); err == nil {
		res.Body.Close()
	}
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
	}
	killProcessGroup(e.cmd)
	select {
	case <-e.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("emulator (pid %d) did not exit", e.cmd.Process.Pid)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
