package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

type apiClient struct {
	base, token string
	c           *http.Client
}

func (a *apiClient) post(path string, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, a.base+path, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("x-token", a.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := a.c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	// Read to the end either way: a body left unread closes the connection,
	// and the harness would dial (and pay for) one per trigger.
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return fmt.Errorf("POST %s: %d %s", path, res.StatusCode, b)
	}
	return nil
}

func (a *apiClient) setup(o options) error {
	var tasks []string
	for i := 1; i <= o.tasks; i++ {
		tasks = append(tasks, fmt.Sprintf("{name: lt%d}", i))
	}
	sy := fmt.Sprintf("apiVersion: spec.keptn.sh/0.2.3\nkind: Shipyard\nmetadata: {name: load}\nspec:\n  stages:\n"+
		"    - name: dev\n      sequences:\n        - name: load\n          tasks: [%s]\n", strings.Join(tasks, ", "))
	if err := a.post("/api/controlPlane/v1/project", map[string]any{"name": "load",
		"shipyard": base64.StdEncoding.EncodeToString([]byte(sy))}); err != nil {
		return err
	}
	for s := 0; s < o.services; s++ {
		if err := a.post("/api/controlPlane/v1/project/load/service", map[string]any{"serviceName": fmt.Sprintf("svc%d", s)}); err != nil {
			return err
		}
	}
	return nil
}

func (a *apiClient) trigger(kctx, service string) error {
	return a.post("/api/v1/event", map[string]any{"type": "sh.keptn.event.dev.load.triggered", "specversion": "1.0",
		"source": "load", "shkeptncontext": kctx,
		"data": map[string]any{"project": "load", "stage": "dev", "service": service}})
}
