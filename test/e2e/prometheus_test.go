package e2e

// A real Prometheus (Debian's package) scraping a tiny test exporter whose
// gauges the test sets: the quality gate's SLI source in the e2e tests.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testExporter serves, on 127.0.0.1, the gauges the sample sli.yaml
// queries, labelled by service and stage, in Prometheus's text format.
type testExporter struct {
	URL    string
	mu     sync.Mutex
	series map[[2]string]*exported // (service, stage)
}

type exported struct{ responseMS, errorPercent, requests float64 }

func startExporter(t *testing.T) *testExporter {
	t.Helper()
	x := &testExporter{series: map[[2]string]*exported{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x.mu.Lock()
		defer x.mu.Unlock()
		keys := make([][2]string, 0, len(x.series))
		for k := range x.series {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"/"+keys[i][1] < keys[j][0]+"/"+keys[j][1] })
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		var b strings.Builder
		for _, m := range []struct {
			name, typ string
			v         func(*exported) float64
		}{
			{"http_response_time_p95_ms", "gauge", func(e *exported) float64 { return e.responseMS }},
			{"http_error_rate_percent", "gauge", func(e *exported) float64 { return e.errorPercent }},
			{"http_requests_total", "counter", func(e *exported) float64 { return e.requests }},
		} {
			fmt.Fprintf(&b, "# TYPE %s %s\n", m.name, m.typ)
			for _, k := range keys {
				fmt.Fprintf(&b, "%s{service=%q,stage=%q} %s\n", m.name, k[0], k[1], strconv.FormatFloat(m.v(x.series[k]), 'g', -1, 64))
			}
		}
		_, _ = w.Write([]byte(b.String()))
	}))
	t.Cleanup(srv.Close)
	x.URL = srv.URL
	return x
}

// set sets a service's gauges in a stage (and counts 100 more requests).
func (x *testExporter) set(service, stage string, responseMS, errorPercent float64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	e := x.series[[2]string{service, stage}]
	if e == nil {
		e = &exported{}
		x.series[[2]string{service, stage}] = e
	}
	e.responseMS, e.errorPercent = responseMS, errorPercent
	e.requests += 100
}

// promServer is a running Prometheus.
type promServer struct {
	t   *testing.T
	URL string
}

// prometheusBinary finds Debian's prometheus: SLIPWAY_PROMETHEUS, then PATH.
// Missing, the test fails in CI and is skipped elsewhere.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SLIPWAY_PROMETHEUS"); p != "" {
		return p
	}
	p, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus not installed (hack/packages.sh installs it)")
		}
		t.Skip("prometheus not installed; run hack/packages.sh")
	}
	return p
}

// startPrometheus runs Prometheus on a loopback port scraping target
// (host:port) every second, and waits until it is ready.
func startPrometheus(t *testing.T, target string) *promServer {
	t.Helper()
	bin := prometheusBinary(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: test-exporter
    static_configs:
      - targets: [%q]
`, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := exFreePort(t)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Logf("prometheus log:\n%s", tail(string(b), 30))
		}
	})
	p := &promServer{t: t, URL: "http://" + addr}
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(p.URL + "/-/ready")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 60s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// value runs an instant query now; ok is false when it has no single value.
func (p *promServer) value(q string) (float64, bool) {
	res, err := http.Get(p.URL + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return 0, false
	}
	defer res.Body.Close()
	var out struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.NewDecoder(res.Body).Decode(&out) != nil || len(out.Data.Result) != 1 {
		return 0, false
	}
	s, _ := out.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// waitValue polls until Prometheus has scraped want for q.
func (p *promServer) waitValue(q string, want float64) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if v, ok := p.value(q); ok && v == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	v, ok := p.value(q)
	p.t.Fatalf("prometheus: %s = %v (%v), want %v", q, v, ok, want)
}

// setAndScrape sets the exporter's gauges and waits until Prometheus has
// them, so an evaluation started afterwards reads them.
func setAndScrape(x *testExporter, p *promServer, service, stage string, responseMS, errorPercent float64) {
	x.set(service, stage, responseMS, errorPercent)
	sel := fmt.Sprintf(`{service=%q,stage=%q}`, service, stage)
	p.waitValue("http_response_time_p95_ms"+sel, responseMS)
	p.waitValue("http_error_rate_percent"+sel, errorPercent)
}

func hostOf(u string) string { return strings.TrimPrefix(u, "http://") }

// waitAny polls until q has a single value (e.g. a rate needs two scrapes).
func (p *promServer) waitAny(q string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := p.value(q); ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("prometheus: no value for %s", q)
}
