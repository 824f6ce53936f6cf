package taskrunner

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrNotFound is returned (wrapped) by Resources.Get for a missing resource.
var ErrNotFound = errors.New("resource not found")

// Resources reads files of a project's configuration repository. An empty
// stage reads the project level, an empty service the stage level.
// gitCommitID ("" for latest) pins the read to a commit.
type Resources interface {
	Get(ctx context.Context, project, stage, service, uri, gitCommitID string) ([]byte, error)
}

// ResourceService reads resources from Keptn's resource-service API:
// GET {BaseURL}/api/resource-service/v1/project/{p}[/stage/{s}[/service/{svc}]]/resource/{uri}
// with an optional ?gitCommitID= and the x-token header.
type ResourceService struct {
	BaseURL string       // e.g. http://api-gateway-nginx.keptn:80
	Token   string       // sent as x-token when set
	Client  *http.Client // nil: a client with a 30 s timeout
	// MaxSize caps a resource's JSON response (0: 4 MiB).
	MaxSize int64
}

var defaultResourceClient = &http.Client{Timeout: 30 * time.Second}

// Get implements Resources.
func (rs *ResourceService) Get(ctx context.Context, project, stage, service, uri, gitCommitID string) ([]byte, error) {
	if project == "" || (service != "" && stage == "") {
		return nil, fmt.Errorf("get resource %s: need a project, and a stage for a service", uri)
	}
	p := "/api/resource-service/v1/project/" + url.PathEscape(project)
	if stage != "" {
		p += "/stage/" + url.PathEscape(stage)
	}
	if service != "" {
		p += "/service/" + url.PathEscape(service)
	}
	p += "/resource/" + url.PathEscape(strings.TrimPrefix(uri, "/"))
	u := strings.TrimSuffix(rs.BaseURL, "/") + p
	if gitCommitID != "" {
		u += "?gitCommitID=" + url.QueryEscape(gitCommitID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("get resource %s: %w", uri, err)
	}
	req.Header.Set("Accept", "application/json")
	if rs.Token != "" {
		req.Header.Set("x-token", rs.Token)
	}
	c := rs.Client
	if c == nil {
		c = defaultResourceClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get resource %s: %w", uri, err)
	}
	defer resp.Body.Close()
	max := rs.MaxSize
	if max == 0 {
		max = 4 << 20
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("get resource %s: %w", uri, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("get resource %s (project %q stage %q service %q): %w", uri, project, stage, service, ErrNotFound)
	case resp.StatusCode/100 != 2:
		return nil, fmt.Errorf("get resource %s: resource-service answered HTTP %d", uri, resp.StatusCode)
	case int64(len(body)) > max:
		return nil, fmt.Errorf("get resource %s: response larger than %d bytes", uri, max)
	}
	var r struct {
		ResourceURI     string `json:"resourceURI"`
		ResourceContent string `json:"resourceContent"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("get resource %s: decode response: %w", uri, err)
	}
	content, err := base64.StdEncoding.DecodeString(r.ResourceContent)
	if err != nil {
		return nil, fmt.Errorf("get resource %s: resourceContent is not base64: %w", uri, err)
	}
	return content, nil
}

// Scope is where a task's resources are looked up.
type Scope struct {
	Project, Stage, Service, GitCommitID string
}

// lookup reads uri at the service, then the stage, then the project level,
// returning the first found. The stage and service reads are pinned to the
// commit; the project level lives on another branch, so it is read at the
// latest version (like the job-executor-service).
func lookup(ctx context.Context, res Resources, sc Scope, uri string) ([]byte, error) {
	type level struct{ stage, service, commit string }
	var levels []level
	if sc.Stage != "" && sc.Service != "" {
		levels = append(levels, level{sc.Stage, sc.Service, sc.GitCommitID})
	}
	if sc.Stage != "" {
		levels = append(levels, level{sc.Stage, "", sc.GitCommitID})
	}
	levels = append(levels, level{"", "", ""})
	for _, l := range levels {
		b, err := res.Get(ctx, sc.Project, l.stage, l.service, uri, l.commit)
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%s in project %q (service %q, stage %q, project): %w", uri, sc.Project, sc.Service, sc.Stage, ErrNotFound)
}
