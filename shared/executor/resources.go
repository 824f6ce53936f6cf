package executor

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
	"sync"
	"time"
)

// ErrNotFound is returned (wrapped) by Resources for a missing resource.
var ErrNotFound = errors.New("resource not found")

// Resources reads files of a project's configuration. stage and service
// select the level: both empty is the project level, service empty the
// stage level. gitCommitID pins the read ("" = latest).
type Resources interface {
	Get(ctx context.Context, project, stage, service, uri, gitCommitID string) ([]byte, error)
}

// Level is where in a project a resource was found.
type Level string

// Levels, most specific first.
const (
	LevelService Level = "service"
	LevelStage   Level = "stage"
	LevelProject Level = "project"
)

// Scope is what an event addresses.
type Scope struct {
	Project, Stage, Service string
	GitCommitID             string
}

// Levels returns the levels that apply to s, most specific first (a level
// is skipped when its stage or service is empty).
func (s Scope) Levels() []Level {
	var out []Level
	if s.Stage != "" && s.Service != "" {
		out = append(out, LevelService)
	}
	if s.Stage != "" {
		out = append(out, LevelStage)
	}
	return append(out, LevelProject)
}

// Get reads uri at level l. Stage- and service-level reads are pinned to
// s.GitCommitID; project-level files live on another branch and are read
// unpinned.
func (s Scope) Get(ctx context.Context, r Resources, l Level, uri string) ([]byte, error) {
	switch l {
	case LevelService:
		return r.Get(ctx, s.Project, s.Stage, s.Service, uri, s.GitCommitID)
	case LevelStage:
		return r.Get(ctx, s.Project, s.Stage, "", uri, s.GitCommitID)
	default:
		return r.Get(ctx, s.Project, "", "", uri, "")
	}
}

// Found is a resource found by Find.
type Found struct {
	URI     string
	Level   Level
	Content []byte
}

// Find returns the first of uris that exists, trying each uri at every
// level (service, stage, project) before the next uri. Empty content counts
// as missing. It returns ErrNotFound when none exists and stops at the
// first other error.
func Find(ctx context.Context, r Resources, s Scope, uris []string) (Found, error) {
	for _, u := range uris {
		for _, l := range s.Levels() {
			b, err := s.Get(ctx, r, l, u)
			if errors.Is(err, ErrNotFound) || (err == nil && len(b) == 0) {
				continue
			}
			if err != nil {
				return Found{}, fmt.Errorf("read %s at %s level: %w", u, l, err)
			}
			return Found{URI: u, Level: l, Content: b}, nil
		}
	}
	return Found{}, ErrNotFound
}

// ResourceClient reads resources from Keptn's resource-service API:
// GET {BaseURL}/api/resource-service/v1/project/{p}[/stage/{s}[/service/{svc}]]/resource/{uri}?gitCommitID=
// answered by {"resourceURI", "resourceContent" (base64)}; 404 is ErrNotFound.
type ResourceClient struct {
	BaseURL string       // e.g. http://resource-service:8080 or the API gateway
	Token   string       // sent as x-token when set
	HTTP    *http.Client // nil: 15 s timeout
	// PathPrefix replaces "/api/resource-service" (e.g. "" when BaseURL
	// points at the resource service itself).
	PathPrefix *string
}

// MaxResourceSize bounds a resource read.
const MaxResourceSize = 8 << 20

// Get implements Resources.
func (c *ResourceClient) Get(ctx context.Context, project, stage, service, uri, gitCommitID string) ([]byte, error) {
	if project == "" || uri == "" || (service != "" && stage == "") {
		return nil, fmt.Errorf("resource %q: project, stage, service %q/%q/%q: %w", uri, project, stage, service, errors.New("invalid scope"))
	}
	prefix := "/api/resource-service"
	if c.PathPrefix != nil {
		prefix = *c.PathPrefix
	}
	p := strings.TrimRight(c.BaseURL, "/") + prefix + "/v1/project/" + url.PathEscape(project)
	if stage != "" {
		p += "/stage/" + url.PathEscape(stage)
	}
	if service != "" {
		p += "/service/" + url.PathEscape(service)
	}
	p += "/resource/" + url.PathEscape(uri)
	if gitCommitID != "" {
		p += "?gitCommitID=" + url.QueryEscape(gitCommitID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p, nil)
	if err != nil {
		return nil, fmt.Errorf("resource %s: %w", uri, err)
	}
	if c.Token != "" {
		req.Header.Set("x-token", c.Token)
	}
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("resource %s: %w", uri, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResourceSize*2))
	if err != nil {
		return nil, fmt.Errorf("resource %s: %w", uri, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("resource %s: %w", uri, ErrNotFound)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("resource %s: resource service answered %d: %.200s", uri, resp.StatusCode, body)
	}
	var r struct {
		ResourceURI     string `json:"resourceURI"`
		ResourceContent string `json:"resourceContent"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("resource %s: %w", uri, err)
	}
	b, err := base64.StdEncoding.DecodeString(r.ResourceContent)
	if err != nil {
		return nil, fmt.Errorf("resource %s: content is not base64: %w", uri, err)
	}
	if len(b) > MaxResourceSize {
		return nil, fmt.Errorf("resource %s: larger than %d bytes", uri, MaxResourceSize)
	}
	return b, nil
}

// MemResources is an in-memory Resources for tests and local runs, keyed
// by MemKey. It records the reads it served.
type MemResources struct {
	mu    sync.Mutex
	files map[string][]byte
	reads []string
}

// MemKey is the key of a file: "project/stage/service/uri" with empty
// parts for the coarser levels (gitCommitID is ignored).
func MemKey(project, stage, service, uri string) string {
	return project + "/" + stage + "/" + service + "/" + uri
}

// Put stores a file.
func (m *MemResources) Put(project, stage, service, uri string, content []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.files == nil {
		m.files = map[string][]byte{}
	}
	m.files[MemKey(project, stage, service, uri)] = content
}

// Get implements Resources.
func (m *MemResources) Get(_ context.Context, project, stage, service, uri, gitCommitID string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := MemKey(project, stage, service, uri)
	m.reads = append(m.reads, k+"@"+gitCommitID)
	b, ok := m.files[k]
	if !ok {
		return nil, fmt.Errorf("resource %s: %w", k, ErrNotFound)
	}
	return b, nil
}

// Reads returns the keys read so far ("key@gitCommitID").
func (m *MemResources) Reads() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.reads...)
}
