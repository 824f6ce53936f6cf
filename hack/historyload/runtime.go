package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// measureRuntime starts the local runtime (hack/local, built from the
// repository) on the data directory that holds the filled store, and
// measures what a person running it sees: the process's RSS with the whole
// history stored, a context's history read through the Keptn API, and the
// pages that derive from the history (a service's deployedImage and
// lastEventTypes, the Bridge's service view). The store measurements above
// are one process; this is the runtime with everything it serves.
func measureRuntime(ctx context.Context, dataDir string, contexts, projects, perContext, reads int) error {
	tmp, err := os.MkdirTemp("", "historyload-bin")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "slipway-local")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./hack/local")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build hack/local (run from the repository root): %w", err)
	}
	const token = "historyload-token-0123456789abcdef"
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "SLIPWAY_DATA_DIR="+dataDir, "SLIPWAY_API_ADDR=127.0.0.1:0",
		"SLIPWAY_API_TOKEN="+token, "SLIPWAY_LOG=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var logs bytes.Buffer
	cmd.Stderr = &logs
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	apiURL, err := readAPIURL(out)
	if err != nil {
		return fmt.Errorf("runtime did not start: %w\n%s", err, logs.String())
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	c := &apiClient{base: apiURL, token: token}
	fmt.Printf("runtime (hack/local) up on the filled data directory in %s\n", time.Since(start).Round(time.Millisecond))
	procReport("runtime after start", cmd.Process.Pid)

	var ds []time.Duration
	for i := range reads {
		ci := (i * 7919) % contexts
		kc := fmt.Sprintf("00000000-0000-4000-8000-%012d", ci)
		t := time.Now()
		var page struct {
			Events []json.RawMessage `json:"events"`
		}
		path := "/api/mongodb-datastore/event?project=p" + strconv.Itoa(ci%projects) + "&keptnContext=" + kc + "&pageSize=" + strconv.Itoa(perContext)
		if err := c.get(ctx, path, &page); err != nil {
			return err
		}
		ds = append(ds, time.Since(t))
		if len(page.Events) == 0 || len(page.Events) > perContext {
			return fmt.Errorf("context %s: %d events through the API", kc, len(page.Events))
		}
	}
	slices.Sort(ds)
	fmt.Printf("  a context's history through GET /api/mongodb-datastore/event (%d events): p50 %s, p99 %s, max %s over %d contexts\n",
		perContext, ds[len(ds)/2].Round(time.Microsecond), ds[len(ds)*99/100].Round(time.Microsecond), ds[len(ds)-1].Round(time.Microsecond), reads)
	procReport("runtime after the history reads", cmd.Process.Pid)

	// Project p0 holds a tenth of the history; registering it lets the
	// service view (which derives deployedImage and lastEventTypes from the
	// history) and the Bridge's service page run over that tenth.
	shipyard := "apiVersion: spec.keptn.sh/0.2.2\nkind: Shipyard\nmetadata:\n  name: p0\nspec:\n  stages:\n    - name: dev\n      sequences:\n        - name: delivery\n          tasks:\n            - name: deployment\n"
	if err := c.post(ctx, "/api/controlPlane/v1/project", map[string]string{"name": "p0", "shipyard": base64.StdEncoding.EncodeToString([]byte(shipyard))}); err != nil {
		return err
	}
	if err := c.post(ctx, "/api/controlPlane/v1/project/p0/service", map[string]string{"serviceName": "svc"}); err != nil {
		return err
	}
	for _, probe := range []struct{ what, path string }{
		{"service view GET /api/controlPlane/v1/project/p0/stage/dev/service/svc", "/api/controlPlane/v1/project/p0/stage/dev/service/svc"},
		{"Bridge service page /bridge/project/p0/service/svc", "/bridge/project/p0/service/svc"},
		{"Bridge environment page /bridge/project/p0", "/bridge/project/p0"},
	} {
		var ds []time.Duration
		for range 5 {
			t := time.Now()
			if err := c.get(ctx, probe.path, nil); err != nil {
				return err
			}
			ds = append(ds, time.Since(t))
		}
		slices.Sort(ds)
		fmt.Printf("  %s (%d history events in the project): median %s, max %s over %d\n", probe.what,
			(contexts+projects-1)/projects*perContext, ds[len(ds)/2].Round(time.Microsecond), ds[len(ds)-1].Round(time.Microsecond), len(ds))
	}
	procReport("runtime after the service views", cmd.Process.Pid)
	return nil
}

func readAPIURL(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "SLIPWAY_API_URL="); ok {
			return u, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errors.New("no SLIPWAY_API_URL line")
}

// procReport prints another process's resident memory now and at its peak.
func procReport(when string, pid int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		fmt.Printf("%s: %v\n", when, err)
		return
	}
	field := func(name string) int64 {
		for line := range strings.SplitSeq(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == name+":" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb >> 10
			}
		}
		return -1
	}
	fmt.Printf("%s: RSS %d MB (peak %d MB)\n", when, field("VmRSS"), field("VmHWM"))
}

type apiClient struct {
	base, token string
}

func (c *apiClient) do(ctx context.Context, method, path string, body, into any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("x-token", c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if into != nil {
		if err := json.Unmarshal(b, into); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

func (c *apiClient) get(ctx context.Context, path string, into any) error {
	return c.do(ctx, http.MethodGet, path, nil, into)
}

func (c *apiClient) post(ctx context.Context, path string, body any) error {
	return c.do(ctx, http.MethodPost, path, body, nil)
}
